"""Rerun, Remix, Extend, Delete and Cancel on job messages, working across restarts.

The buttons are dynamic items: discord.py matches a click's custom id against the template, so no
view has to be re-registered per message after a restart.
"""

from __future__ import annotations

import re
from typing import Any

import discord
from discord.ext import commands

from bot.discord_app.client import KlingBot
from bot.discord_app.error_handler import reply_to_error
from bot.discord_app.launch import launch, refuse_outside_allowed_servers
from bot.discord_app.replies import refuse
from bot.discord_app.views import CUSTOM_ID_PATTERN, JobAction, custom_id
from bot.jobs.orders import extend_order, order_from_request
from bot.kling.capabilities import supports_extend
from bot.storage.base import Job, JobState


def _can_manage(interaction: discord.Interaction[Any], job: Job) -> bool:
    permissions = interaction.permissions
    return interaction.user.id == job.member_id or permissions.manage_messages or permissions.manage_guild


class RemixModal(discord.ui.Modal, title="Remix this video"):
    prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
        label="Prompt", style=discord.TextStyle.paragraph, max_length=2500
    )

    def __init__(self, job: Job) -> None:
        super().__init__(custom_id=f"kling-remix-modal:{job.id}")
        self.job = job
        self.prompt.default = (job.request.prompt or "")[:2500]

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        order = order_from_request(self.job.request, prompt=self.prompt.value)
        try:
            await launch(interaction.client.services, interaction, order, parent_job_id=self.job.id)
        except Exception as exc:
            await reply_to_error(interaction, exc)


class JobButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID_PATTERN):
    def __init__(self, action: JobAction, job_id: str) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id(action, job_id)))
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> JobButton:
        return cls(JobAction(match["action"]), match["job_id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        # A dynamic item's errors would otherwise go to a throw-away view that only logs them.
        try:
            await self._handle(interaction)
        except Exception as exc:
            await reply_to_error(interaction, exc)

    async def _handle(self, interaction: discord.Interaction[Any]) -> None:
        bot: KlingBot = interaction.client
        if await refuse_outside_allowed_servers(bot.services, interaction):
            return
        job = await bot.services.store.get_job(self.job_id)
        if job is None or job.guild_id != interaction.guild_id:
            await refuse(interaction, "I can't find that job any more.")
            return
        if await refuse_outside_allowed_servers(bot.services, interaction, job.guild_id):
            return
        handler = getattr(self, f"_{self.action.value}")
        await handler(bot, interaction, job)

    async def _rerun(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        await launch(bot.services, interaction, order_from_request(job.request), parent_job_id=job.id)

    async def _remix(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        await interaction.response.send_modal(RemixModal(job))

    async def _extend(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        if not job.video_id or not supports_extend(job.request.model):
            await refuse(interaction, f"Videos made with {job.request.model.value} can't be extended.")
            return
        order = extend_order(job.request, job.video_id)
        await launch(bot.services, interaction, order, parent_job_id=job.id)

    async def _delete(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        if not _can_manage(interaction, job):
            await refuse(interaction, "Only the member who made this video or a moderator can delete it.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            if interaction.message is not None:
                await interaction.message.delete()
            await interaction.followup.send("Deleted.", ephemeral=True)
        except discord.HTTPException:
            await interaction.followup.send("I couldn't delete that message.", ephemeral=True)

    async def _cancel(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        if not _can_manage(interaction, job):
            await refuse(
                interaction, "Only the member who asked for this video or a moderator can cancel it."
            )
            return
        if job.state is not JobState.QUEUED:
            await refuse(interaction, "This video has already started, so it can't be cancelled any more.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        cancelled = await bot.services.runner.cancel(job)
        text = (
            "Cancelled. Nothing was charged."
            if cancelled
            else "It started just now, so it can't be cancelled."
        )
        await interaction.followup.send(text, ephemeral=True)


class ButtonsCog(commands.Cog):
    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(JobButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(JobButton)


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(ButtonsCog(bot))
