"""`/limits …`: moderators read and change the server's video limits. The rules live in bot/admin."""

from __future__ import annotations

import asyncio
import functools
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.access import Refusal, moderator_only
from bot.discord_app.i18n import t
from bot.discord_app.limit_settings import (
    NOTHING_CHANGED,
    RESET_DONE,
    ChannelChoice,
    LimitsForm,
    LimitsUpdate,
    add_blocked_words,
    add_channel,
    apply_form,
    blocked_words_text,
    clear_channels,
    limits_embed,
    remove_blocked_words,
    remove_channel,
    remove_role_cap,
    reset_summary,
    set_modlog_channel,
    set_role_cap,
    set_role_exempt,
    update_text,
)
from bot.discord_app.limits_panel import LimitsPanel
from bot.kling.models import Model
from bot.quota.models import GuildLimits, LimitUnit, OperatorBudget

if TYPE_CHECKING:
    from bot.discord_app.client import KlingBot

    Interaction = discord.Interaction[KlingBot]
_NUMBER = app_commands.Range[str, 1, 20]
_LIST = app_commands.Range[str, 1, 300]


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() | {"UTC"}))


def _choice(channel: app_commands.AppCommandChannel | None) -> ChannelChoice | None:
    return None if channel is None else ChannelChoice(channel.id, channel.type)


def _guild_id(interaction: Interaction) -> int:
    # Every command here is guild-only, so Discord never sends one without a guild.
    assert interaction.guild_id is not None
    return interaction.guild_id


