"""Rerun, Remix, Next shot, Stitch, Extend, Delete and Cancel on job messages, across restarts.

The buttons are dynamic items: discord.py matches a click's custom id against the template, so no
view has to be re-registered per message after a restart. A result the bot sent by DM works too: the
new job belongs to the server of the job it came from (`Home`). Frames and videos are read through
`bot.discord_app.job_files`, never from a stored Discord link that may have expired.
"""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import replace
from typing import Any

import discord
from discord.ext import commands

from bot import video_edit
from bot.discord_app import button_texts as texts
from bot.discord_app.access import JobForm, JobRight, job_action_refusal
from bot.discord_app.client import KlingBot
from bot.discord_app.error_handler import reply_to_error
from bot.discord_app.i18n import t
from bot.discord_app.job_files import job_message, renewed_order, video_attachment
from bot.discord_app.launch import home_of, launch, refuse_outside_allowed_servers
from bot.discord_app.replies import refuse
from bot.discord_app.views import CUSTOM_ID_PATTERN, JobAction, custom_id
from bot.jobs.delivery import START_FRAME, discard, fetch_video
from bot.jobs.inline_flags import flags_for
from bot.jobs.orders import AttachmentRef, VideoOrder, extend_order
from bot.jobs.stitching import ShotMissing, StoryTooBig, stitch_story
from bot.kling.capabilities import supports_extend, takes_start_frame
from bot.storage.base import Job, JobState

#: The most a video read back for Next shot or Stitch may weigh (results are capped at upload limits).
VIDEO_READ_CAP = 100 * 1024 * 1024


#: Button action -> who may use it (bot/discord_app/access.py). A repeat builds a job from the
#: member's own prompt and frames, so it is theirs (or a moderator's) to make.
ACTION_RIGHTS = {
    JobAction.RERUN: JobRight.OWNER_OR_MODERATOR,
    JobAction.REMIX: JobRight.OWNER_OR_MODERATOR,
    JobAction.NEXT_SHOT: JobRight.OWNER_OR_MODERATOR,
    JobAction.STITCH: JobRight.OWNER_OR_MODERATOR,
    JobAction.EXTEND: JobRight.SERVER_MEMBER,
    JobAction.DELETE: JobRight.OWNER_OR_MODERATOR,
    JobAction.CANCEL: JobRight.OWNER_OR_MODERATOR,
}
#: How a refusal names the action ("Only the member who made this video or a moderator can … it").
ACTION_WORDS = {JobAction.NEXT_SHOT: "add a next shot to"}


def _settings_text(job: Job, *, for_next_shot: bool = False) -> str:
    request = job.request
    if for_next_shot:
        # A next shot starts from a picture: camera moves (text-to-video only) don't apply.
        request = request.model_copy(update={"camera_control": None})
    return flags_for(request)


def _settings_input(
    job: Job, locale: discord.Locale, *, for_next_shot: bool = False
) -> discord.ui.TextInput[Any]:
    return discord.ui.TextInput(
        label=t(locale, texts.SETTINGS_LABEL),
        custom_id="settings",
        required=False,
        max_length=400,
        default=_settings_text(job, for_next_shot=for_next_shot)[:400],
        placeholder=texts.SETTINGS_PLACEHOLDER,
    )


class RemixModal(JobForm):
    """The prompt and the main settings, the settings written as inline parameters."""

    def __init__(self, job: Job, opener: discord.Interaction[Any]) -> None:
        super().__init__(
            job,
            opener,
            kind="remix",
            title=t(opener.locale, texts.REMIX_TITLE),
            right=ACTION_RIGHTS[JobAction.REMIX],
        )
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t(opener.locale, texts.PROMPT_LABEL),
            custom_id="prompt",
            style=discord.TextStyle.paragraph,
            max_length=2500,
            default=(job.request.prompt or "")[:2500],
        )
        self.settings = _settings_input(job, opener.locale)
        self.add_item(self.prompt)
        self.add_item(self.settings)

    async def submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: KlingBot = interaction.client
        prompt = f"{self.prompt.value} {self.settings.value or ''}".strip()
        order = await renewed_order(bot, self.job, interaction, prompt=prompt)
        # The settings box says everything: what the member deleted from it is dropped, not kept.
        order = replace(
            order, negative_prompt=None, cfg_scale=None, generate_audio=None, camera=None, camera_config=None
        )
        await launch(
            bot.services,
            interaction,
            order,
            parent_job_id=self.job.id,
            home=await home_of(bot.services.store, interaction, self.job),
        )


