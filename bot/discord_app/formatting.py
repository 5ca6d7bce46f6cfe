"""Amounts, numbers and dates in a reader's language (Babel's CLDR data), for the texts of `/quota`,
`/history` and `/usage`. English output is the bot's historical wording, unchanged."""

from __future__ import annotations

import math
from datetime import date

import discord
from babel.dates import format_date

from bot.discord_app.i18n import babel_locale, t
from bot.quota.amounts import amount
from bot.quota.models import LimitUnit

Locale = discord.Locale | str | None


def amount_text(locale: Locale, value: float, unit: LimitUnit) -> str:
    """ "3 videos", "12.5 credits" in the reader's language."""
    return t(locale, "{amount}", amount=amount(value, unit))


def relative_time(epoch: float) -> str:
    """A Discord timestamp each reader sees as "in 3 hours" in their own language and zone."""
    return f"<t:{math.ceil(epoch)}:R>"


def day_text(locale: Locale, day: date) -> str:
    """A day as the reader's language writes it: "25 Nov 2026", "2026/11/25", "2026年11月25日"."""
    if babel_locale(locale) == "en":
        return f"{day:%d %b %Y}"
    return format_date(day, format="medium", locale=babel_locale(locale))
