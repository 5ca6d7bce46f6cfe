"""Buttons on job messages. Their custom ids carry the job id, so a click still works after a restart:
`cogs/buttons.py` registers dynamic items that match `CUSTOM_ID_PATTERN`.
"""

from __future__ import annotations

from enum import StrEnum

import discord

CUSTOM_ID_PATTERN = r"kling:(?P<action>rerun|remix|extend|delete|cancel):(?P<job_id>[0-9a-f]{32})"


class JobAction(StrEnum):
    RERUN = "rerun"
    REMIX = "remix"
    EXTEND = "extend"
    DELETE = "delete"
    CANCEL = "cancel"


def custom_id(action: JobAction, job_id: str) -> str:
    return f"kling:{action.value}:{job_id}"


def result_view(job_id: str, *, link: str | None, can_extend: bool) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if link:
        view.add_item(discord.ui.Button(label="Open video", style=discord.ButtonStyle.link, url=link))
    view.add_item(discord.ui.Button(label="Rerun", emoji="🔁", custom_id=custom_id(JobAction.RERUN, job_id)))
    view.add_item(discord.ui.Button(label="Remix", emoji="✏️", custom_id=custom_id(JobAction.REMIX, job_id)))
    if can_extend:
        view.add_item(
            discord.ui.Button(label="Extend", emoji="⏩", custom_id=custom_id(JobAction.EXTEND, job_id))
        )
    view.add_item(
        discord.ui.Button(
            label="Delete",
            emoji="🗑️",
            style=discord.ButtonStyle.danger,
            custom_id=custom_id(JobAction.DELETE, job_id),
        )
    )
    return view


def failure_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(label="Try again", emoji="🔁", custom_id=custom_id(JobAction.RERUN, job_id))
    )
    return view


def queued_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label="Cancel",
            style=discord.ButtonStyle.secondary,
            custom_id=custom_id(JobAction.CANCEL, job_id),
        )
    )
    return view
