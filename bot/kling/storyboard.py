"""A storyboard as members write it (one shot per line, `4s: the fox leaps`) and as it is shown back.

Only the text format is checked here; the shot rules themselves (1–6 shots, ≤ 512 characters each,
durations adding up to the video's) live with every other rule in `capabilities`, so a storyboard
built any other way is held to them too.
"""

from __future__ import annotations

import re

from bot.echo import excerpt
from bot.kling.capabilities import Option, Problem, RequestRefused
from bot.kling.models import PROMPT_MAX, Shot
from bot.refusals import N_

EXAMPLE = "4s: the fox leaps over the log"
# "4s: ...", "4 s - ...", "4 sec: ...", "10 seconds – ..."; the number may carry a fraction so that it
# can be refused with a clear message instead of "not understood".
_LINE = re.compile(
    r"^\s*(?P<seconds>\d+(?:[.,]\d+)?)\s*(?:s|sec|secs|second|seconds)?\s*[:\-–—]\s*(?P<text>.*?)\s*$",
    re.IGNORECASE,
)


def parse_storyboard(text: str) -> tuple[Shot, ...]:
    """The shots of `text`, numbered from 1. Blank lines are skipped.

    Raises RequestRefused naming every line that is not a shot.
    """
    shots: list[Shot] = []
    problems: list[Problem] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            problems.append(
                Problem(
                    Option.SHOTS,
                    N_("Line {number} ({line}) is not a shot: write it like `{example}`."),
                    number=line_number,
                    line=excerpt(line),
                    example=EXAMPLE,
                )
            )
            continue
        seconds = match["seconds"].replace(",", ".")
        if not seconds.isdigit():
            problems.append(
                Problem(
                    Option.SHOTS,
                    N_("Line {number} lasts {seconds} seconds: shots last whole seconds, like `4s:`."),
                    number=line_number,
                    seconds=seconds,
                )
            )
            continue
        shots.append(Shot(index=len(shots) + 1, prompt=match["text"], duration=int(seconds)))
    if not shots and not problems:
        problems.append(
            Problem(
                Option.SHOTS,
                N_("The storyboard is empty: write one shot per line, like `{example}`."),
                example=EXAMPLE,
            )
        )
    if problems:
        raise RequestRefused(problems)
    return tuple(shots)


def storyboard_text(shots: tuple[Shot, ...], limit: int = PROMPT_MAX) -> str:
    """The shots numbered back, one per line, as the progress message shows them.

    Also the prompt of a customised storyboard: AceData ignores that prompt, so it only has to read
    well, and it is cut at a shot boundary when six long shots would not fit in `limit`.
    """
    lines = [f"{shot.index}. ({shot.duration} s) {shot.prompt}" for shot in shots]
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:
        lines.pop()
        text = "\n".join([*lines, "…"])
    return text[:limit]