class NextShotModal(JobForm):
    """What happens next; the shot starts from the last frame of this video."""

    def __init__(self, job: Job, opener: discord.Interaction[Any]) -> None:
        super().__init__(
            job,
            opener,
            kind="next",
            title=t(opener.locale, texts.NEXT_TITLE),
            right=ACTION_RIGHTS[JobAction.NEXT_SHOT],
            action=ACTION_WORDS[JobAction.NEXT_SHOT],
        )
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t(opener.locale, texts.NEXT_PROMPT_LABEL),
            custom_id="prompt",
            style=discord.TextStyle.paragraph,
            max_length=2500,
            placeholder=t(opener.locale, texts.NEXT_PROMPT_PLACEHOLDER),
        )
        self.settings = _settings_input(job, opener.locale, for_next_shot=True)
        self.add_item(self.prompt)
        self.add_item(self.settings)

    async def submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: KlingBot = interaction.client
        job = self.job
        await interaction.response.defer(thinking=True)
        url = await _video_url(bot, job, interaction)
        # Read from a temporary file (removed right after), not into memory.
        video = await fetch_video(bot.http_client, url, max_bytes=VIDEO_READ_CAP, attempts=2) if url else None
        try:
            if video is None or video.path is None:
                await refuse(interaction, texts.VIDEO_GONE)
                return
            png = await asyncio.to_thread(video_edit.last_frame_png, video.path)
        except video_edit.VideoUnreadable as exc:
            await refuse(
                interaction, texts.FRAME_UNREADABLE, reason=texts.unreadable_reason(interaction.locale, exc)
            )
            return
        finally:
            if video is not None:
                discard(video)
        # The frame goes on this shot's own message: that gives AceData a link, and keeps the frame
        # where its link can be renewed later.
        message = await interaction.edit_original_response(
            content=t(interaction.locale, texts.NEXT_SHOT_STARTING),
            attachments=[discord.File(io.BytesIO(png), filename=f"{START_FRAME}.png")],
        )
        frame = message.attachments[0]
        order = VideoOrder(
            prompt=f"{self.prompt.value} {self.settings.value or ''}".strip(),
            model=job.request.model.value,
            mode=job.request.mode.value,
            duration=job.request.duration,
            aspect_ratio=job.request.aspect_ratio.value,
            start_image=AttachmentRef(
                url=frame.url, filename=frame.filename, size=frame.size, content_type="image/png"
            ),
        )
        await launch(
            bot.services,
            interaction,
            order,
            parent_job_id=job.id,
            story_parent_id=job.id,
            home=await home_of(bot.services.store, interaction, job),
            keep_frames_on_message=False,  # the frame is on the message already
        )


async def _video_url(bot: KlingBot, job: Job, interaction: discord.Interaction[Any] | None) -> str | None:
    attachment = video_attachment(await job_message(bot, job, interaction))
    return attachment.url if attachment is not None else job.video_url


