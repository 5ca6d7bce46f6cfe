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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.access import Refusal, is_moderator
from bot.discord_app.limit_presets import PRESETS, apply_preset, preset_named
from bot.discord_app.limit_settings import (
    MESSAGE_CHANNEL_TYPES,
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

STALE = (
    "⚠️ Someone changed these settings since this panel showed them, so nothing was saved. "
    "The panel now shows the current settings; make your change again if you still want it."
)
NOT_A_MODERATOR = (
    "Only members with **Manage Server** can change these settings (this panel was opened by <@{opener}>). "
    "Nothing changed."
)
FIRST_RUN = (
    "👋 This server has no video settings yet. Pick a preset to start from (everything can be changed "
    "afterwards), or start from scratch."
)


class Page(StrEnum):
    SETUP = "setup"
    RULES = "rules"
    MORE = "more"


# --- the forms, declared --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormField:
    """One text field of a form: `option` is the `/limits set` option (a `LimitsForm` field)."""

    option: str
    label: str  # at most 45 characters
    placeholder: str = "a number, or none for no limit"
    max_length: int = 20


#: Applies a form's fields that are not `/limits set` options: (settings, typed texts of those fields,
#: the bot's default model) -> the change.
CustomApply = Callable[[GuildLimits, dict[str, str], Model], LimitsUpdate]


@dataclass(frozen=True, slots=True)
class PanelForm:
    key: str
    button: str
    title: str  # at most 45 characters
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
            if form != LimitsForm():
                first = apply_form(limits, form, budget=budget)
                after, notes = first.limits, list(first.notes)
            if custom_edited and apply_custom is not None:
                second = apply_custom(after, custom, fallback_model)
                after, notes = second.limits, [*notes, *second.notes]
            return LimitsUpdate(after, describe_changes(limits, after), tuple(notes))

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
        raise Refusal(
            f"Nothing was changed. **default_duration**: {(duration_text or '')[:20]!r} isn't a whole "
            "number of seconds; type one like 5, or none."
        ) from None
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
    return LimitsUpdate(after, describe_changes(limits, after))


FORMS: tuple[PanelForm, ...] = (
    PanelForm(
        "budget",
        "Budget…",
        "Budget",
        (
            FormField("unit", "Limits count videos or credits", "videos or credits", 10),
            FormField("guild_daily", "Server per day"),
            FormField("guild_monthly", "Server per month"),
            FormField("member_daily", "Each member per day"),
            FormField("member_monthly", "Each member per month"),
        ),
    ),
    PanelForm(
        "pace",
        "Pace & time…",
        "Pace and time zone",
        (
            FormField("member_concurrent", "Videos in progress per member"),
            FormField("member_cooldown", "Wait between a member's videos", "30s, 5m, 1h30m, or 0"),
            FormField("guild_concurrent", "Videos rendering at once (more wait)"),
            FormField("max_duration", "Longest video in seconds"),
            FormField("timezone", "Time zone for resets", "e.g. Europe/Paris or UTC", 60),
        ),
    ),
    PanelForm(
        "defaults",
        "Defaults…",
        "Confirmation and server defaults",
        (
            FormField("confirm_above_credits", "Ask members to confirm above (credits)"),
            FormField("default_model", "Default model", "e.g. kling-v2-6, or none", 40),
            FormField("default_mode", "Default mode", "std, pro or 4k, or none", 10),
            FormField("default_duration", "Default duration in seconds", "e.g. 5, or none", 10),
            FormField("default_aspect_ratio", "Default aspect ratio", "16:9, 9:16 or 1:1, or none", 10),
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


def models_change(values: Sequence[str]) -> Callable[[GuildLimits], LimitsUpdate]:
    chosen = set(values)
    text = "all" if chosen >= {model.value for model in Model} else ", ".join(sorted(chosen))
    return lambda limits: apply_form(limits, LimitsForm(allowed_models=text or "none"))


def modes_change(values: Sequence[str]) -> Callable[[GuildLimits], LimitsUpdate]:
    chosen = set(values)
    text = "all" if chosen >= {mode.value for mode in Mode} else ", ".join(sorted(chosen))
    return lambda limits: apply_form(limits, LimitsForm(allowed_modes=text or "none"))


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
        self.limits = current.limits
        self.version = current.version
        self.page = Page.SETUP if current.first_run else Page.RULES
        self.status = FIRST_RUN if current.first_run else ""
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None
        self.lay_out()

    # --- showing ---------------------------------------------------------------------------------
    def embed(self) -> discord.Embed:
        embed = limits_embed(self.limits, title="Video settings of this server", budget=self.budget)
        embed.set_footer(text="Changes save at once and are posted to the mod-log. Only you see this panel.")
        return embed

    def lay_out(self) -> None:
        self.clear_items()
        limits = self.limits
        if self.page is Page.SETUP:
            self.add_item(_PresetSelect(row=0))
            self.add_item(_PageButton("Start from scratch", Page.RULES, row=1))
            self.add_item(_RefreshButton(row=1))
        elif self.page is Page.RULES:
            self.add_item(_ChannelsSelect(limits, row=0))
            self.add_item(_ExemptRolesSelect(limits, row=1))
            self.add_item(_ModelsSelect(limits, row=2))
            self.add_item(_ModesSelect(limits, row=3))
            for form in available_forms()[:3]:
                self.add_item(_FormButton(form, row=4))
            self.add_item(_PageButton("More ▸", Page.MORE, row=4))
            self.add_item(_RefreshButton(row=4))
        else:
            self.add_item(_ModlogSelect(limits, row=0))
            self.add_item(_PresetSelect(row=1))
            self.add_item(_ToggleButton("allow_audio", "Sound", limits.allow_audio, row=2))
            self.add_item(_ToggleButton("allow_4k", "4K", limits.allow_4k, row=2))
            self.add_item(_PageButton("◂ Back", Page.RULES, row=2))
            self.add_item(_RefreshButton(row=2))

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
            await refuse(interaction, "This panel belongs to another server; nothing changed.")
            return False
        if is_moderator(interaction.permissions):
            return True
        await refuse(interaction, NOT_A_MODERATOR.format(opener=self.opener_id))
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
            return STALE
        try:
            update = change(current.limits)
            if update.changed and check is not None:
                await check(update)
        except MemberRefusal as exc:
            return _refusal_text(str(exc))
        if not update.changed:
            return "Nothing changed: those were already the settings."
        version = await self.store.set_limits_if_version(self.guild_id, update.limits, current.version)
        if version is None:  # saved by someone else between the read and the write
            self.adopt(await self.store.get_versioned_limits(self.guild_id))
            return STALE
        self.adopt(VersionedLimits(update.limits, version))
        self.modlog.limits_changed(self.guild_id, moderator_id, update.summary())
        return update_text(update)

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
                await self.message.edit(
                    content="This panel has closed; run `/limits panel` again to change settings.", view=None
                )


def _refusal_text(text: str) -> str:
    return f"❌ {text}" if "othing" in text else f"❌ {text} Nothing changed."


def _panel(item: discord.ui.Item[Any]) -> LimitsPanel:
    view = item.view
    assert isinstance(view, LimitsPanel)
    return view


def _custom_id(*parts: str) -> str:
    return ":".join((CUSTOM_ID_PREFIX, *parts))


# --- components -----------------------------------------------------------------------------------


class _ChannelsSelect(discord.ui.ChannelSelect[LimitsPanel]):
    def __init__(self, limits: GuildLimits, *, row: int) -> None:
        listed = sorted(limits.allowed_channels)
        too_many = len(listed) > SELECT_MAX
        super().__init__(
            custom_id=_custom_id("channels"),
            channel_types=sorted(MESSAGE_CHANNEL_TYPES, key=lambda kind: kind.value),
            placeholder=(
                "Over 25 channels listed: use /limits channels"
                if too_many
                else "Channels for /video (none picked: any channel)"
            ),
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
    def __init__(self, limits: GuildLimits, *, row: int) -> None:
        roles = sorted(limits.exempt_roles)
        too_many = len(roles) > SELECT_MAX
        super().__init__(
            custom_id=_custom_id("exempt_roles"),
            placeholder=(
                "Over 25 exempt roles: use /limits roles"
                if too_many
                else "Exempt roles: skip the member limits (none picked)"
            ),
            min_values=0,
            max_values=SELECT_MAX,
            default_values=[] if too_many else [discord.Object(role) for role in roles],
            disabled=too_many,
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        ids = [int(role.id) for role in self.values]
        await _panel(self).apply(interaction, lambda limits: set_exempt_roles(limits, ids))


class _ModelsSelect(discord.ui.Select[LimitsPanel]):
    def __init__(self, limits: GuildLimits, *, row: int) -> None:
        allowed = limits.allowed_models
        options = [
            discord.SelectOption(
                label=model.value, value=model.value, default=allowed is None or model in allowed
            )
            for model in Model
        ][:SELECT_MAX]
        super().__init__(
            custom_id=_custom_id("models"),
            placeholder="Models members may use",
            min_values=1,
            max_values=len(options),
            options=options,
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).apply(interaction, models_change(self.values))


class _ModesSelect(discord.ui.Select[LimitsPanel]):
    def __init__(self, limits: GuildLimits, *, row: int) -> None:
        allowed = limits.allowed_modes
        descriptions = {Mode.K4: "Also needs 4K switched on (More ▸)"}
        options = [
            discord.SelectOption(
                label=mode.value,
                value=mode.value,
                description=descriptions.get(mode),
                default=allowed is None or mode in allowed,
            )
            for mode in Mode
        ]
        super().__init__(
            custom_id=_custom_id("modes"),
            placeholder="Modes members may use",
            min_values=1,
            max_values=len(options),
            options=options,
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).apply(interaction, modes_change(self.values))


class _ModlogSelect(discord.ui.ChannelSelect[LimitsPanel]):
    def __init__(self, limits: GuildLimits, *, row: int) -> None:
        current = limits.modlog_channel_id
        super().__init__(
            custom_id=_custom_id("modlog"),
            channel_types=[discord.ChannelType.text, discord.ChannelType.news],
            placeholder="Mod-log channel (none picked: no mod-log)",
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
    def __init__(self, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("preset"),
            placeholder="Start from a preset…",
            options=[
                discord.SelectOption(label=preset.name, value=preset.key, description=preset.summary[:100])
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
    def __init__(self, option: str, label: str, on: bool, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("toggle", option),
            label=f"{label}: {'allowed' if on else 'off'}",
            style=discord.ButtonStyle.success if on else discord.ButtonStyle.secondary,
            row=row,
        )
        self.option = option

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).apply(interaction, toggle_change(self.option))


class _PageButton(discord.ui.Button[LimitsPanel]):
    def __init__(self, label: str, page: Page, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("page", page.value), label=label, style=discord.ButtonStyle.primary, row=row
        )
        self.page = page

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).refresh(interaction, page=self.page)


class _RefreshButton(discord.ui.Button[LimitsPanel]):
    def __init__(self, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("refresh"),
            label="Refresh",
            emoji="🔄",
            style=discord.ButtonStyle.secondary,
            row=row,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _panel(self).refresh(interaction)


class _FormButton(discord.ui.Button[LimitsPanel]):
    def __init__(self, form: PanelForm, *, row: int) -> None:
        super().__init__(
            custom_id=_custom_id("form", form.key),
            label=form.button,
            style=discord.ButtonStyle.primary,
            row=row,
        )
        self.form = form

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        panel = _panel(self)
        await interaction.response.send_modal(SettingsForm(panel, self.form, opener_id=interaction.user.id))


class SettingsForm(discord.ui.Modal):
    """A form of `PanelForm` fields, pre-filled with the settings the panel shows."""

    def __init__(self, panel: LimitsPanel, form: PanelForm, *, opener_id: int) -> None:
        # discord.py finds a submitted modal by its custom id alone: the opener and the panel in it
        # keep two moderators' forms apart.
        super().__init__(
            title=form.title,
            custom_id=_custom_id("form", form.key, str(opener_id), f"{id(panel):x}"),
            timeout=PANEL_TIMEOUT,
        )
        self.panel = panel
        self.form = form
        self.opener_id = opener_id
        self.prefilled: dict[str, str] = {}
        self.inputs: dict[str, discord.ui.TextInput[Any]] = {}
        for field in form.available():
            text = option_text(panel.limits, field.option)
            self.prefilled[field.option] = text
            text_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
                label=field.label,
                custom_id=field.option,
                default=text[: field.max_length],
                placeholder=field.placeholder,
                required=False,
                max_length=field.max_length,
            )
            self.inputs[field.option] = text_input
            self.add_item(text_input)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.opener_id:
            await refuse(interaction, "This form belongs to the moderator who opened it; nothing changed.")
            return False
        return await self.panel.interaction_check(interaction)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        typed = {option: text_input.value for option, text_input in self.inputs.items()}
        change = self.form.change(self.prefilled, typed, self.panel.fallback_model, self.panel.budget)
        if change is None:
            await interaction.response.defer()
            self.panel.status = "Nothing changed: the form was sent as it was."
            await self.panel.show(interaction)
            return
        await self.panel.apply(interaction, change)
