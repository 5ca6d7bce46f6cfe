"""What a video costs, in the member's language: the private note after admission
(`launch.cost_notes`) and the question before paying (`confirmation.prompt_text`).

English is the bot's historical wording, byte for byte. The allowance names come from the quota
policy in English (`Allowance.label`); that English name is the message id, so each one the policy
can produce is marked here.
"""

from __future__ import annotations

import discord

from bot.discord_app.i18n import N_, t
from bot.quota.models import Allowance, Decision, LimitUnit

Locale = discord.Locale | str | None

#: Every `Allowance.label` the quota policy writes (whose, unit, period); a test keeps this complete.
ALLOWANCE_LABELS = (
    N_("Your videos today"),
    N_("Your videos this month"),
    N_("Your credits today"),
    N_("Your credits this month"),
    N_("Server videos today"),
    N_("Server videos this month"),
    N_("Server credits today"),
    N_("Server credits this month"),
    N_("All servers' credits today"),
    N_("All servers' credits this month"),
    N_("Server credits today (operator's ceiling)"),
    N_("Server credits this month (operator's ceiling)"),
)

#: (one, several) per unit; Chinese and Japanese need no plural, English does.
_AMOUNTS = {
    LimitUnit.VIDEOS: (N_("{count} video"), N_("{count} videos")),
    LimitUnit.CREDITS: (N_("{count} credit"), N_("{count} credits")),
}

COST_NOTE = N_("This video costs about **{cost} credits** (an estimate; AceData bills the actual price).")
LEFT_NOTE = N_("{label}: {remaining} left")

PROMPT_COST = N_("This video will cost about **{amount}** (an estimate: AceData bills the actual price).")
PROMPT_LEFT = N_("• {label}: {amount} left after this video")
PROMPT_WITHIN_MINUTES = N_(
    "Nothing is reserved or sent until you press **Confirm** (within {minutes} minutes)."
)
PROMPT_WITHIN_SECONDS = N_(
    "Nothing is reserved or sent until you press **Confirm** (within {seconds} seconds)."
)


def amount_text(locale: Locale, value: float, unit: LimitUnit) -> str:
    """ "1 credit", "12.5 credits", "3 videos" in the reader's language (at most two decimals)."""
    number = f"{value:.2f}".rstrip("0").rstrip(".")
    one, several = _AMOUNTS[unit]
    return t(locale, one if number == "1" else several, count=number)


def allowance_name(locale: Locale, allowance: Allowance) -> str:
    """The allowance's name in the reader's language (the policy's English one when unknown)."""
    return t(locale, allowance.label)


def cost_notes(decision: Decision, locale: Locale = None) -> list[str]:
    """The estimated cost and what is left, for the member's private note after admission."""
    notes = []
    if decision.cost:
        notes.append(t(locale, COST_NOTE, cost=f"{decision.cost:g}"))
    notes.extend(
        t(locale, LEFT_NOTE, label=allowance_name(locale, allowance), remaining=f"{allowance.remaining:g}")
        for allowance in decision.allowances
        if allowance.remaining is not None
    )
    return notes


def _left_text(allowance: Allowance, locale: Locale) -> str | None:
    remaining = allowance.remaining
    if remaining is None:
        return None
    unit = allowance.unit or LimitUnit.CREDITS
    amount = amount_text(locale, remaining, unit)
    return t(locale, PROMPT_LEFT, label=allowance_name(locale, allowance), amount=amount)


def prompt_text(decision: Decision, *, timeout: float, locale: Locale = None) -> str:
    """The question: the estimated cost, then what each capped allowance would have left."""
    lines = [t(locale, PROMPT_COST, amount=amount_text(locale, decision.cost, LimitUnit.CREDITS))]
    lines += [text for allowance in decision.allowances if (text := _left_text(allowance, locale))]
    if timeout >= 120:
        lines.append(t(locale, PROMPT_WITHIN_MINUTES, minutes=int(timeout // 60)))
    else:
        lines.append(t(locale, PROMPT_WITHIN_SECONDS, seconds=int(timeout)))
    return "\n".join(lines)
