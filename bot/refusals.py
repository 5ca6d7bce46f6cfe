"""The one base class for every "no" a member or moderator can get, and the translatable text it
carries.

A refusal is raised wherever the rule lives (the capability table, the attachment checks, the quota
policy, a moderator's input) and answered in one place: `bot.discord_app.error_handler.reply_to_error`,
which renders it in the member's language and sends it privately. Raising one means nothing was sent
to AceData, nothing was charged and nothing stored was changed.

The domain packages can't import Discord or `bot.discord_app`, so the translation marks live here:
`N_()` registers an English sentence (the message id) for the catalogs, `Text` is such a sentence with
the values of its `{fields}`, and a `Language` renders it (English here; the catalogs' languages in
`bot.discord_app.i18n`). A value may itself be a `Text` (a translated phrase), an `AnyOf` (a list read
"a, b or c" in the reader's language), a `Term` (a command or option name, shown as Discord shows it
to the reader) or a `Wait` (a length of time, in the reader's units: "1 h 30 min", "1 時間 30 分").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, Self

from bot.wording import ENGLISH_UNITS, format_wait, join_or

_MARKED: dict[str, None] = {}
_FIELD = re.compile(r"\{[a-z_]*\}")


def N_(msgid: str) -> str:
    """Mark an English sentence for translation where it is defined; it is translated when shown."""
    _MARKED.setdefault(msgid, None)
    return msgid


def marked_messages() -> list[str]:
    """Every message id marked so far (modules register their marks when imported)."""
    return list(_MARKED)


class Language(Protocol):
    """How one language shows a message: its template for a message id, and an "or" list."""

    def template(self, msgid: str) -> str: ...

    def any_of(self, items: list[str], *, compound: bool = False) -> str: ...

    def unit_locale(self) -> str:
        """The Babel locale whose unit names this language reads lengths of time in."""
        ...


class _English:
    def template(self, msgid: str) -> str:
        return msgid

    def any_of(self, items: list[str], *, compound: bool = False) -> str:
        listed = join_or(items)
        # "5- or 10-second videos": the first of a compound pair keeps its hyphen.
        return listed.replace(" or ", "- or ") if compound else listed

    def unit_locale(self) -> str:
        return ENGLISH_UNITS


ENGLISH: Language = _English()


@dataclass(frozen=True, slots=True)
class Text:
    """An English sentence (the message id) with the values of its `{fields}`."""

    msgid: str
    values: Mapping[str, object] = field(default_factory=dict)

    def render(self, language: Language = ENGLISH) -> str:
        return fill(language, self.msgid, self.values)

    def message_ids(self) -> Iterable[str]:
        """This message id and those of every translated value inside it (for completeness tests)."""
        if _FIELD.sub("", self.msgid).strip():  # "{rules}" alone has no words to translate
            yield self.msgid
        for value in self.values.values():
            yield from message_ids_of(value)

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Alternatives read as one list: "a, b or c" in English. `compound`: the list modifies a noun
    that follows it ("5- or 10-second"), which only English marks."""

    items: tuple[object, ...]
    compound: bool = False

    def __init__(self, items: Iterable[object], *, compound: bool = False) -> None:
        object.__setattr__(self, "items", tuple(items))
        object.__setattr__(self, "compound", compound)


@dataclass(frozen=True, slots=True)
class Term:
    """A command, option or choice name. It is already in the catalogs (the command tree is
    collected), so each reader sees the name their Discord shows them."""

    name: str


@dataclass(frozen=True, slots=True)
class Wait:
    """A length of time a rule states ("45 s", "5 min", "1 h 30 min"), read in the reader's units
    (`bot.wording.format_wait`): pass the number, the words are chosen when the sentence is shown."""

    seconds: int

    def __str__(self) -> str:
        return format_wait(self.seconds)


@dataclass(frozen=True, slots=True)
class Lines:
    """Several texts shown one per line (or joined by `separator`)."""

    parts: tuple[object, ...]
    separator: str = "\n"


def show(language: Language, value: object) -> object:
    """One value as `language` shows it: texts, terms, lists and lines rendered; anything else as
    given, so a `{seconds:g}` field keeps its format."""
    if isinstance(value, Text):
        return value.render(language)
    if isinstance(value, Term):
        return language.template(value.name)
    if isinstance(value, Wait):
        return format_wait(value.seconds, language.unit_locale())
    if isinstance(value, AnyOf):
        return language.any_of([str(show(language, item)) for item in value.items], compound=value.compound)
    if isinstance(value, Lines):
        return value.separator.join(str(show(language, part)) for part in value.parts)
    return value


def fill(language: Language, msgid: str, values: Mapping[str, object]) -> str:
    """`msgid` in `language` with its `{fields}` filled in (each value shown in that language)."""
    text = language.template(msgid)
    if not values:
        return text
    return text.format(**{name: show(language, value) for name, value in values.items()})


def message_ids_of(value: object) -> Iterable[str]:
    """The message ids a value shows (a Text, the Texts inside lists and lines; terms are names)."""
    if isinstance(value, Text):
        yield from value.message_ids()
    elif isinstance(value, AnyOf):
        for item in value.items:
            yield from message_ids_of(item)
    elif isinstance(value, Lines):
        for part in value.parts:
            yield from message_ids_of(part)


class MemberRefusal(Exception):
    """A request turned down before anything was spent. `str()` is the sentence in English;
    `render(language)` the same in another language.

    `message` may hold `{name}` fields filled from `values`; the unfilled English text is the message
    id its translation is looked up by: mark it with `N_` where it is written. Values may be `Text`,
    `AnyOf`, `Term` or `Lines` (see the module docstring).
    """

    def __init__(self, message: str = "", /, **values: object) -> None:
        self.message_id = message
        self.values = values
        super().__init__(fill(ENGLISH, message, values))

    @classmethod
    def of(cls, text: Text) -> Self:
        return cls(text.msgid, **text.values)

    @property
    def text(self) -> Text:
        return Text(self.message_id, self.values)

    def render(self, language: Language = ENGLISH) -> str:
        return fill(language, self.message_id, self.values)


class InvalidValue(ValueError):
    """A value someone typed that can't be used (a time zone, a number out of its range): `str()` is
    the English sentence, `text` the same, translatable, for the reply that names the option."""

    def __init__(self, message: str, /, **values: object) -> None:
        self.text = Text(message, values)
        super().__init__(self.text.render())
