"""`/help`: a short tour of the bot, one embed. Plain text here so it can be translated in one place."""

from __future__ import annotations

import discord

TITLE = "Making videos with Kling"
INTRO = (
    "Type `/video`, describe what should happen, send. You get one message that shows progress and "
    "then the video. Everything else is optional."
)
SECTIONS: tuple[tuple[str, str], ...] = (
    (
        "Make a video",
        "`/video prompt: a red fox runs through fresh snow at dawn`\n"
        "Add a **start_image** to bring a picture to life, and an **end_image** to decide where it ends. "
        "The **model** list shows what each model is good at, its lengths, sound and cost.",
    ),
    (
        "Inline parameters (like Midjourney)",
        "Add them at the end of the prompt; they win over the options and are taken out of the prompt:\n"
        "`--ar 9:16` frame shape (16:9, 9:16, 1:1) · `--d 10` seconds · `--m v3` model (short names "
        "work) · `--mode pro` · `--no blur, text` things to avoid · `--cfg 0.4` how strictly to follow "
        "the words (0–1) · `--audio` make sound · `--camera down_back` or `--camera zoom=0.5`\n"
        "`/video prompt: a lighthouse in a storm --ar 9:16 --d 10 --m v3 --audio`",
    ),
    (
        "Your defaults",
        "`/defaults set model: kling-v3 duration: 10` saves your own choices for this server; "
        "`/defaults show` shows them. Moderators set the server's with `/defaults server`.",
    ),
    (
        "Buttons on a finished video",
        "**Rerun** makes it again · **Remix** changes the prompt and settings · **Next shot** continues "
        "the story from the video's last frame · **Stitch** joins the shots of a story into one video · "
        "**Extend** makes it longer (some models) · **Delete** removes it.",
    ),
    (
        "References and more",
        "`/video-omni` makes a video from reference pictures, a reference video or library elements. "
        "`/storyboard` makes one video of several shots in one request. "
        "`/extend` continues an earlier video. `/history` lists your videos and stories, "
        "`/quota` what you have left.",
    ),
    (
        "Costs",
        "A refused or failed video costs nothing. Moderators see the server's rules with `/limits show`.",
    ),
)


def help_embed() -> discord.Embed:
    embed = discord.Embed(title=TITLE, description=INTRO, colour=discord.Colour.blurple())
    for name, value in SECTIONS:
        embed.add_field(name=name, value=value, inline=False)
    return embed
