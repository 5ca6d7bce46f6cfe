"""`/defaults`: a member's own defaults and (moderators) the server's. Rules in
`bot.discord_app.saved_defaults`; the choices come from `bot.discord_app.video_choices`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.access import Refusal, is_moderator
from bot.discord_app.client import KlingBot
from bot.discord_app.i18n import N_, t
from bot.discord_app.replies import refuse
from bot.discord_app.saved_defaults import (
    CLEARED_MINE,
    CLEARED_SERVER,
    SAVED_MINE,
    SAVED_SERVER,
    Typed,
    describe,
    read_preferences,
    server_defaults_summary,
    show_text,
    with_server_defaults,
)
from bot.discord_app.video_choices import ASPECT_WORDS, MODE_WORDS, duration_offers, model_offers
from bot.jobs.defaults import server_preferences
from bot.jobs.inline_flags import resolve_model
from bot.quota.models import Preferences

Interaction = discord.Interaction[KlingBot]
_MODE_CHOICES = [app_commands.Choice(name=words, value=mode.value) for mode, words in MODE_WORDS.items()]
_ASPECT_CHOICES = [app_commands.Choice(name=words, value=a.value) for a, words in ASPECT_WORDS.items()]
_DESCRIBE = {
    "model": "Model to use when you don't pick one",
    "mode": "Mode to use when you don't pick one",
    "duration": "Length in seconds when you don't pick one",
    "aspect_ratio": "Frame shape when you don't pick one",
}
NOT_MODERATOR = N_("Only moderators (Manage Server) can change the server's defaults.")


def _guild_id(interaction: Interaction) -> int:
    assert interaction.guild_id is not None  # guild-only commands
    return interaction.guild_id


@app_commands.guild_only()
@app_commands.allowed_installs(guilds=True, users=False)
class DefaultsCog(commands.GroupCog, group_name="defaults", group_description="Your default video settings"):
    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot

    @app_commands.command(name="show", description="What you get when you leave a setting out")
    async def show(self, interaction: Interaction) -> None:
        store = self.bot.services.store
        guild_id = _guild_id(interaction)
        mine = await store.get_member_defaults(guild_id, interaction.user.id)
        server = server_preferences(await store.get_limits(guild_id))
        text = show_text(
            mine, server, fallback_model=self.bot.settings.DEFAULT_MODEL, locale=interaction.locale
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="set", description="Save your own defaults for this server")
    @app_commands.describe(**_DESCRIBE)
    @app_commands.choices(mode=_MODE_CHOICES, aspect_ratio=_ASPECT_CHOICES)
    async def set_mine(
        self,
        interaction: Interaction,
        model: str | None = None,
        mode: str | None = None,
        duration: app_commands.Range[int, 1, 15] | None = None,
        aspect_ratio: str | None = None,
    ) -> None:
        store = self.bot.services.store
        guild_id = _guild_id(interaction)
        limits = await store.get_limits(guild_id)
        current = await store.get_member_defaults(guild_id, interaction.user.id)
        fallback = current.model or limits.default_model or self.bot.settings.DEFAULT_MODEL
        try:
            typed = read_preferences(
                Typed(model, mode, duration, aspect_ratio), limits, fallback_model=fallback
            )
        except Refusal as exc:
            await refuse(interaction, exc.message_id, **exc.values)
            return
        saved = typed.over(current)
        await store.set_member_defaults(guild_id, interaction.user.id, saved)
        self.bot.services.video_service.forget_preferences(guild_id, interaction.user.id)
        text = t(interaction.locale, SAVED_MINE, what=describe(saved, interaction.locale))
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="clear", description="Forget your saved defaults in this server")
    async def clear_mine(self, interaction: Interaction) -> None:
        guild_id = _guild_id(interaction)
        await self.bot.services.store.set_member_defaults(guild_id, interaction.user.id, Preferences())
        self.bot.services.video_service.forget_preferences(guild_id, interaction.user.id)
        await interaction.response.send_message(t(interaction.locale, CLEARED_MINE), ephemeral=True)

    @app_commands.command(name="server", description="Moderators: the server's defaults for every member")
    @app_commands.describe(**_DESCRIBE, clear="Forget the server's defaults")
    @app_commands.choices(mode=_MODE_CHOICES, aspect_ratio=_ASPECT_CHOICES)
    async def set_server(
        self,
        interaction: Interaction,
        model: str | None = None,
        mode: str | None = None,
        duration: app_commands.Range[int, 1, 15] | None = None,
        aspect_ratio: str | None = None,
        clear: bool = False,
    ) -> None:
        if not is_moderator(interaction.permissions):
            await refuse(interaction, NOT_MODERATOR)
            return
        store = self.bot.services.store
        guild_id = _guild_id(interaction)
        limits = await store.get_limits(guild_id)
        if clear:
            await store.set_limits(guild_id, with_server_defaults(limits, Preferences()))
            self.bot.services.video_service.forget_preferences(guild_id)
            text = t(interaction.locale, CLEARED_SERVER, model=f"**{self.bot.settings.DEFAULT_MODEL.value}**")
            await interaction.response.send_message(text, ephemeral=True)
            return
        current = server_preferences(limits)
        fallback = current.model or self.bot.settings.DEFAULT_MODEL
        try:
            typed = read_preferences(
                Typed(model, mode, duration, aspect_ratio), limits, fallback_model=fallback
            )
        except Refusal as exc:
            await refuse(interaction, exc.message_id, **exc.values)
            return
        saved = typed.over(current)
        await store.set_limits(guild_id, with_server_defaults(limits, saved))
        self.bot.services.video_service.forget_preferences(guild_id)
        self.bot.services.modlog.limits_changed(
            guild_id, interaction.user.id, lambda locale: server_defaults_summary(saved, locale)
        )
        text = t(interaction.locale, SAVED_SERVER, what=describe(saved, interaction.locale))
        await interaction.response.send_message(text, ephemeral=True)

    @set_mine.autocomplete("model")
    @set_server.autocomplete("model")
    async def _models(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        limits = await self.bot.services.store.get_limits(_guild_id(interaction))
        offers = model_offers(limits, self.bot.costs, current, locale=interaction.locale)
        return [app_commands.Choice(name=o.name, value=str(o.value)) for o in offers]

    @set_mine.autocomplete("duration")
    @set_server.autocomplete("duration")
    async def _durations(
        self, interaction: Interaction, current: int | str
    ) -> list[app_commands.Choice[int]]:
        limits = await self.bot.services.store.get_limits(_guild_id(interaction))
        typed = interaction.namespace.model
        model = (resolve_model(str(typed)) if typed else None) or self.bot.settings.DEFAULT_MODEL
        return [
            app_commands.Choice(name=o.name, value=int(o.value))
            for o in duration_offers(limits, model, None, interaction.locale)
        ]


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(DefaultsCog(bot))
