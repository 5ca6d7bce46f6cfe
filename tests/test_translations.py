"""The shipped catalogs are complete and fit Discord's limits for localized commands; replies follow
the member's language and fall back to English."""

from __future__ import annotations

import re
import string

import pytest

from bot.discord_app.catalogs import all_message_ids, bot_command_strings
from bot.discord_app.i18n import SHIPPED_LOCALES, Catalogs, CatalogTranslator, catalogs, t

# Discord's rule for command and option names (and their localizations), from its API reference:
# letters, numbers, '-', '_' and a few scripts; lowercase where the script has case; 1–32 characters.
NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
UPDATE = "run `python -m bot.discord_app.catalogs update`, then translate the new entries"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture(scope="module")
def shipped() -> Catalogs:
    return Catalogs.load()


@pytest.mark.parametrize("locale", sorted(SHIPPED_LOCALES))
async def test_every_message_is_translated(shipped: Catalogs, locale: str) -> None:
    missing = [msgid for msgid in await all_message_ids() if shipped.lookup(locale, msgid) is None]
    assert not missing, f"{locale} lacks {len(missing)} messages ({UPDATE}): {missing[:5]}"


@pytest.mark.parametrize("locale", sorted(SHIPPED_LOCALES))
async def test_translated_commands_fit_discords_limits(shipped: Catalogs, locale: str) -> None:
    problems = []
    for item in await bot_command_strings():
        translated = shipped.lookup(locale, item.text)
        if translated is None:
            continue  # reported by the completeness test
        if item.kind == "name" and (not NAME.match(translated) or translated != translated.lower()):
            problems.append(f"name {item.text!r} -> {translated!r} is not a valid lowercase command name")
        if not 1 <= len(translated) <= item.limit:
            problems.append(f"{item.kind} {item.text!r} -> {translated!r} is over {item.limit} characters")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", sorted(SHIPPED_LOCALES))
def test_translated_panel_texts_fit_discords_limits(shipped: Catalogs, locale: str) -> None:
    """`/limits panel`'s buttons, selects, presets and forms: Discord refuses the whole message (or
    the form) when one text is too long, so every language must fit (label 80, option 100, modal
    title 45, input label 45, placeholder 100)."""
    from bot.discord_app.limits_panel import panel_strings

    problems = []
    checked = list(panel_strings())
    assert len(checked) > 50
    for msgid, limit in checked:
        for text in (msgid, shipped.lookup(locale, msgid)):
            if text is not None and not 1 <= len(text) <= limit:
                problems.append(f"{msgid!r} -> {text!r} is over {limit} characters")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", sorted(SHIPPED_LOCALES))
def test_translations_keep_the_fields_they_fill_in(shipped: Catalogs, locale: str) -> None:
    wrong = [
        msgid for msgid, text in shipped.by_locale.get(locale, {}).items() if _fields(msgid) != _fields(text)
    ]
    assert not wrong, f"{locale}: these translations change the {{fields}}: {wrong[:5]}"


def test_replies_follow_the_locale_and_fall_back_to_english() -> None:
    from bot.discord_app.error_handler import SLOW_DOWN

    assert t("ja", SLOW_DOWN, seconds="3") != t("en-US", SLOW_DOWN, seconds="3")
    assert t("zh-CN", SLOW_DOWN, seconds="3") != t("en-US", SLOW_DOWN, seconds="3")
    assert "3" in t("ja", SLOW_DOWN, seconds="3")
    assert t("fr", SLOW_DOWN, seconds="3") == "Slow down: try again in 3 s."
    assert t(None, "never seen") == "never seen"


async def test_the_translator_gives_discord_the_catalog_strings() -> None:
    import discord
    from discord import app_commands

    translator = CatalogTranslator()
    context = app_commands.TranslationContext(app_commands.TranslationContextLocation.other, None)
    japanese = await translator.translate(app_commands.locale_str("video"), discord.Locale.japanese, context)
    assert japanese == catalogs().lookup("ja", "video")
    assert japanese is not None and japanese != "video"
    assert (
        await translator.translate(app_commands.locale_str("video"), discord.Locale.french, context) is None
    )
