"""`/quota`, `/history` and `/usage`: what members have left and made, and what the server spent."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.access import is_moderator, moderator_only
from bot.discord_app.history_pages import (
    NEXT,
    NOT_YOUR_PAGES,
    PAGE_SIZE,
    PREVIOUS,
    RERUN_NUMBER,
    HistoryPage,
    HistoryQuery,
    HistoryStatus,
    clamp_page,
    history_page,
    history_query,
)
from bot.discord_app.i18n import t
from bot.discord_app.job_links import JobPlaces
from bot.discord_app.launch import requester_from
from bot.discord_app.quota_report import quota_embed, quota_status
from bot.discord_app.replies import refuse
from bot.discord_app.usage_report import (
    CHART_FILENAME,
    CSV_CUT,
    MAX_DAYS,
    csv_filename,
    day_totals,
    projection_text,
    usage_csv,
    usage_embed,
    usage_since,
)
from bot.discord_app.views import JobAction, custom_id
from bot.quota.periods import day_start, local_date, next_resets, period_keys
from bot.quota.spending import spending_window, window_start
from bot.storage.base import Store

if TYPE_CHECKING:
    from bot.discord_app.client import KlingBot

    Interaction = discord.Interaction[KlingBot]

#: Most jobs one CSV export lists (a year of a very busy server stays far below Discord's upload limit).
CSV_MAX_JOBS = 20_000

#: How long the page buttons of a /history reply keep working after the last click.
HISTORY_VIEW_TIMEOUT = 600.0


class HistoryView(discord.ui.View):
    """Previous / Next for the invoker, and one Rerun button per listed job.

    The Rerun buttons carry `kling:rerun:<job id>`, so `cogs/buttons.py`'s dynamic item handles
    them (also after this view has timed out); their callback here does nothing.
    """

    def __init__(
        self,
        store: Store,
        query: HistoryQuery,
        *,
        timeout: float = HISTORY_VIEW_TIMEOUT,
        locale: discord.Locale | str | None = None,
        places: JobPlaces | None = None,
    ) -> None:
        super().__init__(timeout=timeout)
        self.store = store
        self.query = query
        #: The language of whoever ran /history: the pages and buttons stay in it.
        self.locale = locale
        #: Tells the jobs started from a DM from the server's, for their links (None: all server's).
        self.places = places
        self.page = 0
        self.total = 0
        # Keyset cursors: page number -> id of the last job shown on the page before it. Turning
        # to a page whose cursor is known reads only that page's index entries, however deep.
        self._after: dict[int, str] = {}
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None

    async def load(self, page: int) -> HistoryPage:
        """Read page `page` (clamped to the pages that exist) and lay out the buttons for it."""
        query = self.query
        self.total = await self.store.count_history(
            query.guild_id, member_id=query.member_id, states=query.states
        )
        self.page = clamp_page(page, self.total)
        after = self._after.get(self.page) if self.page > 0 else None
        if after is not None:
            jobs = await self.store.history(
                query.guild_id,
                member_id=query.member_id,
                states=query.states,
                limit=PAGE_SIZE,
                offset=0,
                after=after,
            )
        else:
            jobs = await self.store.history(
                query.guild_id,
                member_id=query.member_id,
                states=query.states,
                limit=PAGE_SIZE,
                offset=self.page * PAGE_SIZE,
            )
        if jobs:
            self._after[self.page + 1] = jobs[-1].id
        parents = await self.store.story_parents([job.id for job in jobs])
        dm_jobs = await self.places.in_dm(jobs) if self.places is not None else frozenset()
        shown = history_page(
            query,
            jobs,
            page=self.page,
            total=self.total,
            story_parents=parents,
            locale=self.locale,
            dm_jobs=dm_jobs,
        )
        self._lay_out(shown)
        return shown

    def _lay_out(self, shown: HistoryPage) -> None:
        self.clear_items()
        for entry in shown.entries:
            self.add_item(
                discord.ui.Button(
                    label=t(self.locale, RERUN_NUMBER, number=entry.number),
                    emoji="🔁",
                    custom_id=custom_id(JobAction.RERUN, entry.job_id),
                    row=0,
                )
            )
        if shown.pages > 1:
            self.add_item(_PageButton(t(self.locale, PREVIOUS), -1, disabled=shown.page == 0))
            self.add_item(_PageButton(t(self.locale, NEXT), +1, disabled=shown.page >= shown.pages - 1))

    async def turn(self, interaction: discord.Interaction[Any], step: int) -> None:
        if interaction.user.id != self.query.invoker_id:
            await refuse(interaction, NOT_YOUR_PAGES)
            return
        await interaction.response.defer()
        shown = await self.load(self.page + step)
        await interaction.edit_original_response(embed=shown.embed, view=self)

    async def on_timeout(self) -> None:
        # Page buttons stop working now; Rerun buttons keep working, so they stay.
        for item in list(self.children):
            if isinstance(item, _PageButton):
                self.remove_item(item)
        if self.message is not None:
            # Best effort: the interaction token may have expired after a long browse.
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)


class _PageButton(discord.ui.Button[HistoryView]):
    def __init__(self, label: str, step: int, *, disabled: bool) -> None:
        super().__init__(label=label, style=discord.ButtonStyle.secondary, disabled=disabled, row=1)
        self.step = step

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        assert self.view is not None
        await self.view.turn(interaction, self.step)


def _guild_id(interaction: Interaction) -> int:
    # Every command here is guild-only, so Discord never sends one without a guild.
    assert interaction.guild_id is not None
    return interaction.guild_id


class MembersCog(commands.Cog):
    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot

    @app_commands.command(name="quota", description="How many videos you and this server have left")
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    async def quota(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild_id(interaction)
        limits = await self.bot.services.store.get_limits(guild_id)
        now = time.time()
        day_key, month_key = period_keys(now, limits.timezone)
        global_day, global_month = period_keys(now, "UTC")
        usage = await self.bot.services.store.usage_snapshot(
            guild_id,
            interaction.user.id,
            day_key,
            month_key,
            global_day_key=global_day,
            global_month_key=global_month,
        )
        status = quota_status(
            limits,
            usage,
            member_role_ids=requester_from(interaction).role_ids,
            now=now,
            resets=next_resets(now, limits.timezone),
            budget=self.bot.services.video_service.budget,
            global_resets=next_resets(now, "UTC"),
        )
        await interaction.followup.send(embed=quota_embed(status, interaction.locale), ephemeral=True)

    @app_commands.command(name="history", description="Your videos on this server, newest first")
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.describe(
        status="Only videos with this status",
        member="Moderators: whose videos to show",
        everyone="Moderators: show every member's videos",
    )
    @app_commands.choices(status=[app_commands.Choice(name=s.value, value=s.value) for s in HistoryStatus])
    async def history(
        self,
        interaction: Interaction,
        status: str | None = None,
        member: discord.User | None = None,
        everyone: bool = False,
    ) -> None:
        query = history_query(
            guild_id=_guild_id(interaction),
            invoker_id=interaction.user.id,
            invoker_is_moderator=is_moderator(interaction.permissions),
            member_id=member.id if member else None,
            status=HistoryStatus(status) if status else None,
            everyone=everyone,
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        view = HistoryView(
            self.bot.services.store, query, locale=interaction.locale, places=JobPlaces(self.bot)
        )
        shown = await view.load(0)
        view.message = await interaction.followup.send(
            embed=shown.embed, view=view, ephemeral=True, wait=True
        )

    @app_commands.command(
        name="usage", description="Videos, credits and failures on this server (moderators)"
    )
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only
    @app_commands.describe(
        days="How many days back to count (default 30)",
        csv="Attach every job of the period as a CSV file",
    )
    async def usage(
        self,
        interaction: Interaction,
        days: app_commands.Range[int, 1, MAX_DAYS] = 30,
        csv: bool = False,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        store = self.bot.services.store
        guild_id = _guild_id(interaction)
        limits = await store.get_limits(guild_id)
        now = time.time()
        since = usage_since(now, days)
        report = await store.usage_report(guild_id, since)
        today = local_date(now, limits.timezone)
        first_day = window_start(today, days)
        # From the ledger's per-day rows (keyed by the server's day), not a scan of the window's jobs.
        per_day = await store.daily_usage(
            guild_id, day_start(first_day, limits.timezone), first_day=first_day.isoformat()
        )
        window = spending_window(
            day_totals(per_day),
            today=today,
            days=days,
            unit=limits.unit,
            daily_limit=limits.guild_daily,
            monthly_limit=limits.guild_monthly,
        )
        # matplotlib costs about 50 MB when imported: only once someone asks for a chart, not at start
        # (issue 16's memory goal counts the idle bot too).
        from bot.discord_app.usage_chart import render_usage_chart

        # Drawing takes a few hundred milliseconds of CPU: off the event loop.
        chart = await asyncio.to_thread(render_usage_chart, window, locale=interaction.locale)
        files = [discord.File(io.BytesIO(chart), filename=CHART_FILENAME)]
        note = ""
        if csv:
            jobs = await store.jobs_since(guild_id, since, limit=CSV_MAX_JOBS)
            if len(jobs) >= CSV_MAX_JOBS:
                note = t(interaction.locale, CSV_CUT, count=CSV_MAX_JOBS)
            name = csv_filename(guild_id, days, today.isoformat())
            links = await JobPlaces(self.bot).links(jobs)
            files.append(discord.File(io.BytesIO(usage_csv(jobs, links)), filename=name))
        projection = projection_text(window.projection, limits.unit, interaction.locale)
        embed = usage_embed(report, days=days, projection=projection, chart=True, locale=interaction.locale)
        await interaction.followup.send(note, embed=embed, files=files, ephemeral=True)


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(MembersCog(bot))
