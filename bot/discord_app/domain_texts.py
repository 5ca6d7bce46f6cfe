"""Marks for translation the member-visible texts the domain packages write (they can't import
`bot.discord_app.i18n`). Each is an English sentence with `{fields}`; a refusal raised with one carries
it as its message id and the error handler translates it. The catalog tool imports every module, so
the marks below reach the catalogs."""

from __future__ import annotations

from bot.discord_app.i18n import N_
from bot.jobs import inline_flags

for _text in inline_flags.MEMBER_TEXTS:
    N_(_text)
