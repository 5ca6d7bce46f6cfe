"""`/limits panel`: one private, interactive panel for a server's video settings.

Pickers instead of add/remove subcommands (channels, exempt roles, the mod-log channel), multi-selects
for models and modes, forms (modals) for the numbers, toggles for sound and 4K, and named presets on a
server's first visit. Every change goes through the same functions as the `/limits` subcommands
(`limit_settings`), so it is validated by the same rules, shown as "old → new" and posted to the
mod-log.

The panel never overwrites settings it has not seen: it remembers the version it shows, and saves
with `Store.set_limits_if_version`. When someone changed the settings meanwhile (another panel,
`/limits set`), nothing is saved and the panel refreshes to the current settings instead.

A form is a small declarative `PanelForm`; a field whose option `LimitsForm` does not (yet) know is
left out, so fields added to `/limits set` appear here by adding one `FormField` line.

Every text a moderator reads here is a message id (`N_`) shown in the language of the moderator who
touched the panel last (`interaction.locale`); custom ids never change, so they stay in English.
`panel_strings()` lists those texts with Discord's limit for each, which a test checks in every
shipped language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.access import Refusal, is_moderator
from bot.discord_app.formatting import Locale
from bot.discord_app.i18n import N_, language, t
from bot.discord_app.limit_presets import PRESETS, apply_preset, preset_named
from bot.discord_app.limit_settings import (
    MESSAGE_CHANNEL_TYPES,
    NOTHING_CHANGED,
    ChannelChoice,
    LimitsForm,
    LimitsUpdate,
    apply_form,
    describe_changes,
    form_options,
    limits_embed,
    option_text,
    set_channels,
    set_exempt_roles,
    set_modlog_channel,
    update_text,
)
from bot.discord_app.replies import refuse
from bot.discord_app.saved_defaults import Typed, read_preferences, with_server_defaults
from bot.kling.models import Mode, Model
from bot.quota.limit_input import NO_LIMIT_WORDS
from bot.quota.models import GuildLimits, OperatorBudget, Preferences
from bot.refusals import MemberRefusal
from bot.storage.base import Store, VersionedLimits

if TYPE_CHECKING:
    from bot.discord_app.modlog import ModLog

log = logging.getLogger(__name__)

#: The ephemeral panel is edited with the interaction token of whoever touched it last, but the
#: message itself can only be cleaned up with the opening token, which lasts 15 minutes.
PANEL_TIMEOUT = 14 * 60.0
#: Discord shows at most 25 options, and 25 pre-selected values, in one select menu.
SELECT_MAX = 25
CUSTOM_ID_PREFIX = "panel"

STALE = N_(
    "⚠️ Someone changed these settings since this panel showed them, so nothing was saved. "
    "The panel now shows the current settings; make your change again if you still want it."
)
NOT_A_MODERATOR = N_(
    "Only members with **Manage Server** can change these settings (this panel was opened by <@{opener}>). "
    "Nothing changed."
)
FIRST_RUN = N_(
    "👋 This server has no video settings yet. Pick a preset to start from (everything can be changed "
    "afterwards), or start from scratch."
)
OTHER_SERVER = N_("This panel belongs to another server; nothing changed.")
NOT_YOUR_FORM = N_("This form belongs to the moderator who opened it; nothing changed.")
FORM_UNCHANGED = N_("Nothing changed: the form was sent as it was.")
CLOSED = N_("This panel has closed; run `/limits panel` again to change settings.")
PANEL_TITLE = N_("Video settings of this server")
PANEL_FOOTER = N_("Changes save at once and are posted to the mod-log. Only you see this panel.")
#: A refusal whose own words don't already say nothing changed.
REFUSED = N_("❌ {refusal} Nothing changed.")
BAD_DURATION = N_(
    "Nothing was changed. **default_duration**: {typed} isn't a whole number of seconds; type one like 5, "
    "or none."
)

#: Discord's limits for the texts of components: button labels, select option labels and
#: descriptions, placeholders, modal titles and text input labels.
BUTTON_LABEL_MAX = 80
OPTION_TEXT_MAX = 100
PLACEHOLDER_MAX = 100
MODAL_TITLE_MAX = 45
INPUT_LABEL_MAX = 45


class Page(StrEnum):
    SETUP = "setup"
    RULES = "rules"
    MORE = "more"


# --- the forms, declared --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormField:
    """One text field of a form: `option` is the `/limits set` option (a `LimitsForm` field); the
    label and placeholder are message ids."""

    option: str
    label: str  # at most 45 characters
    placeholder: str = N_("a number, or none for no limit")
    max_length: int = 20


#: Applies a form's fields that are not `/limits set` options: (settings, typed texts of those fields,
#: the bot's default model) -> the change.
CustomApply = Callable[[GuildLimits, dict[str, str], Model], LimitsUpdate]


@dataclass(frozen=True, slots=True)
class PanelForm:
    key: str
    button: str  # message id
    title: str  # message id, at most 45 characters
    fields: tuple[FormField, ...]
    #: For fields `/limits set` doesn't take (e.g. the server defaults of `/defaults server`).
    apply_custom: CustomApply | None = None

    def available(self) -> tuple[FormField, ...]:
        """The fields that exist today (at most 5: Discord's limit for one form): `/limits set`
        options, and settings this form applies itself."""
        known = set(form_options())
        if self.apply_custom is not None:
            known |= set(GuildLimits.model_fields)
        return tuple(field for field in self.fields if field.option in known)[:5]

    def change(
        self,
        prefilled: dict[str, str],
        typed: dict[str, str],
        fallback_model: Model,
        budget: OperatorBudget | None = None,
    ) -> Callable[[GuildLimits], LimitsUpdate] | None:
        """What submitting the form changes (None: nothing was edited). `/limits set` options go
        through `apply_form` exactly as `/limits set` sends them (so with the operator's `budget`:
        server caps above its ceiling are refused); the rest through `apply_custom`, given all of
        their texts."""
        edited = typed_changes(prefilled, typed)
        if edited is None:
            return None
        options = set(form_options())
        limits_set: dict[str, Any] = {option: text for option, text in edited.items() if option in options}
        form = LimitsForm(**limits_set)
        custom_edited = any(
            text.strip() != prefilled[option] for option, text in typed.items() if option not in options
        )
        custom = {option: text for option, text in typed.items() if option not in options}
        apply_custom = self.apply_custom

        def change(limits: GuildLimits) -> LimitsUpdate:
            after, notes = limits, []
            note_values: dict[str, object] = {}
            if form != LimitsForm():
                first = apply_form(limits, form, budget=budget)
                after, notes = first.limits, list(first.notes)
                note_values |= first.note_values
            if custom_edited and apply_custom is not None:
                second = apply_custom(after, custom, fallback_model)
                after, notes = second.limits, [*notes, *second.notes]
                note_values |= second.note_values
            return LimitsUpdate(
                after, describe_changes(limits, after), tuple(notes), before=limits, note_values=note_values
            )

        return change


def server_defaults_change(limits: GuildLimits, typed: dict[str, str], fallback_model: Model) -> LimitsUpdate:
    """The server defaults (`/defaults server`'s rules): all four fields together; all empty clears them."""

    def value(option: str) -> str | None:
        text = typed.get(option, "").strip()
        return None if text.lower() in NO_LIMIT_WORDS else text

    duration_text = value("default_duration")
    try:
        duration = None if duration_text is None else int(duration_text.lower().removesuffix("s").strip())
    except ValueError:
        raise Refusal(BAD_DURATION, typed=repr((duration_text or "")[:20])) from None
    wanted = Typed(
        model=value("default_model"),
        mode=value("default_mode"),
        duration=duration,
        aspect_ratio=value("default_aspect_ratio"),
    )
    preferences = (
        Preferences()
        if wanted.is_empty()
        else read_preferences(wanted, limits, fallback_model=fallback_model)
    )
    after = GuildLimits.model_validate(with_server_defaults(limits, preferences).model_dump())
    return LimitsUpdate(after, describe_changes(limits, after), before=limits)


FORMS: tuple[PanelForm, ...] = (
    PanelForm(
        "budget",
        N_("Budget…"),
        N_("Budget"),
        (
            FormField("unit", N_("Limits count videos or credits"), N_("videos or credits"), 10),
            FormField("guild_daily", N_("Server per day")),
            FormField("guild_monthly", N_("Server per month")),
            FormField("member_daily", N_("Each member per day")),
            FormField("member_monthly", N_("Each member per month")),
        ),
    ),
    PanelForm(
        "pace",
        N_("Pace & time…"),
        N_("Pace and time zone"),
        (
            FormField("member_concurrent", N_("Videos in progress per member")),
            FormField("member_cooldown", N_("Wait between a member's videos"), N_("30s, 5m, 1h30m, or 0")),
            FormField("guild_concurrent", N_("Videos rendering at once (more wait)")),
            FormField("max_duration", N_("Longest video in seconds")),
            FormField("timezone", N_("Time zone for resets"), N_("e.g. Europe/Paris or UTC"), 60),
        ),
    ),
    PanelForm(
        "defaults",
        N_("Defaults…"),
        N_("Confirmation and server defaults"),
        (
            FormField("confirm_above_credits", N_("Ask members to confirm above (credits)")),
            FormField("default_model", N_("Default model"), N_("e.g. kling-v2-6, or none"), 40),
            FormField("default_mode", N_("Default mode"), N_("std, pro or 4k, or none"), 10),
            FormField("default_duration", N_("Default duration in seconds"), N_("e.g. 5, or none"), 10),
            FormField(
                "default_aspect_ratio", N_("Default aspect ratio"), N_("16:9, 9:16 or 1:1, or none"), 10
            ),
        ),
        apply_custom=server_defaults_change,
    ),
)


def available_forms() -> tuple[PanelForm, ...]:
    return tuple(form for form in FORMS if form.available())


def form_named(key: str) -> PanelForm:
    return next(form for form in FORMS if form.key == key)


def typed_changes(prefilled: dict[str, str], typed: dict[str, str]) -> dict[str, str] | None:
    """The fields whose text the moderator edited (untouched pre-filled text is not re-applied,
    so a form never "changes" what it only displayed); None when nothing was edited."""
    edited = {option: text.strip() for option, text in typed.items() if text.strip() != prefilled[option]}
    return edited or None


# --- what each select means -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllowedPicker:
    """A "members may use" multi-select (models, modes): its values, and the `/limits set` option
    the picked ones are typed into ("all" when every value is picked, so new ones are allowed too)."""

    key: str  # the custom id's last part
    option: str  # the `LimitsForm` option, which is also the `GuildLimits` field
    placeholder: str  # message id
    values: tuple[str, ...]
    #: Option descriptions (message ids) by value.
    descriptions: Mapping[str, str] = field(default_factory=dict)

    def change(self, picked: Sequence[str]) -> Callable[[GuildLimits], LimitsUpdate]:
        chosen = set(picked)
        text = "all" if chosen >= set(self.values) else ", ".join(sorted(chosen))
        typed: dict[str, Any] = {self.option: text or "none"}
        return lambda limits: apply_form(limits, LimitsForm(**typed))

    def allows(self, limits: GuildLimits, value: str) -> bool:
        allowed = getattr(limits, self.option)
        return allowed is None or value in {item.value for item in allowed}


MODEL_PICKER = AllowedPicker(
    "models", "allowed_models", N_("Models members may use"), tuple(model.value for model in Model)
)
MODE_PICKER = AllowedPicker(
    "modes",
    "allowed_modes",
    N_("Modes members may use"),
    tuple(mode.value for mode in Mode),
    {Mode.K4.value: N_("Also needs 4K switched on (More ▸)")},
)
models_change = MODEL_PICKER.change
modes_change = MODE_PICKER.change


def toggle_change(option: str) -> Callable[[GuildLimits], LimitsUpdate]:
    def change(limits: GuildLimits) -> LimitsUpdate:
        flipped: dict[str, Any] = {option: not getattr(limits, option)}
        return apply_form(limits, LimitsForm(**flipped))

    return change


def _channel_choice(value: Any) -> ChannelChoice:
    kind = getattr(value, "type", discord.ChannelType.text)
    return ChannelChoice(
        int(value.id), kind if isinstance(kind, discord.ChannelType) else discord.ChannelType.text
    )


def moderator_role_ids(guild: discord.Guild | None) -> list[int]:
    """Roles (not bots' own) whose members have Manage Server, for the "moderators only" preset."""
    if guild is None:
        return []
    return [
        role.id
        for role in guild.roles
        if not role.is_default() and not role.managed and is_moderator(role.permissions)
    ]


# --- the panel ----------------------------------------------------------------------------------------


class LimitsPanel(discord.ui.View):
    """One moderator's panel on one server. See the module docstring."""

    def __init__(
        self,
        *,
        store: Store,
        modlog: ModLog,
        lock: asyncio.Lock,
        guild_id: int,
        opener_id: int,
        current: VersionedLimits,
        fallback_model: Model = Model.V1,
        budget: OperatorBudget | None = None,
        locale: Locale = None,
        timeout: float = PANEL_TIMEOUT,
    ) -> None:
        super().__init__(timeout=timeout)
        self.store = store
        self.modlog = modlog
        self.lock = lock
        self.guild_id = guild_id
        self.opener_id = opener_id
        #: The bot's DEFAULT_MODEL: what server defaults are checked against when they name no model.
        self.fallback_model = fallback_model
        #: The operator's caps: forms refuse server caps above its ceiling, as `/limits set` does,
        #: and the settings shown include the ceiling, as `/limits show` does.
        self.budget = budget
        #: The language of the moderator who touched the panel last: it is shown in theirs.
        self.locale = locale
        self.limits = current.limits
        self.version = current.version
        self.page = Page.SETUP if current.first_run else Page.RULES
        self.status = t(locale, FIRST_RUN) if current.first_run else ""
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None
        self.lay_out()

    # --- showing ---------------------------------------------------------------------------------
    def embed(self) -> discord.Embed:
        embed = limits_embed(self.limits, title=PANEL_TITLE, budget=self.budget, locale=self.locale)
        embed.set_footer(text=t(self.locale, PANEL_FOOTER))
        return embed

    def lay_out(self) -> None:
        self.clear_items()
        limits, locale = self.limits, self.locale
        if self.page is Page.SETUP:
            self.add_item(_PresetSelect(locale, row=0))
            self.add_item(_PageButton(START_FROM_SCRATCH, Page.RULES, locale, row=1))
            self.add_item(_RefreshButton(locale, row=1))
        elif self.page is Page.RULES:
            self.add_item(_ChannelsSelect(limits, locale, row=0))
            self.add_item(_ExemptRolesSelect(limits, locale, row=1))
            self.add_item(_AllowedSelect(MODEL_PICKER, limits, locale, row=2))
            self.add_item(_AllowedSelect(MODE_PICKER, limits, locale, row=3))
            for form in available_forms()[:3]:
                self.add_item(_FormButton(form, locale, row=4))
            self.add_item(_PageButton(MORE, Page.MORE, locale, row=4))
            self.add_item(_RefreshButton(locale, row=4))
        else:
            self.add_item(_ModlogSelect(limits, locale, row=0))
            self.add_item(_PresetSelect(locale, row=1))
            self.add_item(_ToggleButton("allow_audio", limits.allow_audio, locale, row=2))
            self.add_item(_ToggleButton("allow_4k", limits.allow_4k, locale, row=2))
            self.add_item(_PageButton(BACK, Page.RULES, locale, row=2))
            self.add_item(_RefreshButton(locale, row=2))

    def parts(self) -> dict[str, Any]:
        return {"content": self.status[:1900], "embed": self.embed(), "view": self}

    async def show(self, interaction: discord.Interaction[Any]) -> None:
        self.lay_out()
        await interaction.edit_original_response(**self.parts())

    def adopt(self, current: VersionedLimits) -> None:
        self.limits, self.version = current.limits, current.version
        if self.page is Page.SETUP and not current.first_run:
            self.page = Page.RULES

    # --- checks ----------------------------------------------------------------------------------
    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Manage Server, checked at every click: the panel may outlive a role change, and
        `default_member_permissions` only hides the command. A custom id can be replayed from another
        server, whose settings this panel must never touch."""
        if interaction.guild_id != self.guild_id:
            await refuse(interaction, OTHER_SERVER)
            return False
        if is_moderator(interaction.permissions):
            self.locale = interaction.locale
            return True
        await refuse(interaction, NOT_A_MODERATOR, opener=self.opener_id)
        return False

    # --- changing --------------------------------------------------------------------------------
    async def apply(
        self,
        interaction: discord.Interaction[Any],
        change: Callable[[GuildLimits], LimitsUpdate],
        *,
        check: Callable[[LimitsUpdate], Awaitable[None]] | None = None,
    ) -> None:
        """Apply `change` to the stored settings if they are still the ones shown, then show the
        result ("old → new", a refusal, or the refreshed settings) on the panel."""
        await interaction.response.defer()
        async with self.lock:
            self.status = await self._save(interaction.user.id, change, check)
        await self.show(interaction)

    async def _save(
        self,
        moderator_id: int,
        change: Callable[[GuildLimits], LimitsUpdate],
        check: Callable[[LimitsUpdate], Awaitable[None]] | None,
    ) -> str:
        """The compare-and-set under the server's settings lock; returns the panel's status line."""
        current = await self.store.get_versioned_limits(self.guild_id)
        if current.version != self.version:
            self.adopt(current)
            return t(self.locale, STALE)
        try:
            update = change(current.limits)
            if update.changed and check is not None:
                await check(update)
        except MemberRefusal as exc:
            return _refusal_text(exc, self.locale)
        if not update.changed:
            return t(self.locale, NOTHING_CHANGED)
        version = await self.store.set_limits_if_version(self.guild_id, update.limits, current.version)
        if version is None:  # saved by someone else between the read and the write
            self.adopt(await self.store.get_versioned_limits(self.guild_id))
            return t(self.locale, STALE)
        self.adopt(VersionedLimits(update.limits, version))
        self.modlog.limits_changed(self.guild_id, moderator_id, update.summary)
        return update_text(update, self.locale)

    async def refresh(self, interaction: discord.Interaction[Any], *, page: Page | None = None) -> None:
        await interaction.response.defer()
        self.adopt(await self.store.get_versioned_limits(self.guild_id))
        if page is not None:
            self.page = page
        self.status = ""
        await self.show(interaction)

    async def check_modlog(self, update: LimitsUpdate, moderator_id: int) -> None:
        channel_id = update.limits.modlog_channel_id
        if channel_id is not None and channel_id != self.limits.modlog_channel_id:
            problem = await self.modlog.probe(self.guild_id, channel_id, moderator_id)
            if problem:
                raise Refusal.of(problem)

    async def on_timeout(self) -> None:
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(content=t(self.locale, CLOSED), view=None)


def _refusal_text(refusal: MemberRefusal, locale: Locale) -> str:
    """The refusal in the moderator's language; "Nothing changed." is added unless its English
    words already say so."""
    text = refusal.render(language(locale))
    return f"❌ {text}" if "othing" in str(refusal) else t(locale, REFUSED, refusal=text)


def _panel(item: discord.ui.Item[Any]) -> LimitsPanel:
    view = item.view
    assert isinstance(view, LimitsPanel)
    return view


def _custom_id(*parts: str) -> str:
    return ":".join((CUSTOM_ID_PREFIX, *parts))


# --- components -----------------------------------------------------------------------------------

START_FROM_SCRATCH = N_("Start from scratch")
MORE = N_("More ▸")
BACK = N_("◂ Back")
REFRESH = N_("Refresh")
PRESET_PLACEHOLDER = N_("Start from a preset…")
CHANNELS_PLACEHOLDER = N_("Channels for /video (none picked: any channel)")
TOO_MANY_CHANNELS = N_("Over 25 channels listed: use /limits channels")
ROLES_PLACEHOLDER = N_("Exempt roles: skip the member limits (none picked)")
TOO_MANY_ROLES = N_("Over 25 exempt roles: use /limits roles")
MODLOG_PLACEHOLDER = N_("Mod-log channel (none picked: no mod-log)")
#: A toggle's label by (option, switched on): whole phrases, so a translation words each its own way.
TOGGLE_LABELS = {
    ("allow_audio", True): N_("Sound: allowed"),
    ("allow_audio", False): N_("Sound: off"),
    ("allow_4k", True): N_("4K: allowed"),
    ("allow_4k", False): N_("4K: off"),
}


def panel_strings() -> Iterator[tuple[str, int]]:
    """Every message id a moderator reads on a component of the panel, its presets and its forms,
    with Discord's limit for it: `tests/test_translations.py` checks each translation against it."""
    for label in (START_FROM_SCRATCH, MORE, BACK, REFRESH, *TOGGLE_LABELS.values()):
        yield label, BUTTON_LABEL_MAX
    placeholders = (PRESET_PLACEHOLDER, CHANNELS_PLACEHOLDER, TOO_MANY_CHANNELS, ROLES_PLACEHOLDER)
    for placeholder in (*placeholders, TOO_MANY_ROLES, MODLOG_PLACEHOLDER):
        yield placeholder, PLACEHOLDER_MAX
    for picker in (MODEL_PICKER, MODE_PICKER):
        yield picker.placeholder, PLACEHOLDER_MAX
        for description in picker.descriptions.values():
            yield description, OPTION_TEXT_MAX
    for preset in PRESETS:
        yield preset.name, OPTION_TEXT_MAX
        yield preset.summary, OPTION_TEXT_MAX
    for form in FORMS:
        yield form.button, BUTTON_LABEL_MAX
        yield form.title, MODAL_TITLE_MAX
        for form_field in form.fields:
            yield form_field.label, INPUT_LABEL_MAX
            yield form_field.placeholder, PLACEHOLDER_MAX


class _ChannelsSelect(discord.ui.ChannelSelect[LimitsPanel]):
    def __init__(self, limits: GuildLimits, locale: Locale, *, row: int) -> None:
        listed = sorted(limits.allowed_channels)
        too_many = len(listed) > SELECT_MAX
        super().__init__(
            custom_id=_custom_id("channels"),
            channel_types=sorted(MESSAGE_CHANNEL_TYPES, key=lambda kind: kind.value),
            placeholder=t(locale, TOO_MANY_CHANNELS if too_many else CHANNELS_PLACEHOLDER),
            min_values=0,
            max_values=SELECT_MAX,
            default_values=[] if too_many else [discord.Object(channel) for channel in listed],
            disabled=too_many,
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        chosen = [_channel_choice(value) for value in self.values]
        await _panel(self).apply(interaction, lambda limits: set_channels(limits, chosen))


class _ExemptRolesSelect(discord.ui.RoleSelect[LimitsPanel]):
    def __init__(self, limits: GuildLimits, locale: Locale, *, row: int) -> None:
        roles = sorted(limits.exempt_roles)
        too_many = len(roles) > SELECT_MAX
        super().__init__(
            custom_id=_custom_id("exempt_roles"),
            placeholder=t(locale, TOO_MANY_ROLES if too_many else ROLES_PLACEHOLDER),
            min_values=0,
            max_values=SELECT_MAX,
            default_values=[] if too_many else [discord.Object(role) for role in roles],
            disabled=too_many,
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        ids = [int(role.id) for role in self.values]
        await _panel(self).apply(interaction, lambda limits: set_exempt_roles(limits, ids))


class _AllowedSelect(discord.ui.Select[LimitsPanel]):
    """The models or modes members may use (an `AllowedPicker`), the allowed ones pre-selected."""

    def __init__(self, picker: AllowedPicker, limits: GuildLimits, locale: Locale, *, row: int) -> None:
        options = [
            discord.SelectOption(
                label=value,
                value=value,
                description=t(locale, picker.descriptions[value]) if value in picker.descriptions else None,
                default=picker.allows(limits, value),
            )
            for value in picker.values
        ][:SELECT_MAX]
        super().__init__(
            custom_id=_custom_id(picker.key),
            placeholder=t(locale, picker.placeholder),
            min_values=1,
            max_values=len(options),
            options=options,
            row=row,
        )
        self.picker = picker

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).apply(interaction, self.picker.change(self.values))


class _ModlogSelect(discord.ui.ChannelSelect[LimitsPanel]):
    def __init__(self, limits: GuildLimits, locale: Locale, *, row: int) -> None:
        current = limits.modlog_channel_id
        super().__init__(
            custom_id=_custom_id("modlog"),
            channel_types=[discord.ChannelType.text, discord.ChannelType.news],
            placeholder=t(locale, MODLOG_PLACEHOLDER),
            min_values=0,
            max_values=1,
            default_values=[] if current is None else [discord.Object(current)],
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        panel = _panel(self)
        chosen = _channel_choice(self.values[0]) if self.values else None
        moderator = interaction.user.id

        async def check(update: LimitsUpdate) -> None:
            await panel.check_modlog(update, moderator)

        await panel.apply(interaction, lambda limits: set_modlog_channel(limits, chosen), check=check)


class _PresetSelect(discord.ui.Select[LimitsPanel]):
    def __init__(self, locale: Locale, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("preset"),
            placeholder=t(locale, PRESET_PLACEHOLDER),
            options=[
                discord.SelectOption(
                    label=t(locale, preset.name),
                    value=preset.key,
                    description=t(locale, preset.summary)[:OPTION_TEXT_MAX],
                )
                for preset in PRESETS
            ],
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        preset = preset_named(self.values[0])
        roles = moderator_role_ids(interaction.guild)
        panel = _panel(self)
        panel.page = Page.RULES
        await panel.apply(interaction, lambda limits: apply_preset(limits, preset, moderator_role_ids=roles))


class _ToggleButton(discord.ui.Button[LimitsPanel]):
    def __init__(self, option: str, on: bool, locale: Locale, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("toggle", option),
            label=t(locale, TOGGLE_LABELS[option, on]),
            style=discord.ButtonStyle.success if on else discord.ButtonStyle.secondary,
            row=row,
        )
        self.option = option

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).apply(interaction, toggle_change(self.option))


class _PageButton(discord.ui.Button[LimitsPanel]):
    def __init__(self, label: str, page: Page, locale: Locale, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("page", page.value),
            label=t(locale, label),
            style=discord.ButtonStyle.primary,
            row=row,
        )
        self.page = page

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).refresh(interaction, page=self.page)


class _RefreshButton(discord.ui.Button[LimitsPanel]):
    def __init__(self, locale: Locale, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("refresh"),
            label=t(locale, REFRESH),
            emoji="🔄",
            style=discord.ButtonStyle.secondary,
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).refresh(interaction)


class _FormButton(discord.ui.Button[LimitsPanel]):
    def __init__(self, form: PanelForm, locale: Locale, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("form", form.key),
            label=t(locale, form.button),
            style=discord.ButtonStyle.primary,
            row=row,
        )
        self.form = form

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        panel = _panel(self)
        await interaction.response.send_modal(SettingsForm(panel, self.form, opener_id=interaction.user.id))


class SettingsForm(discord.ui.Modal):
    """A form of `PanelForm` fields, pre-filled with the settings the panel shows, in the language
    of the moderator who opened it."""

    def __init__(self, panel: LimitsPanel, form: PanelForm, *, opener_id: int) -> None:
        # discord.py finds a submitted modal by its custom id alone: the opener and the panel in it
        # keep two moderators' forms apart.
        locale = panel.locale
        super().__init__(
            title=t(locale, form.title),
            custom_id=_custom_id("form", form.key, str(opener_id), f"{id(panel):x}"),
            timeout=PANEL_TIMEOUT,
        )
        self.panel = panel
        self.form = form
        self.opener_id = opener_id
        self.prefilled: dict[str, str] = {}
        self.inputs: dict[str, discord.ui.TextInput[Any]] = {}
        for form_field in form.available():
            text = option_text(panel.limits, form_field.option)
            self.prefilled[form_field.option] = text
            text_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
                label=t(locale, form_field.label),
                custom_id=form_field.option,
                default=text[: form_field.max_length],
                placeholder=t(locale, form_field.placeholder),
                required=False,
                max_length=form_field.max_length,
            )
            self.inputs[form_field.option] = text_input
            self.add_item(text_input)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.opener_id:
            await refuse(interaction, NOT_YOUR_FORM)
            return False
        return await self.panel.interaction_check(interaction)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        typed = {option: text_input.value for option, text_input in self.inputs.items()}
        change = self.form.change(self.prefilled, typed, self.panel.fallback_model, self.panel.budget)
        if change is None:
            await interaction.response.defer()
            self.panel.status = t(self.panel.locale, FORM_UNCHANGED)
            await self.panel.show(interaction)
            return
        await self.panel.apply(interaction, change)