@app_commands.guild_only()
@app_commands.allowed_installs(guilds=True, users=False)
@app_commands.default_permissions(manage_guild=True)
class LimitsCog(commands.GroupCog, group_name="limits", group_description="Video limits of this server"):
    roles = app_commands.Group(name="roles", description="Roles with their own caps or no member limits")
    channels = app_commands.Group(name="channels", description="Channels where /video may be used")
    words = app_commands.Group(name="words", description="Words not allowed in prompts")

    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot
        # Read-modify-write of one server's limits: two moderators at once must not undo each other.
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def _change(self, interaction: Interaction, change: Callable[[GuildLimits], LimitsUpdate]) -> None:
        """Apply `change` to the stored limits, store them, tell the mod-log and the moderator."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild_id(interaction)
        async with self._locks[guild_id]:
            before = await self.bot.services.store.get_limits(guild_id)
            update = change(before)
            new_modlog = update.limits.modlog_channel_id
            if new_modlog is not None and new_modlog != before.modlog_channel_id:
                # A mod-log the bot can't post in would stay silent: refuse it now, nothing saved.
                problem = await self.bot.services.modlog.probe(guild_id, new_modlog, interaction.user.id)
                if problem:
                    raise Refusal.of(problem)
            if update.changed:
                await self.bot.services.store.set_limits(guild_id, update.limits)
        if not update.changed:
            text = t(interaction.locale, NOTHING_CHANGED)
        else:
            self.bot.services.modlog.limits_changed(guild_id, interaction.user.id, update.summary)
            text = update_text(update, interaction.locale)
        embed = limits_embed(update.limits, budget=self._budget, locale=interaction.locale)
        await interaction.followup.send(text, embed=embed, ephemeral=True)

    @property
    def _budget(self) -> OperatorBudget:
        return self.bot.services.video_service.budget

    # --- show / set / reset ---------------------------------------------------------------------

    @app_commands.command(name="show", description="Show this server's video limits")
    @moderator_only
    async def show(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        limits = await self.bot.services.store.get_limits(_guild_id(interaction))
        embed = limits_embed(limits, budget=self._budget, locale=interaction.locale)
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(
        name="panel", description="Change this server's video settings with menus and forms"
    )
    @moderator_only
    async def panel(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild_id(interaction)
        services = self.bot.services
        view = LimitsPanel(
            store=services.store,
            modlog=services.modlog,
            lock=self._locks[guild_id],
            guild_id=guild_id,
            opener_id=interaction.user.id,
            current=await services.store.get_versioned_limits(guild_id),
            fallback_model=services.settings.DEFAULT_MODEL,
            budget=self._budget,
            locale=interaction.locale,
        )
        view.message = await interaction.followup.send(**view.parts(), ephemeral=True, wait=True)

    @app_commands.command(name="set", description="Change video limits (type none or off to remove a limit)")
    @moderator_only
    @app_commands.describe(
        unit="Whether limits count videos or AceData credits",
        guild_daily="Videos (or credits) the whole server may use per day, or none",
        guild_monthly="Videos (or credits) the whole server may use per month, or none",
        member_daily="Videos (or credits) each member may use per day, or none",
        member_monthly="Videos (or credits) each member may use per month, or none",
        member_concurrent="Videos one member may have in progress at once, or none",
        member_cooldown="Wait between a member's videos: 30s, 10m, 1h30m, or 0",
        guild_concurrent="Videos rendering at once on the server; more wait in a queue. Or none",
        allowed_models="Models members may use, separated by commas, or all",
        allowed_modes="Modes members may use (std, pro, 4k), separated by commas, or all",
        max_duration="Longest video in seconds, or none",
        allow_audio="Allow generated sound",
        allow_4k="Allow 4K videos",
        modlog_channel="Channel where limit changes and jobs are logged (/limits modlog turns it off)",
        timezone="Time zone for daily and monthly resets, e.g. Europe/Paris or UTC",
        confirm_above_credits="Ask members to confirm videos estimated above this many credits, or none",
    )
    @app_commands.choices(unit=[app_commands.Choice(name=unit.value, value=unit.value) for unit in LimitUnit])
    async def set_limits(
        self,
        interaction: Interaction,
        unit: str | None = None,
        guild_daily: _NUMBER | None = None,
        guild_monthly: _NUMBER | None = None,
        member_daily: _NUMBER | None = None,
        member_monthly: _NUMBER | None = None,
        member_concurrent: _NUMBER | None = None,
        member_cooldown: _NUMBER | None = None,
        guild_concurrent: _NUMBER | None = None,
        allowed_models: _LIST | None = None,
        allowed_modes: _LIST | None = None,
        max_duration: _NUMBER | None = None,
        allow_audio: bool | None = None,
        allow_4k: bool | None = None,
        modlog_channel: app_commands.AppCommandChannel | None = None,
        timezone: app_commands.Range[str, 1, 60] | None = None,
        confirm_above_credits: _NUMBER | None = None,
    ) -> None:
        form = LimitsForm(
            unit=unit,
            guild_daily=guild_daily,
            guild_monthly=guild_monthly,
            member_daily=member_daily,
            member_monthly=member_monthly,
            member_concurrent=member_concurrent,
            member_cooldown=member_cooldown,
            guild_concurrent=guild_concurrent,
            allowed_models=allowed_models,
            allowed_modes=allowed_modes,
            max_duration=max_duration,
            allow_audio=allow_audio,
            allow_4k=allow_4k,
            modlog_channel=_choice(modlog_channel),
            timezone=timezone,
            confirm_above_credits=confirm_above_credits,
        )
        await self._change(interaction, lambda limits: apply_form(limits, form, budget=self._budget))

    @set_limits.autocomplete("timezone")
    async def _timezone_choices(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().casefold()
        names = [name for name in _zone_names() if typed in name.casefold()][:25]
        return [app_commands.Choice(name=name, value=name) for name in names]

    @set_limits.autocomplete("allowed_models")
    async def _model_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        # Completes the last name of a comma list: typing "kling-v3, v1" offers "kling-v3, kling-v1".
        done, _, typed = current.rpartition(",")
        prefix = f"{done}, " if done else ""
        chosen = {part.strip().lower() for part in done.split(",")}
        names = ["all"] if not done else []
        names += [model.value for model in Model if model.value not in chosen]
        matches = [name for name in names if typed.strip().lower() in name]
        return [app_commands.Choice(name=(prefix + n)[:100], value=(prefix + n)[:100]) for n in matches][:25]

    @app_commands.command(name="modlog", description="Set the mod-log channel, or leave empty to turn it off")
    @moderator_only
    @app_commands.describe(channel="Where to log limit changes and jobs; leave empty to stop logging")
    async def modlog(
        self, interaction: Interaction, channel: app_commands.AppCommandChannel | None = None
    ) -> None:
        chosen = _choice(channel)
        await self._change(interaction, lambda limits: set_modlog_channel(limits, chosen))

    @app_commands.command(
        name="reset-member", description="Give one member their daily and monthly allowance back"
    )
    @moderator_only
    @app_commands.describe(member="Whose usage to reset (their earlier videos stop counting for them)")
    async def reset_member(self, interaction: Interaction, member: discord.User) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild_id(interaction)
        await self.bot.services.store.reset_member_usage(guild_id, member.id, time.time())
        self.bot.services.modlog.limits_changed(
            guild_id, interaction.user.id, functools.partial(reset_summary, member.id)
        )
        await interaction.followup.send(
            t(interaction.locale, RESET_DONE, member=member.mention),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # --- roles ---------------------------------------------------------------------------------

    @roles.command(name="cap", description="Give a role its own daily or monthly allowance")
    @moderator_only
    @app_commands.describe(
        role="The role",
        daily="Per day for members with this role, or default (the server's member limit)",
        monthly="Per month for members with this role, or default (the server's member limit)",
    )
    async def role_cap(
        self,
        interaction: Interaction,
        role: discord.Role,
        daily: _NUMBER | None = None,
        monthly: _NUMBER | None = None,
    ) -> None:
        await self._change(
            interaction, lambda limits: set_role_cap(limits, role.id, daily=daily, monthly=monthly)
        )

    @roles.command(name="uncap", description="Remove a role's own allowance")
    @moderator_only
    @app_commands.describe(role="The role whose own daily and monthly allowance to remove")
    async def role_uncap(self, interaction: Interaction, role: discord.Role) -> None:
        await self._change(interaction, lambda limits: remove_role_cap(limits, role.id))

    @roles.command(name="exempt", description="Let a role skip the member limits (not the server's)")
    @moderator_only
    @app_commands.describe(role="The role", exempt="True to exempt the role, False to end the exemption")
    async def role_exempt(self, interaction: Interaction, role: discord.Role, exempt: bool = True) -> None:
        await self._change(interaction, lambda limits: set_role_exempt(limits, role.id, exempt=exempt))

    # --- channels ------------------------------------------------------------------------------

    @channels.command(
        name="add", description="Allow /video in a channel (then only listed channels allow it)"
    )
    @moderator_only
    @app_commands.describe(channel="A channel where members may make videos")
    async def channel_add(self, interaction: Interaction, channel: app_commands.AppCommandChannel) -> None:
        await self._change(
            interaction, lambda limits: add_channel(limits, ChannelChoice(channel.id, channel.type))
        )

    @channels.command(name="remove", description="Stop allowing /video in a channel")
    @moderator_only
    @app_commands.describe(channel="A listed channel")
    async def channel_remove(self, interaction: Interaction, channel: app_commands.AppCommandChannel) -> None:
        await self._change(interaction, lambda limits: remove_channel(limits, channel.id))

    @channels.command(name="clear", description="Allow /video in every channel again")
    @moderator_only
    async def channel_clear(self, interaction: Interaction) -> None:
        await self._change(interaction, clear_channels)

    # --- blocked words -------------------------------------------------------------------------

    @words.command(name="add", description="Block words or phrases in prompts (separate them with commas)")
    @moderator_only
    @app_commands.describe(words="Words or phrases, separated by commas")
    async def words_add(self, interaction: Interaction, words: app_commands.Range[str, 1, 1000]) -> None:
        await self._change(interaction, lambda limits: add_blocked_words(limits, words))

    @words.command(name="remove", description="Unblock words or phrases (separate them with commas)")
    @moderator_only
    @app_commands.describe(words="Words or phrases, separated by commas")
    async def words_remove(self, interaction: Interaction, words: app_commands.Range[str, 1, 1000]) -> None:
        await self._change(interaction, lambda limits: remove_blocked_words(limits, words))

    @words.command(name="list", description="Show the blocked words (only to you)")
    @moderator_only
    async def words_list(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        limits = await self.bot.services.store.get_limits(_guild_id(interaction))
        await interaction.followup.send(blocked_words_text(limits, interaction.locale), ephemeral=True)


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(LimitsCog(bot))
