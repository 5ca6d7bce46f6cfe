"""`/limits panel` in the moderator's language: every text of its pages, selects, presets and forms,
and the status line after a change, in Japanese and Simplified Chinese, and English exactly as it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from bot.discord_app.access import Refusal
from bot.discord_app.i18n import catalogs
from bot.discord_app.limit_presets import apply_preset, preset_named
from bot.discord_app.limit_settings import LimitsUpdate, describe_changes
from bot.discord_app.limits_panel import (
    FORMS,
    LimitsPanel,
    Page,
    SettingsForm,
    form_named,
    panel_strings,
)
from bot.quota.models import GuildLimits
from bot.storage import Store, open_store
from bot.storage.base import VersionedLimits

GUILD = 4242
MODERATOR = 77

#: The panel as English-speaking moderators saw it before it was translated, text for text.
ENGLISH_SETUP = {
    "panel:preset": "Start from a preset…",
    "panel:page:rules": "Start from scratch",
    "panel:refresh": "Refresh",
}
ENGLISH_RULES = {
    "panel:channels": "Channels for /video (none picked: any channel)",
    "panel:exempt_roles": "Exempt roles: skip the member limits (none picked)",
    "panel:models": "Models members may use",
    "panel:modes": "Modes members may use",
    "panel:form:budget": "Budget…",
    "panel:form:pace": "Pace & time…",
    "panel:form:defaults": "Defaults…",
    "panel:page:more": "More ▸",
    "panel:refresh": "Refresh",
}
ENGLISH_MORE = {
    "panel:modlog": "Mod-log channel (none picked: no mod-log)",
    "panel:preset": "Start from a preset…",
    "panel:toggle:allow_audio": "Sound: allowed",
    "panel:toggle:allow_4k": "4K: allowed",
    "panel:page:rules": "◂ Back",
    "panel:refresh": "Refresh",
}
ENGLISH_PRESETS = [
    ("A small community", "3 videos a day per member, 20 for the server; one at a time, 2 min apart; no 4K"),
    (
        "A busy art server",
        "10 videos a day per member, 200 for the server; 2 at a time each, 8 rendering at once",
    ),
    ("Moderators only", "Members get no videos; roles with Manage Server are exempt and make them"),
]
ENGLISH_BUDGET_FORM = (
    "Budget",
    [
        ("Limits count videos or credits", "videos or credits"),
        ("Server per day", "a number, or none for no limit"),
        ("Server per month", "a number, or none for no limit"),
        ("Each member per day", "a number, or none for no limit"),
        ("Each member per month", "a number, or none for no limit"),
    ],
)


class _ModLog:
    def __init__(self) -> None:
        self.posted: list[str] = []

    def limits_changed(self, guild_id: int, moderator_id: int, summary: Callable[[str | None], str]) -> None:
        self.posted.append(summary(None))  # an English server


class _Interaction:
    """What the panel uses of an interaction: who, where, in which language, and the panel's edit."""

    def __init__(self, locale: str) -> None:
        self.locale = discord.Locale(locale)
        self.guild_id = GUILD
        self.guild = None
        self.user = SimpleNamespace(id=MODERATOR)
        self.permissions = discord.Permissions(manage_guild=True)
        self.response = SimpleNamespace(defer=self._nothing)
        self.edits: list[dict[str, Any]] = []

    async def _nothing(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def edit_original_response(self, **parts: Any) -> None:
        self.edits.append(parts)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(tmp_path / "panel.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


async def _panel(store: Store, locale: str | None, *, first_run: bool = True) -> LimitsPanel:
    current = await store.get_versioned_limits(GUILD)
    if not first_run:
        version = await store.set_limits_if_version(GUILD, GuildLimits(), current.version)
        assert version is not None
        current = VersionedLimits(GuildLimits(), version)
    return LimitsPanel(
        store=store,
        modlog=cast(Any, _ModLog()),
        lock=asyncio.Lock(),
        guild_id=GUILD,
        opener_id=MODERATOR,
        current=current,
        locale=locale,
    )


def _texts(panel: LimitsPanel) -> dict[str, str]:
    """Each component's visible text (a button's label, a select's placeholder) by custom id."""
    texts: dict[str, str] = {}
    for item in panel.children:
        if isinstance(item, discord.ui.Button):
            texts[str(item.custom_id)] = str(item.label)
        elif isinstance(item, discord.ui.Select | discord.ui.ChannelSelect | discord.ui.RoleSelect):
            texts[str(item.custom_id)] = str(item.placeholder)
    return texts


def _presets(panel: LimitsPanel) -> list[tuple[str, str | None]]:
    select = next(item for item in panel.children if getattr(item, "custom_id", "") == "panel:preset")
    assert isinstance(select, discord.ui.Select)
    return [(option.label, option.description) for option in select.options]


def _form(panel: LimitsPanel, key: str) -> tuple[str, list[tuple[str, str | None]]]:
    form = SettingsForm(panel, form_named(key), opener_id=MODERATOR)
    inputs = [item for item in form.children if isinstance(item, discord.ui.TextInput)]
    shown = [text_input.to_component_dict() for text_input in inputs]
    return form.title, [(str(field["label"]), field.get("placeholder")) for field in shown]


def _all_pages(panel: LimitsPanel) -> dict[Page, dict[str, str]]:
    pages = {}
    for page in Page:
        panel.page = page
        panel.lay_out()
        pages[page] = _texts(panel)
    return pages


@pytest.mark.parametrize("locale", ["en-US", None, "fr"])
async def test_english_is_what_the_panel_always_said(store: Store, locale: str | None) -> None:
    panel = await _panel(store, locale)
    assert panel.parts()["content"].startswith("👋 This server has no video settings yet. Pick a preset")
    assert _presets(panel) == ENGLISH_PRESETS
    embed = panel.embed()
    assert embed.title == "Video settings of this server"
    assert embed.footer.text == (
        "Changes save at once and are posted to the mod-log. Only you see this panel."
    )
    pages = _all_pages(panel)
    assert pages[Page.SETUP] == ENGLISH_SETUP
    assert pages[Page.RULES] == ENGLISH_RULES
    assert pages[Page.MORE] == ENGLISH_MORE
    assert _form(panel, "budget") == ENGLISH_BUDGET_FORM
    assert _form(panel, "pace")[0] == "Pace and time zone"
    assert _form(panel, "defaults")[0] == "Confirmation and server defaults"


@pytest.mark.parametrize(
    ("locale", "title", "scratch", "first_words"),
    [
        ("ja", "このサーバーの動画設定", "ゼロから始める", "👋 このサーバーにはまだ動画の設定がありません。"),
        ("zh-CN", "本服务器的视频设置", "从头开始", "👋 本服务器还没有视频设置。"),
    ],
)
async def test_every_text_of_the_panel_is_in_the_moderators_language(
    store: Store, locale: str, title: str, scratch: str, first_words: str
) -> None:
    panel = await _panel(store, locale)
    english = await _panel(store, "en-US")
    assert panel.parts()["content"].startswith(first_words)
    assert panel.embed().title == title
    assert panel.embed().footer.text == catalogs().lookup(locale, str(english.embed().footer.text))
    # The settings themselves are shown the way `/limits show` shows them in that language.
    setting_names = [field.name for field in panel.embed().fields]
    assert catalogs().lookup(locale, "Each member per day") in setting_names

    presets = _presets(panel)
    for (name, summary), (english_name, english_summary) in zip(presets, ENGLISH_PRESETS, strict=True):
        assert name == catalogs().lookup(locale, english_name) != english_name
        assert summary == catalogs().lookup(locale, english_summary) != english_summary

    translated, original = _all_pages(panel), _all_pages(english)
    assert translated[Page.SETUP]["panel:page:rules"] == scratch
    for page in Page:
        # Same components (the same custom ids: persistent components keep working), other words.
        assert translated[page].keys() == original[page].keys()
        for custom_id, text in translated[page].items():
            assert text == catalogs().lookup(locale, original[page][custom_id]), custom_id
            assert text != original[page][custom_id], custom_id

    for form in FORMS:
        form_title, fields = _form(panel, form.key)
        english_title, english_fields = _form(english, form.key)
        assert form_title == catalogs().lookup(locale, english_title) != english_title
        for (label, placeholder), (english_label, english_placeholder) in zip(
            fields, english_fields, strict=True
        ):
            assert label == catalogs().lookup(locale, english_label) != english_label
            assert placeholder == catalogs().lookup(locale, str(english_placeholder))


async def test_the_4k_mode_hint_names_the_more_button_as_the_moderator_reads_it(store: Store) -> None:
    panel = await _panel(store, "ja", first_run=False)
    modes = next(item for item in panel.children if getattr(item, "custom_id", "") == "panel:modes")
    assert isinstance(modes, discord.ui.Select)
    hint = next(option.description for option in modes.options if option.value == "4k")
    more = next(item for item in panel.children if getattr(item, "custom_id", "") == "panel:page:more")
    assert isinstance(more, discord.ui.Button) and more.label
    assert hint is not None and more.label in hint


async def test_a_preset_is_saved_and_reported_in_japanese(store: Store) -> None:
    panel = await _panel(store, "ja")
    interaction = _Interaction("ja")
    preset = preset_named("small")
    await panel.apply(
        cast(Any, interaction), lambda limits: apply_preset(limits, preset, moderator_role_ids=[])
    )

    status = interaction.edits[-1]["content"]
    assert status.startswith("保存しました。変更点：")
    assert "メンバーごと（1日）: 上限なし → " in status
    stored = await store.get_limits(GUILD)
    assert stored.member_daily == 3 and stored.guild_daily == 20
    # The mod-log keeps its one language (English), whoever made the change.
    assert cast(Any, panel.modlog).posted == ["; ".join(describe_changes(GuildLimits(), stored))]


@pytest.mark.parametrize(
    ("locale", "nothing_changed"), [("ja", "何も変更していません。"), ("zh-CN", "未做任何更改。")]
)
async def test_a_refused_change_says_so_in_the_moderators_language(
    store: Store, locale: str, nothing_changed: str
) -> None:
    panel = await _panel(store, locale, first_run=False)
    form = form_named("defaults")
    prefilled = {"default_duration": "none"}
    change = form.change(prefilled, {"default_duration": "ten"}, panel.fallback_model)
    assert change is not None
    interaction = _Interaction(locale)
    await panel.apply(cast(Any, interaction), change)

    status = interaction.edits[-1]["content"]
    assert status.startswith("❌ ") and "**default_duration**" in status and "'ten'" in status
    assert nothing_changed in status and "Nothing" not in status
    assert (await store.get_limits(GUILD)) == GuildLimits()


async def test_english_refusals_read_as_before(store: Store) -> None:
    panel = await _panel(store, "en-US", first_run=False)
    interaction = _Interaction("en-US")

    def refused(limits: GuildLimits) -> LimitsUpdate:
        raise Refusal("At most {count} roles can be exempt; remove one first.", count=50)

    await panel.apply(cast(Any, interaction), refused)
    assert interaction.edits[-1]["content"] == (
        "❌ At most 50 roles can be exempt; remove one first. Nothing changed."
    )


async def test_the_panel_follows_whoever_touched_it_last(store: Store) -> None:
    panel = await _panel(store, "en-US", first_run=False)
    assert await panel.interaction_check(cast(Any, _Interaction("zh-CN")))
    panel.lay_out()
    assert _texts(panel)["panel:refresh"] == "刷新"
    assert panel.embed().title == "本服务器的视频设置"


def test_every_panel_text_is_listed_for_the_limits_check() -> None:
    listed = {msgid for msgid, _limit in panel_strings()}
    every_shown = {*ENGLISH_SETUP.values(), *ENGLISH_RULES.values(), *ENGLISH_MORE.values()}
    every_shown |= {text for preset in ENGLISH_PRESETS for text in preset}
    every_shown |= {"Sound: off", "4K: off", "Also needs 4K switched on (More ▸)"}
    assert every_shown <= listed


class _Refused(_Interaction):
    """A member without Manage Server pressing the panel: the refusal is all they get."""

    def __init__(self, locale: str) -> None:
        super().__init__(locale)
        self.permissions = discord.Permissions.none()
        self.sent: list[str] = []
        self.response = SimpleNamespace(is_done=lambda: False, send_message=self._send)

    async def _send(self, text: str, **kwargs: Any) -> None:
        self.sent.append(text)


async def test_a_member_without_manage_server_is_refused_in_their_language(store: Store) -> None:
    panel = await _panel(store, "en-US", first_run=False)
    refused = _Refused("ja")
    assert not await panel.interaction_check(cast(Any, refused))
    assert refused.sent == [
        "この設定を変更できるのは **サーバー管理** 権限を持つメンバーだけです"
        f"（このパネルを開いたのは <@{MODERATOR}> です）。何も変更していません。"
    ]
    assert panel.locale == "en-US"  # the panel stays in its moderator's language


async def test_a_stale_panel_and_a_closed_one_say_so_in_the_moderators_language(store: Store) -> None:
    panel = await _panel(store, "zh-CN", first_run=False)
    current = await store.get_versioned_limits(GUILD)
    assert await store.set_limits_if_version(GUILD, GuildLimits(member_daily=1), current.version)
    interaction = _Interaction("zh-CN")
    await panel.apply(
        cast(Any, interaction),
        lambda limits: apply_preset(limits, preset_named("art"), moderator_role_ids=[]),
    )
    assert interaction.edits[-1]["content"].startswith(
        "⚠️ 此面板显示这些设置之后，有人更改了它们，所以没有保存任何内容。"
    )
    assert (await store.get_limits(GUILD)).member_daily == 1

    edited: list[dict[str, Any]] = []

    async def edit(**parts: Any) -> None:
        edited.append(parts)

    panel.message = cast(Any, SimpleNamespace(edit=edit))
    await panel.on_timeout()
    assert edited == [{"content": "此面板已关闭；要更改设置，请再次运行 `/限额 面板`。", "view": None}]