def _megabytes(size: float) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


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
        try:
            await self._handle(interaction)
        except Exception as exc:
            await reply_to_error(interaction, exc)

    async def _handle(self, interaction: discord.Interaction[Any]) -> None:
        bot: KlingBot = interaction.client
        if await refuse_outside_allowed_servers(bot.services, interaction):
            return
        job = await bot.services.store.get_job(self.job_id)
        # The server (or, for a result sent by DM, its member), the right for this button and the
        # message it sits on: bot/discord_app/access.py.
        word = ACTION_WORDS.get(self.action, self.action.value)
        refusal = job_action_refusal(interaction, job, ACTION_RIGHTS[self.action], action=word)
        if refusal is not None or job is None:
            await refuse(interaction, refusal or texts.NO_JOB)
            return
        if await refuse_outside_allowed_servers(bot.services, interaction, job.guild_id):
            return
        handler = getattr(self, f"_{self.action.name.lower()}")
        await handler(bot, interaction, job)

    async def _rerun(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        order = await renewed_order(bot, job, interaction)
        await launch(
            bot.services,
            interaction,
            order,
            parent_job_id=job.id,
            home=await home_of(bot.services.store, interaction, job),
        )

    async def _remix(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        await interaction.response.send_modal(RemixModal(job, interaction))

    async def _next_shot(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        if not takes_start_frame(job.request.model):
            await refuse(interaction, texts.NO_START_FRAME, model=job.request.model.value)
            return
        await interaction.response.send_modal(NextShotModal(job, interaction))

    async def _stitch(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        shots = await bot.services.store.story(job.id)
        if len(shots) < 2:
            await refuse(interaction, texts.NOT_A_STORY)
            return
        for number, shot in enumerate(shots, start=1):
            if shot.state is not JobState.DELIVERED:
                await refuse(interaction, texts.STORY_NOT_READY, number=number)
                return
        await interaction.response.defer(thinking=True)
        limit = interaction.filesize_limit
        messages = [
            await job_message(bot, shot, interaction if shot.id == job.id else None) for shot in shots
        ]
        attachments = [video_attachment(message) for message in messages]
        known = sum(a.size for a in attachments if a is not None)
        if known > limit:
            await self._too_big(interaction, shots, messages, known, limit)
            return
        urls = [
            attachment.url if attachment is not None else shot.video_url
            for shot, attachment in zip(shots, attachments, strict=True)
        ]
        try:
            # Shots and story go through temporary files (bot/jobs/stitching.py), never into memory.
            story = await stitch_story(bot.http_client, urls, limit=limit, read_cap=VIDEO_READ_CAP)
        except StoryTooBig as exc:
            await self._too_big(interaction, shots, messages, exc.size, limit)
            return
        except ShotMissing as exc:
            await refuse(interaction, texts.SHOT_GONE, number=exc.number)
            return
        except video_edit.VideoUnreadable as exc:
            await refuse(
                interaction, texts.STORY_UNREADABLE, reason=texts.unreadable_reason(interaction.locale, exc)
            )
            return
        try:
            await interaction.followup.send(
                t(interaction.locale, texts.STITCHED, count=len(shots), seconds=round(story.seconds, 1)),
                file=discord.File(story.path, filename=f"story-{job.id[:8]}.mp4"),
            )
        finally:
            story.remove()

    @staticmethod
    async def _too_big(
        interaction: discord.Interaction[Any],
        shots: list[Job],
        messages: list[discord.Message | None],
        size: float | None,
        limit: int,
    ) -> None:
        links = []
        for number, (shot, message) in enumerate(zip(shots, messages, strict=True), start=1):
            link = message.jump_url if message is not None else shot.video_url
            links.append(f"{number}. {link or '(gone)'}")
        more = t(interaction.locale, texts.MORE_THAN, limit=_megabytes(limit))
        await refuse(
            interaction,
            texts.STORY_TOO_BIG,
            count=len(shots),
            size=_megabytes(size) if size is not None else more,
            limit=_megabytes(limit),
            links="\n".join(links),
        )

    async def _extend(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        if not job.video_id or not supports_extend(job.request.model):
            await refuse(interaction, texts.NOT_EXTENDABLE, model=job.request.model.value)
            return
        order = extend_order(job.request, job.video_id)
        await launch(
            bot.services,
            interaction,
            order,
            parent_job_id=job.id,
            home=await home_of(bot.services.store, interaction, job),
        )

    async def _delete(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            if interaction.message is not None:
                await interaction.message.delete()
            await interaction.followup.send(t(interaction.locale, texts.DELETED), ephemeral=True)
        except discord.HTTPException:
            await interaction.followup.send(t(interaction.locale, texts.DELETE_FAILED), ephemeral=True)

    async def _cancel(self, bot: KlingBot, interaction: discord.Interaction[Any], job: Job) -> None:
        if job.state is not JobState.QUEUED:
            await refuse(interaction, texts.ALREADY_STARTED)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        cancelled = await bot.services.runner.cancel(job)
        await interaction.followup.send(
            t(interaction.locale, texts.CANCELLED if cancelled else texts.STARTED_JUST_NOW), ephemeral=True
        )


class ButtonsCog(commands.Cog):
    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(JobButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(JobButton)


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(ButtonsCog(bot))
