"""`/help`: a short tour of the bot, one embed. Plain text here so it can be translated in one place."""

from __future__ import annotations

import discord

from bot.discord_app.i18n import N_, t

TITLE = N_("Making videos with Kling")
INTRO = N_(
    "Type `/video`, describe what should happen, send. You get one message that shows progress and "
    "then the video. Everything else is optional."
)
SECTIONS: tuple[tuple[str, str], ...] = (
    (
        N_("Make a video"),
        N_(
            "`/video prompt: a red fox runs through fresh snow at dawn`\n"
            "Add a **start_image** to bring a picture to life, and an **end_image** to decide where it ends. "
            "The **model** list shows what each model is good at, its lengths, sound and cost."
        ),
    ),
    (
        N_("Inline parameters (like Midjourney)"),
        N_(
            "Add them at the end of the prompt; they win over the options and are taken out of the prompt:\n"
            "`--ar 9:16` frame shape (16:9, 9:16, 1:1) · `--d 10` seconds · `--m v3` model (short names "
            "work) · `--mode pro` · `--no blur, text` things to avoid · `--cfg 0.4` how strictly to follow "
            "the words (0–1) · `--audio` make sound · `--camera down_back` or `--camera zoom=0.5`\n"
            "`/video prompt: a lighthouse in a storm --ar 9:16 --d 10 --m v3 --audio`"
        ),
    ),
    (
        N_("Your defaults"),
        N_(
            "`/defaults set model: kling-v3 duration: 10` saves your own choices for this server; "
            "`/defaults show` shows them. Moderators set the server's with `/defaults server`."
        ),
    ),
    (
        N_("Buttons on a finished video"),
        N_(
            "**Rerun** makes it again · **Remix** changes the prompt and settings · **Next shot** continues "
            "the story from the video's last frame · **Stitch** joins the shots of a story into one video · "
            "**Extend** makes it longer (some models) · **Delete** removes it."
        ),
    ),
    (
        N_("References and more"),
        N_(
            "`/video-omni` makes a video from reference pictures, a reference video or library elements. "
            "`/storyboard` makes one video of several shots in one request. "
            "`/extend` continues an earlier video. `/history` lists your videos and stories, "
            "`/quota` what you have left."
        ),
    ),
    (
        N_("Costs"),
        N_("A refused or failed video costs nothing. Moderators see the server's rules with `/limits show`."),
    ),
)


def help_embed(locale: discord.Locale | str | None = None) -> discord.Embed:
    """The tour in `locale` (the member's Discord language), English when it has no catalog."""
    embed = discord.Embed(
        title=t(locale, TITLE), description=t(locale, INTRO), colour=discord.Colour.blurple()
    )
    for name, value in SECTIONS:
        embed.add_field(name=t(locale, name), value=t(locale, value), inline=False)
    return embed
