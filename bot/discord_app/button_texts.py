"""What the job buttons say to members (one module, so the words can be translated)."""

from __future__ import annotations

import discord

from bot.discord_app.i18n import N_, t

NO_JOB = N_("I can't find that job any more.")
NOT_EXTENDABLE = N_("Videos made with {model} can't be extended.")
DELETE_NOT_YOURS = N_("Only the member who made this video or a moderator can delete it.")
CANCEL_NOT_YOURS = N_("Only the member who asked for this video or a moderator can cancel it.")
ALREADY_STARTED = N_("This video has already started, so it can't be cancelled any more.")
DELETED = N_("Deleted.")
DELETE_FAILED = N_("I couldn't delete that message.")
CANCELLED = N_("Cancelled. Nothing was charged.")
STARTED_JUST_NOW = N_("It started just now, so it can't be cancelled.")

REMIX_TITLE = N_("Remix this video")
NEXT_TITLE = N_("Next shot")
PROMPT_LABEL = N_("Prompt")
NEXT_PROMPT_LABEL = N_("What happens next")
NEXT_PROMPT_PLACEHOLDER = N_("The fox stops and looks back at the camera")
SETTINGS_LABEL = N_("Settings (inline parameters)")
SETTINGS_PLACEHOLDER = "--m v3 --mode std --d 5 --ar 16:9 --no blur --audio"

NO_START_FRAME = N_("Videos made with {model} can't start from a picture, so they can't have a next shot.")
VIDEO_GONE = N_(
    "I couldn't download that video any more, so I can't take its last frame. Nothing was made or charged."
)
FRAME_UNREADABLE = N_(
    "I couldn't decode the last frame of that video ({reason}), so nothing was made or charged. "
    "You can start the next shot with /video and a start_image instead."
)
NEXT_SHOT_STARTING = N_("🎬 **Next shot**, starting from the last frame of the previous one.")

NOT_A_STORY = N_("This video isn't part of a story yet: press **Next shot** on it to add one.")
STORY_NOT_READY = N_("Shot {number} of this story isn't finished yet; Stitch once every shot is delivered.")
STORY_TOO_BIG = N_(
    "The {count} shots together are about {size}, more than this channel's upload limit of {limit}, "
    "so I can't post them as one video. Nothing was charged. The shots, in order:\n{links}"
)
MORE_THAN = N_("more than {limit}")
STORY_UNREADABLE = N_("I couldn't join these shots ({reason}). Nothing was charged.")
SHOT_GONE = N_(
    "I couldn't download shot {number} any more, so I can't stitch this story. Nothing was charged."
)
STITCHED = N_("🧵 **{count} shots** stitched into one video ({seconds:g} s).")


def unreadable_reason(locale: discord.Locale | str | None, error: Exception) -> str:
    """Why a video couldn't be decoded (`bot.video_edit.VideoUnreadable`, a marked English sentence)
    as the `{reason}` inside FRAME_UNREADABLE / STORY_UNREADABLE: in the reader's language, without
    its full stop."""
    return t(locale, str(error)).rstrip(".。")
