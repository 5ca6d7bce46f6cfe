"""`/storyboard`: a multi-shot video on kling-v3 / kling-v3-omni, written one shot per line in a form.

The command takes the video's settings, then opens a form; the form's text is parsed by
`bot.kling.storyboard.parse_storyboard` and every rule is checked by `launch` before anything is paid.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import KlingBot
from bot.discord_app.error_handler import reply_to_error
from bot.discord_app.i18n import N_, t
from bot.discord_app.launch import attachment_ref, launch
from bot.jobs.orders import AttachmentRef, VideoOrder
from bot.kling.capabilities import allowed_durations, models_where, supports_multi_shot
from bot.kling.models import MAX_SHOTS, PROMPT_MAX, SHOT_PROMPT_MAX, AspectRatio, Mode, ShotType
from bot.kling.storyboard import EXAMPLE, parse_storyboard
from bot.wording import seconds_choices

Interaction = discord.Interaction[KlingBot]

#: Room for six full shots and their `12s: ` prefixes (Discord allows up to 4000 in a form field).
_SHOTS_MAX = MAX_SHOTS * (SHOT_PROMPT_MAX + 8)


def _choices(values: list[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=value, value=value) for value in values]


#: The lengths the storyboard models take, from the capability table.
_DURATIONS = seconds_choices(d for m in models_where(supports_multi_shot) for d in allowed_durations(m))


FORM_TITLE = N_("Storyboard")
SHOTS_LABEL = N_("Shots, one per line (up to {count})")
PROMPT_LABEL = N_("What happens (Kling cuts it)")
PROMPT_PLACEHOLDER = N_("a chase, then a quiet ending")


class StoryboardModal(discord.ui.Modal, title="Storyboard"):
    """One text field: the shots (customize) or the prompt Kling splits into shots (intelligence),
    worded in the opener's language (`locale`); the shot syntax of the example stays as it is."""

    def __init__(self, settings: VideoOrder, locale: discord.Locale | str | None = None) -> None:
        super().__init__(custom_id="kling-storyboard-modal", title=t(locale, FORM_TITLE))
        self.settings = settings
        customize = settings.shot_type == ShotType.CUSTOMIZE.value
        self.text: discord.ui.TextInput[StoryboardModal] = discord.ui.TextInput(
            custom_id="shots" if customize else "prompt",
            label=t(locale, SHOTS_LABEL, count=MAX_SHOTS) if customize else t(locale, PROMPT_LABEL),
            style=discord.TextStyle.paragraph,
            placeholder=f"{EXAMPLE}\n3s: it lands in the snow"
            if customize
            else t(locale, PROMPT_PLACEHOLDER),
            max_length=_SHOTS_MAX if customize else PROMPT_MAX,
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        try:
            if self.settings.shot_type == ShotType.CUSTOMIZE.value:
                order = replace(self.settings, shots=parse_storyboard(self.text.value))
            else:
                order = replace(self.settings, prompt=self.text.value)
            await launch(interaction.client.services, interaction, order)
        except Exception as exc:
            await reply_to_error(interaction, exc)


class StoryboardCog(commands.Cog):
    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="storyboard", description="A video of several shots: write each shot, or let Kling cut it"
    )
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.describe(
        model="Kling model that makes multi-shot videos",
        shot_type="customize = you write each shot (default), intelligence = Kling cuts your prompt",
        duration=f"Length in seconds ({_DURATIONS}); with your own shots it is their total",
        mode="std = faster and cheaper, pro = higher quality, 4k = native 4K",
        aspect_ratio="Frame shape",
        generate_audio="Generate sound too",
        start_image="First frame of the first shot (JPG or PNG, ≥300 px, up to 10 MB)",
    )
    @app_commands.choices(
        model=_choices([m.value for m in models_where(supports_multi_shot)]),
        shot_type=_choices([t.value for t in (ShotType.CUSTOMIZE, ShotType.INTELLIGENCE)]),
        mode=_choices([m.value for m in Mode]),
        aspect_ratio=_choices([a.value for a in AspectRatio]),
    )
    async def storyboard(
        self,
        interaction: Interaction,
        model: str | None = None,
        shot_type: str | None = None,
        duration: app_commands.Range[int, 3, 15] | None = None,
        mode: str | None = None,
        aspect_ratio: str | None = None,
        generate_audio: bool | None = None,
        start_image: discord.Attachment | None = None,
    ) -> None:
        start: AttachmentRef | None = attachment_ref(start_image)
        settings = VideoOrder(
            prompt=None,
            model=model or models_where(supports_multi_shot)[0].value,
            mode=mode,
            duration=duration,
            aspect_ratio=aspect_ratio,
            generate_audio=generate_audio,
            start_image=start,
            multi_shot=True,
            shot_type=shot_type or ShotType.CUSTOMIZE.value,
        )
        await interaction.response.send_modal(StoryboardModal(settings, interaction.locale))


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(StoryboardCog(bot))
