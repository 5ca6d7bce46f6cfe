"""Omni references must be cited in the prompt, or AceData ignores them (and still bills the run).

kling-api.md §9: every `image_list` item is cited as `<<<image_N>>>` and the reference video as
`<<<video_1>>>`; start and end frames take the first image numbers, then the list items follow in
order. Frames (the start/end frame fields and `image_list` items typed `first_frame`/`end_frame`)
are used as frames whether cited or not, so only the plain reference images and the videos need a
citation.

This module only reads and writes prompts; `capabilities` turns what it finds into refusals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.kling.models import PROMPT_MAX, VideoRequest

CITATION = re.compile(r"<<<\s*(image|video)_(\d+)\s*>>>", re.IGNORECASE)


@dataclass(frozen=True)
class References:
    """What a request may cite: how many images and videos are numbered, and which must be cited."""

    images: int
    videos: int
    #: Image numbers of the plain reference images (each must be cited).
    required_images: tuple[int, ...]
    #: The reference video numbers with their `refer_type`.
    required_videos: tuple[tuple[int, str], ...]


def numbered(request: VideoRequest, *, takes_references: bool) -> References:
    """The numbering AceData applies: frames first, then `image_list` in order, then videos."""
    if not takes_references:
        return References(0, 0, (), ())
    frames = bool(request.start_image_url) + bool(request.end_image_url)
    required = tuple(
        frames + position for position, image in enumerate(request.image_list, start=1) if image.type is None
    )
    videos = tuple((n, v.refer_type) for n, v in enumerate(request.video_list, start=1))
    return References(frames + len(request.image_list), len(request.video_list), required, videos)


def cited(prompt: str | None) -> tuple[set[int], set[int]]:
    """The image and video numbers the prompt cites."""
    images: set[int] = set()
    videos: set[int] = set()
    for kind, number in CITATION.findall(prompt or ""):
        (images if kind.lower() == "image" else videos).add(int(number))
    return images, videos


def dangling(request: VideoRequest, refs: References) -> list[str]:
    """Citations of references that are not attached, as written (`<<<image_5>>>`)."""
    images, videos = cited(request.prompt)
    missing = [f"<<<image_{n}>>>" for n in sorted(images) if not 1 <= n <= refs.images]
    missing += [f"<<<video_{n}>>>" for n in sorted(videos) if not 1 <= n <= refs.videos]
    return missing


def uncited(request: VideoRequest, refs: References) -> list[str]:
    """References AceData would ignore because the prompt does not cite them."""
    images, videos = cited(request.prompt)
    missing = [f"<<<image_{n}>>>" for n in refs.required_images if n not in images]
    missing += [f"<<<video_{n}>>>" for n, _ in refs.required_videos if n not in videos]
    return missing


def _listed(tokens: list[str]) -> str:
    if len(tokens) == 1:
        return tokens[0]
    return f"{', '.join(tokens[:-1])} and {tokens[-1]}"


def citation_sentences(request: VideoRequest, refs: References) -> list[str]:
    """Sentences that cite every reference the prompt leaves out, worded for what each one is for."""
    images, videos = cited(request.prompt)
    sentences: list[str] = []
    missing_images = [f"<<<image_{n}>>>" for n in refs.required_images if n not in images]
    if len(missing_images) == 1:
        sentences.append(f"Use {missing_images[0]} as a reference.")
    elif missing_images:
        sentences.append(f"Use {_listed(missing_images)} as references.")
    for number, refer_type in refs.required_videos:
        if number in videos:
            continue
        token = f"<<<video_{number}>>>"
        if refer_type == "base":
            sentences.append(f"Apply this to {token}.")
        else:
            sentences.append(f"Follow the style and camera motion of {token}.")
    return sentences


def with_citations(prompt: str, sentences: list[str]) -> str:
    """`prompt` followed by `sentences`, joined like written text."""
    if not sentences:
        return prompt
    text = prompt.rstrip()
    if text and text[-1] not in ".!?…。！？":
        text += "."
    return " ".join([text, *sentences]) if text else " ".join(sentences)


@dataclass(frozen=True)
class Cited:
    """The outcome of `cite_references`."""

    request: VideoRequest
    #: The sentences appended to the prompt (empty: the prompt already cited everything).
    added: tuple[str, ...] = ()
    #: Characters over the prompt limit the citations would need (the request is then unchanged).
    overflow: int = 0


def cite_references(request: VideoRequest, *, takes_references: bool) -> Cited:
    """The request with every uncited reference cited at the end of its prompt."""
    refs = numbered(request, takes_references=takes_references)
    sentences = citation_sentences(request, refs)
    if not sentences:
        return Cited(request)
    prompt = with_citations(request.prompt or "", sentences)
    if len(prompt) > PROMPT_MAX:
        return Cited(request, overflow=len(prompt) - PROMPT_MAX)
    return Cited(request.model_copy(update={"prompt": prompt}), added=tuple(sentences))
