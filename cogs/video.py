"""`/video` and `/extend`: copy the options into an order and hand it to `bot.discord_app.launch.launch`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import KlingBot
from bot.discord_app.launch import attachment_ref, launch, refuse_outside_allowed_servers
from bot.discord_app.replies import refuse
from bot.jobs.orders import VideoOrder, extend_order
from bot.kling.capabilities import allowed_durations, supports_extend
from bot.kling.models import AspectRatio, CameraType, Mode, Model, parse_model
from bot.storage.base import JobState

Attachment = discord.Attachment


def _choices(values: list[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=value, value=value) for value in values]


class VideoCog(commands.Cog):
    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="video", description="Make a video with Kling from a prompt and optional frames"
    )
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.describe(
        prompt="What should happen in the video (up to 2500 characters)",
        start_image="First frame (JPG or PNG, ≥300 px, up to 10 MB): makes an image-to-video",
        end_image="Last frame (needs a start image; not every model takes one)",
        model="Kling model (default set by the bot's operator)",
        mode="std = faster and cheaper, pro = higher quality, 4k = native 4K (kling-v3 family)",
        duration="Length in seconds (5 or 10; 3–15 on kling-v3 / kling-v3-omni)",
        aspect_ratio="Frame shape",
        negative_prompt="What you do not want to see (up to 200 characters)",
        cfg_scale="How strictly to follow the prompt, 0 (free) to 1 (strict)",
        camera="Camera movement (kling-v1 at 5 s, kling-v3 std/pro, text-to-video only)",
        camera_config="For camera 'simple', e.g. pan=0.5, zoom=-0.2 "
        "(horizontal, vertical, pan, tilt, roll, zoom)",
        generate_audio="Generate sound too (kling-v3, kling-v3-omni, kling-v2-6 pro)",
        reference_video="Reference video for omni models (MP4/MOV, 3–10 s)",
        reference_video_type="base = the video to edit (default), feature = a style/feature reference",
        keep_original_sound="Keep the reference video's sound",
        reference_image_1="Reference image for omni models",
        reference_image_2="Reference image for omni models",
        reference_image_3="Reference image for omni models",
        reference_image_4="Reference image for omni models",
        elements="Element ids from the subject library, separated by spaces or commas (omni models)",
    )
    @app_commands.choices(
        mode=_choices([m.value for m in Mode]),
        aspect_ratio=_choices([a.value for a in AspectRatio]),
        camera=_choices([c.value for c in CameraType]),
        reference_video_type=_choices(["base", "feature"]),
    )
    async def video(
        self,
        interaction: discord.Interaction[KlingBot],
        prompt: app_commands.Range[str, 1, 2500],
        start_image: Attachment | None = None,
        end_image: Attachment | None = None,
        model: str | None = None,
        mode: str | None = None,
        duration: app_commands.Range[int, 1, 15] | None = None,
        aspect_ratio: str | None = None,
        negative_prompt: app_commands.Range[str, 1, 200] | None = None,
        cfg_scale: app_commands.Range[float, 0.0, 1.0] | None = None,
        camera: str | None = None,
        camera_config: str | None = None,
        generate_audio: bool | None = None,
        reference_video: Attachment | None = None,
        reference_video_type: str | None = None,
        keep_original_sound: bool | None = None,
        reference_image_1: Attachment | None = None,
        reference_image_2: Attachment | None = None,
        reference_image_3: Attachment | None = None,
        reference_image_4: Attachment | None = None,
        elements: str | None = None,
    ) -> None:
        references = (reference_image_1, reference_image_2, reference_image_3, reference_image_4)
        order = VideoOrder(
            prompt=prompt,
            model=model,
            mode=mode,
            duration=duration,
            aspect_ratio=aspect_ratio,
            negative_prompt=negative_prompt,
            cfg_scale=cfg_scale,
            camera=camera,
            camera_config=camera_config,
            generate_audio=generate_audio,
            start_image=attachment_ref(start_image),
            end_image=attachment_ref(end_image),
            reference_video=attachment_ref(reference_video),
            reference_video_type=reference_video_type,
            keep_original_sound=keep_original_sound,
            reference_images=tuple(ref for ref in map(attachment_ref, references) if ref is not None),
            elements=elements,
        )
        await launch(self.bot.services, interaction, order)

    @video.autocomplete("model")
    async def _model_choices(
        self, interaction: discord.Interaction[KlingBot], current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        return _choices([m.value for m in Model if typed in m.value])[:25]

    @video.autocomplete("duration")
    async def _duration_choices(
        self, interaction: discord.Interaction[KlingBot], current: int | str
    ) -> list[app_commands.Choice[int]]:
        try:
            model = parse_model(str(interaction.namespace.model or self.bot.settings.DEFAULT_MODEL.value))
        except ValueError:
            model = self.bot.settings.DEFAULT_MODEL
        try:
            mode = Mode(str(interaction.namespace.mode or "std"))
        except ValueError:
            mode = Mode.STD
        return [app_commands.Choice(name=f"{d} s", value=d) for d in allowed_durations(model, mode)][:25]

    @app_commands.command(name="extend", description="Continue one of this server's videos")
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.describe(
        video="The video to continue (start typing to search)", prompt="What happens next (optional)"
    )
    async def extend(
        self,
        interaction: discord.Interaction[KlingBot],
        video: str,
        prompt: app_commands.Range[str, 1, 2500] | None = None,
    ) -> None:
        if await refuse_outside_allowed_servers(self.bot.services, interaction):
            return
        job = await self.bot.services.store.get_job(video.strip())
        if job is None or job.guild_id != interaction.guild_id or not job.video_id:
            await refuse(
                interaction, "I can't find that video in this server. Pick one from the list as you type."
            )
            return
        if not supports_extend(job.request.model):
            await refuse(
                interaction,
                f"Videos made with {job.request.model.value} can't be extended. "
                "Extending works for kling-v1, kling-v1-6 and kling-v2-5-turbo videos.",
            )
            return
        order = extend_order(job.request, job.video_id, prompt=prompt)
        await launch(self.bot.services, interaction, order, parent_job_id=job.id)

    @extend.autocomplete("video")
    async def _video_choices(
        self, interaction: discord.Interaction[KlingBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if not self.bot.services.video_service.guild_allowed(interaction.guild_id):
            return []
        assert interaction.guild_id is not None
        jobs = await self.bot.services.store.history(
            interaction.guild_id, states=[JobState.DELIVERED], limit=100
        )
        typed = current.strip().lower()
        choices = []
        for job in jobs:
            if not job.video_id or not supports_extend(job.request.model):
                continue
            label = f"{job.request.model.value} · {(job.request.prompt or 'extension')[:60]}"
            if typed and typed not in label.lower() and not job.id.startswith(typed):
                continue
            choices.append(app_commands.Choice(name=label[:100], value=job.id))
        return choices[:25]


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(VideoCog(bot))
