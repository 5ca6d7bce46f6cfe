"""Buttons on job messages. Their custom ids carry the job id, so a click still works after a restart:
`cogs/buttons.py` registers dynamic items that match `CUSTOM_ID_PATTERN`. Labels are `BUTTON_LABELS`
(one place, so they can be translated; `Next shot` is a contract name).
"""

from __future__ import annotations

from enum import StrEnum

import discord

CUSTOM_ID_PATTERN = r"kling:(?P<action>rerun|remix|extend|delete|cancel|next|stitch):(?P<job_id>[0-9a-f]{32})"


class JobAction(StrEnum):
    RERUN = "rerun"
    REMIX = "remix"
    EXTEND = "extend"
    DELETE = "delete"
    CANCEL = "cancel"
    NEXT_SHOT = "next"
    STITCH = "stitch"


BUTTON_LABELS: dict[str, str] = {
    "open": "Open video",
    "rerun": "Rerun",
    "try_again": "Try again",
    "remix": "Remix",
    "next": "Next shot",
    "stitch": "Stitch",
    "extend": "Extend",
    "delete": "Delete",
    "cancel": "Cancel",
}


def custom_id(action: JobAction, job_id: str) -> str:
    return f"kling:{action.value}:{job_id}"


def _button(
    key: str,
    action: JobAction,
    job_id: str,
    *,
    emoji: str | None = None,
    style: discord.ButtonStyle | None = None,
) -> discord.ui.Button[discord.ui.View]:
    return discord.ui.Button(
        label=BUTTON_LABELS[key],
        emoji=emoji,
        style=style or discord.ButtonStyle.secondary,
        custom_id=custom_id(action, job_id),
    )


def result_view(
    job_id: str,
    *,
    link: str | None,
    can_extend: bool,
    can_next_shot: bool = False,
    can_stitch: bool = False,
) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if link:
        view.add_item(
            discord.ui.Button(label=BUTTON_LABELS["open"], style=discord.ButtonStyle.link, url=link)
        )
    view.add_item(_button("rerun", JobAction.RERUN, job_id, emoji="🔁"))
    view.add_item(_button("remix", JobAction.REMIX, job_id, emoji="✏️"))
    if can_next_shot:
        view.add_item(
            _button("next", JobAction.NEXT_SHOT, job_id, emoji="🎬", style=discord.ButtonStyle.primary)
        )
    if can_stitch:
        view.add_item(_button("stitch", JobAction.STITCH, job_id, emoji="🧵"))
    if can_extend:
        view.add_item(_button("extend", JobAction.EXTEND, job_id, emoji="⏩"))
    view.add_item(_button("delete", JobAction.DELETE, job_id, emoji="🗑️", style=discord.ButtonStyle.danger))
    return view


def failure_view(job_id: str) -> discord.ui.View:
    """Try again as it was, Remix (change it first) or Delete the failure message."""
    view = discord.ui.View(timeout=None)
    view.add_item(_button("try_again", JobAction.RERUN, job_id, emoji="🔁"))
    view.add_item(_button("remix", JobAction.REMIX, job_id, emoji="✏️"))
    view.add_item(_button("delete", JobAction.DELETE, job_id, emoji="🗑️", style=discord.ButtonStyle.danger))
    return view


def queued_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(_button("cancel", JobAction.CANCEL, job_id))
    return view
