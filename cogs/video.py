"""`/video`, `/video-omni` and `/extend`: copy the options into an order and hand it to
`bot.discord_app.launch.launch`. Words and choices come from `bot.discord_app.video_choices`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import KlingBot
from bot.discord_app.i18n import N_
from bot.discord_app.launch import attachment_ref, launch, refuse_outside_allowed_servers
from bot.discord_app.replies import refuse
from bot.discord_app.video_choices import (
    ASPECT_WORDS,
    CAMERA_WORDS,
    OMNI_OPTION_WORDS,
    REFERENCE_TYPE_WORDS,
    VIDEO_OPTION_WORDS,
    Offer,
    duration_offers,
    mode_offers,
    model_offers,
)
from bot.jobs.inline_flags import resolve_model
from bot.jobs.orders import VideoOrder, extend_order
from bot.kling.capabilities import models_for_action, supports_extend
from bot.kling.models import Action, Mode, Model
from bot.quota.models import GuildLimits
from bot.refusals import AnyOf

Attachment = discord.Attachment
Interaction = discord.Interaction[KlingBot]


def _word_choices(words: dict[str, str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=name, value=value) for value, name in words.items()]


def _as_choices(offers: list[Offer]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=o.name, value=str(o.value)) for o in offers]


NO_SUCH_VIDEO = N_("I can't find that video in this server. Pick one from the list as you type.")
NOT_EXTENDABLE = N_("Videos made with {model} can't be extended. Extending works for {models} videos.")

_ASPECT_CHOICES = _word_choices({a.value: words for a, words in ASPECT_WORDS.items()})


class VideoCog(commands.Cog):
    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot

    # --- what the server allows, for autocomplete ---------------------------------------------
    async def _limits(self, interaction: Interaction) -> GuildLimits:
        if interaction.guild_id is None:
            return GuildLimits()
        return await self.bot.services.store.get_limits(interaction.guild_id)

    async def _chosen_model(self, interaction: Interaction) -> Model:
        typed = interaction.namespace.model
        model = resolve_model(str(typed)) if typed else None
        if model is not None:
            return model
        if interaction.guild_id is not None:
            saved = await self.bot.services.video_service.preferences_for(
                interaction.guild_id, interaction.user.id
            )
            if saved.model is not None:
                return saved.model
        return self.bot.settings.DEFAULT_MODEL

    @staticmethod
    def _chosen_mode(interaction: Interaction) -> Mode | None:
        try:
            return Mode(str(interaction.namespace.mode)) if interaction.namespace.mode else None
        except ValueError:
            return None

    async def _models(
        self, interaction: Interaction, current: str, *, references_only: bool = False
    ) -> list[app_commands.Choice[str]]:
        limits = await self._limits(interaction)
        offers = model_offers(
            limits, self.bot.costs, current, references_only=references_only, locale=interaction.locale
        )
        return _as_choices(offers)

    async def _modes(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        limits = await self._limits(interaction)
        typed = interaction.namespace.model
        model = resolve_model(str(typed)) if typed else None
        return _as_choices(mode_offers(limits, model, interaction.locale))

    async def _durations(
        self, interaction: Interaction, current: int | str
    ) -> list[app_commands.Choice[int]]:
        limits = await self._limits(interaction)
        model = await self._chosen_model(interaction)
        offers = duration_offers(limits, model, self._chosen_mode(interaction), interaction.locale)
        return [app_commands.Choice(name=o.name, value=int(o.value)) for o in offers]

    # --- /video --------------------------------------------------------------------------------
    @app_commands.command(name="video", description="Make a video from words, or bring a picture to life")
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.describe(**VIDEO_OPTION_WORDS)
    @app_commands.choices(aspect_ratio=_ASPECT_CHOICES, camera=_word_choices(CAMERA_WORDS))
    async def video(
        self,
        interaction: Interaction,
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
        generate_audio: bool | None = None,
    ) -> None:
        order = VideoOrder(
            prompt=prompt,
            model=model,
            mode=mode,
            duration=duration,
            aspect_ratio=aspect_ratio,
            negative_prompt=negative_prompt,
            cfg_scale=cfg_scale,
            camera=camera,
            generate_audio=generate_audio,
            start_image=attachment_ref(start_image),
            end_image=attachment_ref(end_image),
        )
        await launch(self.bot.services, interaction, order)

    @video.autocomplete("model")
    async def _video_models(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self._models(interaction, current)

    @video.autocomplete("mode")
    async def _video_modes(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self._modes(interaction, current)

    @video.autocomplete("duration")
    async def _video_durations(
        self, interaction: Interaction, current: int | str
    ) -> list[app_commands.Choice[int]]:
        return await self._durations(interaction, current)

    # --- /video-omni: the reference inputs of the omni models ----------------------------------
    @app_commands.command(
        name="video-omni",
        description="Make a video from reference pictures, a reference video or library elements",
    )
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.describe(**OMNI_OPTION_WORDS)
    @app_commands.choices(
        aspect_ratio=_ASPECT_CHOICES, reference_video_type=_word_choices(REFERENCE_TYPE_WORDS)
    )
    async def video_omni(
        self,
        interaction: Interaction,
        prompt: app_commands.Range[str, 1, 2500],
        reference_image_1: Attachment | None = None,
        reference_image_2: Attachment | None = None,
        reference_image_3: Attachment | None = None,
        reference_image_4: Attachment | None = None,
        reference_video: Attachment | None = None,
        reference_video_type: str | None = None,
        keep_original_sound: bool | None = None,
        elements: str | None = None,
        model: str | None = None,
        mode: str | None = None,
        duration: app_commands.Range[int, 1, 15] | None = None,
        aspect_ratio: str | None = None,
        start_image: Attachment | None = None,
        end_image: Attachment | None = None,
        generate_audio: bool | None = None,
    ) -> None:
        references = (reference_image_1, reference_image_2, reference_image_3, reference_image_4)
        order = VideoOrder(
            prompt=prompt,
            # The omni models are the ones that take references: default to the first one allowed.
            model=model or self._first_reference_model(await self._limits(interaction)),
            mode=mode,
            duration=duration,
            aspect_ratio=aspect_ratio,
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

    def _first_reference_model(self, limits: GuildLimits) -> str | None:
        offers = model_offers(limits, self.bot.costs, "", references_only=True)
        return str(offers[0].value) if offers else None

    @video_omni.autocomplete("model")
    async def _omni_models(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self._models(interaction, current, references_only=True)

    @video_omni.autocomplete("mode")
    async def _omni_modes(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self._modes(interaction, current)

    @video_omni.autocomplete("duration")
    async def _omni_durations(
        self, interaction: Interaction, current: int | str
    ) -> list[app_commands.Choice[int]]:
        return await self._durations(interaction, current)

    # --- /extend -------------------------------------------------------------------------------
    @app_commands.command(name="extend", description="Continue one of this server's videos")
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.describe(
        video="The video to continue (start typing to search)", prompt="What happens next (optional)"
    )
    async def extend(
        self,
        interaction: Interaction,
        video: str,
        prompt: app_commands.Range[str, 1, 2500] | None = None,
    ) -> None:
        if await refuse_outside_allowed_servers(self.bot.services, interaction):
            return
        job = await self.bot.services.store.get_job(video.strip())
        if job is None or job.guild_id != interaction.guild_id or not job.video_id:
            await refuse(interaction, NO_SUCH_VIDEO)
            return
        if not supports_extend(job.request.model):
            await refuse(
                interaction,
                NOT_EXTENDABLE,
                model=job.request.model.value,
                models=AnyOf(m.value for m in models_for_action(Action.EXTEND)),
            )
            return
        order = extend_order(job.request, job.video_id, prompt=prompt)
        await launch(self.bot.services, interaction, order, parent_job_id=job.id)

    @extend.autocomplete("video")
    async def _video_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not self.bot.services.video_service.guild_allowed(interaction.guild_id):
            return []
        assert interaction.guild_id is not None
        # One light query (id, model, prompt of the newest delivered videos), no whole jobs decoded.
        videos = await self.bot.services.store.extendable_videos(interaction.guild_id, limit=100)
        typed = current.strip().lower()
        choices = []
        for video in videos:
            model = _known_model(video.model)
            if model is None or not supports_extend(model):
                continue
            label = f"{model.value} · {(video.prompt or 'extension')[:60]}"
            if typed and typed not in label.lower() and not video.job_id.startswith(typed):
                continue
            choices.append(app_commands.Choice(name=label[:100], value=video.job_id))
        return choices[:25]


def _known_model(name: str) -> Model | None:
    try:
        return Model(name)
    except ValueError:
        return None


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(VideoCog(bot))
