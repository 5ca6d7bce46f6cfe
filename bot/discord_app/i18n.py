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
from babel.lists import format_list
from babel.messages.pofile import read_po
from discord import app_commands

from bot.refusals import ENGLISH, N_, Language, fill, marked_messages

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
#: Discord's locale code -> the catalog folder. Adding a language: a folder here and a line below.
SHIPPED_LOCALES: dict[str, str] = {"zh-CN": "zh_CN", "ja": "ja"}

# `N_` lives beside the refusals so the domain packages (which can't import this module) mark their
# texts into the same registry.
__all__ = ["N_", "marked_messages"]


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


@dataclass(frozen=True, slots=True)
class CatalogLanguage:
    """A shipped language: its catalog's templates, and lists in its own words (Babel's CLDR data)."""

    locale: str

    def template(self, msgid: str) -> str:
        return catalogs().lookup(self.locale, msgid) or msgid

    def any_of(self, items: list[str], *, compound: bool = False) -> str:
        if len(items) <= 1:
            return "".join(items)
        return format_list(items, style="or", locale=SHIPPED_LOCALES[self.locale])

    def unit_locale(self) -> str:
        return SHIPPED_LOCALES[self.locale]


def language(locale: discord.Locale | str | None) -> Language:
    """The language a reader with this Discord locale gets: a shipped one, else English."""
    code = str(locale) if locale is not None else ""
    return CatalogLanguage(code) if code in SHIPPED_LOCALES else ENGLISH


def babel_locale(locale: discord.Locale | str | None) -> str:
    """The Babel locale for dates and numbers: a shipped language's, else English."""
    code = str(locale) if locale is not None else ""
    return SHIPPED_LOCALES.get(code, "en")


def join_parts(locale: discord.Locale | str | None, parts: list[str]) -> str:
    """Parts of one description ("model X, mode pro, 10 s") joined as the reader's language lists
    them: English keeps its plain commas; Japanese and Chinese use their own list (Babel's CLDR
    data: "、" and their "and")."""
    code = str(locale) if locale is not None else ""
    if code not in SHIPPED_LOCALES or len(parts) <= 1:
        return ", ".join(parts)
    return format_list(parts, style="standard", locale=SHIPPED_LOCALES[code])


def t(locale: discord.Locale | str | None, msgid: str, **values: Any) -> str:
    """`msgid` in `locale` (English when there is no translation), with `{name}` fields filled in.
    A value may be a `bot.refusals.Text`, `AnyOf`, `Term` or `Lines`, shown in the same language."""
    return fill(language(locale), msgid, values)


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
