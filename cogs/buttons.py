"""Rerun, Remix, Extend, Delete and Cancel on job messages, working across restarts.

The buttons are dynamic items: discord.py matches a click's custom id against the template, so no
view has to be re-registered per message after a restart.
"""

from __future__ import annotations

import re
import time
from typing import Any

import discord
from discord.ext import commands

from bot.discord_app.access import JobRight, job_action_refusal
from bot.discord_app.client import KlingBot
from bot.discord_app.error_handler import reply_to_error
from bot.discord_app.launch import launch
from bot.discord_app.replies import refuse
from bot.discord_app.views import CUSTOM_ID_PATTERN, JobAction, custom_id
from bot.jobs.orders import extend_order, order_from_request
from bot.kling.capabilities import supports_extend
from bot.storage.base import Job, JobState

#: How long a Remix form may stay open: its custom id carries who opened it and when.
REMIX_FORM_SECONDS = 15 * 60

#: Button action -> who may use it (bot/discord_app/access.py).
ACTION_RIGHTS = {
    JobAction.RERUN: JobRight.OWNER_OR_MODERATOR,
    JobAction.REMIX: JobRight.OWNER_OR_MODERATOR,
    JobAction.EXTEND: JobRight.SERVER_MEMBER,
    JobAction.DELETE: JobRight.OWNER_OR_MODERATOR,
    JobAction.CANCEL: JobRight.OWNER_OR_MODERATOR,
}


class RemixModal(discord.ui.Modal, title="Remix this video"):
    """Bound to the member who opened it, the job's server and message, and a deadline: discord.py
    finds a submitted modal by custom id alone, so anyone replaying the id would reach this object."""

    prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
        label="Prompt", style=discord.TextStyle.paragraph, max_length=2500
    )

    def __init__(self, job: Job, opener: discord.Interaction[Any]) -> None:
        self.issued_at = int(time.time())
        super().__init__(
            custom_id=f"kling-remix-modal:{job.id}:{opener.user.id}:{self.issued_at}",
            timeout=REMIX_FORM_SECONDS,
        )
        self.job = job
        self.opener_id = opener.user.id
        self.message_id = opener.message.id if opener.message is not None else None
        self.prompt.default = (job.request.prompt or "")[:2500]

    def refusal(self, interaction: discord.Interaction[Any]) -> str | None:
        if interaction.user.id != self.opener_id:
            return "This form belongs to whoever clicked Remix; click Remix yourself to make your own."
        if time.time() - self.issued_at > REMIX_FORM_SECONDS:
            return "This form has expired. Click Remix again to start a new one."
        if interaction.message is not None and interaction.message.id != self.message_id:
            return "That form doesn't belong to this message, so I did nothing."
        return job_action_refusal(interaction, self.job, JobRight.OWNER_OR_MODERATOR, action="remix")

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        refusal = self.refusal(interaction)
        if refusal is not None:
            # Not stopped: the member who opened it can still send it.
            await refuse(interaction, refusal)
            return False
        return True

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
        job = await bot.services.store.get_job(self.job_id)
        refusal = job_action_refusal(interaction, job, ACTION_RIGHTS[self.action], action=self.action.value)
        if refusal is not None or job is None:
            await refuse(interaction, refusal or "I can't find that job any more.")
            return
        handler = getattr(self, f"_{self.action.value}")
        await handler(bot, interaction, job)

    async def _rerun(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        await launch(bot.services, interaction, order_from_request(job.request), parent_job_id=job.id)

    async def _remix(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        await interaction.response.send_modal(RemixModal(job, interaction))

    async def _extend(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        if not job.video_id or not supports_extend(job.request.model):
            await refuse(interaction, f"Videos made with {job.request.model.value} can't be extended.")
            return
        order = extend_order(job.request, job.video_id)
        await launch(bot.services, interaction, order, parent_job_id=job.id)

    async def _delete(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            if interaction.message is not None:
                await interaction.message.delete()
            await interaction.followup.send("Deleted.", ephemeral=True)
        except discord.HTTPException:
            await interaction.followup.send("I couldn't delete that message.", ephemeral=True)

    async def _cancel(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
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
