"""Buttons on job messages. Their custom ids carry the job id, so a click still works after a restart:
`cogs/buttons.py` registers dynamic items that match `CUSTOM_ID_PATTERN`. Labels are `BUTTON_LABELS`
(one place, so they can be translated; `Next shot` is a contract name), shown in the job's language
(`locale`, see `bot.discord_app.job_embeds`); custom ids never change with the language.
"""

from __future__ import annotations

from enum import StrEnum

import discord

from bot.discord_app.i18n import N_, t

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
    "open": N_("Open video"),
    "rerun": N_("Rerun"),
    "try_again": N_("Try again"),
    "remix": N_("Remix"),
    "next": N_("Next shot"),
    "stitch": N_("Stitch"),
    "extend": N_("Extend"),
    "delete": N_("Delete"),
    "cancel": N_("Cancel"),
}


def button_label(key: str, locale: str | None = None) -> str:
    """The label of button `key` in `locale` (English, exactly `BUTTON_LABELS[key]`, without one)."""
    return t(locale, BUTTON_LABELS[key])


def custom_id(action: JobAction, job_id: str) -> str:
    return f"kling:{action.value}:{job_id}"


def _sent_only(view: discord.ui.View) -> discord.ui.View:
    """The view, stopped: it is only sent, never kept. Its clicks are answered by the dynamic items
    of `cogs/buttons.py`; a view still listening would be kept by discord.py's view store for every
    message it was sent on, for the life of the process (1,000 results held 1,000 views)."""
    view.stop()
    return view


def _button(
    key: str,
    action: JobAction,
    job_id: str,
    *,
    emoji: str | None = None,
    style: discord.ButtonStyle | None = None,
    locale: str | None = None,
) -> discord.ui.Button[discord.ui.View]:
    return discord.ui.Button(
        label=button_label(key, locale),
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
    locale: str | None = None,
) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if link:
        view.add_item(
            discord.ui.Button(label=button_label("open", locale), style=discord.ButtonStyle.link, url=link)
        )
    view.add_item(_button("rerun", JobAction.RERUN, job_id, emoji="🔁", locale=locale))
    view.add_item(_button("remix", JobAction.REMIX, job_id, emoji="✏️", locale=locale))
    if can_next_shot:
        view.add_item(
            _button(
                "next",
                JobAction.NEXT_SHOT,
                job_id,
                emoji="🎬",
                style=discord.ButtonStyle.primary,
                locale=locale,
            )
        )
    if can_stitch:
        view.add_item(_button("stitch", JobAction.STITCH, job_id, emoji="🧵", locale=locale))
    if can_extend:
        view.add_item(_button("extend", JobAction.EXTEND, job_id, emoji="⏩", locale=locale))
    view.add_item(_delete_button(job_id, locale))
    return _sent_only(view)


def _delete_button(job_id: str, locale: str | None) -> discord.ui.Button[discord.ui.View]:
    return _button(
        "delete", JobAction.DELETE, job_id, emoji="🗑️", style=discord.ButtonStyle.danger, locale=locale
    )


def failure_view(job_id: str, locale: str | None = None) -> discord.ui.View:
    """Try again as it was, Remix (change it first) or Delete the failure message."""
    view = discord.ui.View(timeout=None)
    view.add_item(_button("try_again", JobAction.RERUN, job_id, emoji="🔁", locale=locale))
    view.add_item(_button("remix", JobAction.REMIX, job_id, emoji="✏️", locale=locale))
    view.add_item(_delete_button(job_id, locale))
    return _sent_only(view)


def queued_view(job_id: str, locale: str | None = None) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(_button("cancel", JobAction.CANCEL, job_id, locale=locale))
    return _sent_only(view)
