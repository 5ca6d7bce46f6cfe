"""Translations: command names, descriptions and choices (through discord.py's `Translator`) and the
replies the bot sends, in each member's Discord language (`interaction.locale`), falling back to
English.

The English text is the message id. Catalogs are gettext `.po` files read with Babel from
`bot/discord_app/locales/<locale>/LC_MESSAGES/messages.po`. A reply is translatable when its English
text is marked with `N_()` where it is defined and shown through `t()`; every command string is
translatable automatically. `python -m bot.discord_app.catalogs update` collects every message id (the
command tree and the `N_()` marks) into `messages.pot` and merges it into each catalog, and a test
fails while a shipped catalog misses a message or breaks Discord's limits. See docs/translations.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import discord
from babel.messages.pofile import read_po
from discord import app_commands

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
#: Discord's locale code -> the catalog folder. Adding a language: a folder here and a line below.
SHIPPED_LOCALES: dict[str, str] = {"zh-CN": "zh_CN", "ja": "ja"}

_MARKED: dict[str, None] = {}


def N_(msgid: str) -> str:
    """Mark an English reply for translation where it is defined; `t()` translates it when shown."""
    _MARKED.setdefault(msgid, None)
    return msgid


def marked_messages() -> list[str]:
    return list(_MARKED)


@dataclass(frozen=True, slots=True)
class Catalogs:
    by_locale: dict[str, dict[str, str]]

    @classmethod
    def load(cls, folder: Path = LOCALES_DIR) -> Catalogs:
        found: dict[str, dict[str, str]] = {}
        for locale, directory in SHIPPED_LOCALES.items():
            path = folder / directory / "LC_MESSAGES" / f"{DOMAIN}.po"
            if not path.exists():
                continue
            with path.open("rb") as handle:
                catalog = read_po(handle)
            found[locale] = {
                str(message.id): str(message.string)
                for message in catalog
                if message.id and isinstance(message.string, str) and message.string and not message.fuzzy
            }
        return cls(found)

    def lookup(self, locale: str, msgid: str) -> str | None:
        return self.by_locale.get(locale, {}).get(msgid)


@cache
def catalogs() -> Catalogs:
    return Catalogs.load()


def t(locale: discord.Locale | str | None, msgid: str, **values: Any) -> str:
    """`msgid` in `locale` (English when there is no translation), with `{name}` fields filled in."""
    text = (catalogs().lookup(str(locale), msgid) if locale is not None else None) or msgid
    return text.format(**values) if values else text


class CatalogTranslator(app_commands.Translator):
    """Gives Discord every command string in each shipped language when the commands are synced."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        return catalogs().lookup(locale.value, string.message)


# --- collecting the message ids --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandString:
    """One string of the command tree, with what Discord allows for its translation."""

    text: str
    kind: str  # "name", "description" or "choice"

    @property
    def limit(self) -> int:
        return 32 if self.kind == "name" else 100


AnyCommand = app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu


def command_strings(commands: Iterable[AnyCommand]) -> Iterator[CommandString]:
    for command in commands:
        yield CommandString(command.name, "name")
        if isinstance(command, app_commands.ContextMenu):
            continue
        yield CommandString(command.description, "description")
        if isinstance(command, app_commands.Group):
            yield from command_strings(command.commands)
            continue
        for parameter in command.parameters:
            yield CommandString(parameter.name, "name")
            yield CommandString(parameter.description, "description")
            for choice in parameter.choices:
                yield CommandString(choice.name, "choice")
