"""What the job buttons say to members (one module, so the words can be translated)."""

from __future__ import annotations

NO_JOB = "I can't find that job any more."
NOT_EXTENDABLE = "Videos made with {model} can't be extended."
DELETE_NOT_YOURS = "Only the member who made this video or a moderator can delete it."
CANCEL_NOT_YOURS = "Only the member who asked for this video or a moderator can cancel it."
ALREADY_STARTED = "This video has already started, so it can't be cancelled any more."
DELETED = "Deleted."
DELETE_FAILED = "I couldn't delete that message."
CANCELLED = "Cancelled. Nothing was charged."
STARTED_JUST_NOW = "It started just now, so it can't be cancelled."

REMIX_TITLE = "Remix this video"
NEXT_TITLE = "Next shot"
PROMPT_LABEL = "Prompt"
NEXT_PROMPT_LABEL = "What happens next"
NEXT_PROMPT_PLACEHOLDER = "The fox stops and looks back at the camera"
SETTINGS_LABEL = "Settings (inline parameters)"
SETTINGS_PLACEHOLDER = "--m v3 --mode std --d 5 --ar 16:9 --no blur --audio"

NO_START_FRAME = "Videos made with {model} can't start from a picture, so they can't have a next shot."
VIDEO_GONE = (
    "I couldn't download that video any more, so I can't take its last frame. Nothing was made or charged."
)
FRAME_UNREADABLE = (
    "I couldn't decode the last frame of that video ({reason}), so nothing was made or charged. "
    "You can start the next shot with /video and a start_image instead."
)
NEXT_SHOT_STARTING = "🎬 **Next shot**, starting from the last frame of the previous one."

NOT_A_STORY = "This video isn't part of a story yet: press **Next shot** on it to add one."
STORY_NOT_READY = "Shot {number} of this story isn't finished yet; Stitch once every shot is delivered."
STORY_TOO_BIG = (
    "The {count} shots together are about {size}, more than this channel's upload limit of {limit}, "
    "so I can't post them as one video. Nothing was charged. The shots, in order:\n{links}"
)
MORE_THAN = "more than {limit}"
STORY_UNREADABLE = "I couldn't join these shots ({reason}). Nothing was charged."
SHOT_GONE = "I couldn't download shot {number} any more, so I can't stitch this story. Nothing was charged."
STITCHED = "🧵 **{count} shots** stitched into one video ({seconds:g} s)."
