"""The reference video checked before paying: read with PyAV from a capped download and held to the
limits of the chosen model (kling-api.md §1.1 and §9, in `capabilities.ReferenceVideoLimits`).

The image checks live in `bot.media`; this module reuses its capped download and its refusal type so
a member gets the same kind of answer for either file.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

import av
import httpx

from bot import media
from bot.kling.capabilities import ReferenceVideoLimits, reference_video_limits
from bot.kling.models import Model
from bot.refusals import N_

LABEL = "reference_video"
#: PyAV's demuxer for the ISO family is named "mov,mp4,m4a,3gp,3g2,mj2"; these brands say which.
_MOV_BRANDS = frozenset({"qt"})
_AUDIO_OR_PHONE_BRANDS = ("m4a", "m4b", "3g")


@dataclass(frozen=True, slots=True)
class VideoInfo:
    container: str  # "MP4" or "MOV"
    seconds: float
    fps: float
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _refused(message: str, **values: object) -> media.AttachmentRefused:
    return media.AttachmentRefused(message, label=LABEL, **values)


def _container(fmt: str, brand: str) -> str | None:
    if "mov" not in fmt.split(",") and "mp4" not in fmt.split(","):
        return None
    brand = brand.strip().lower()
    if brand.startswith(_AUDIO_OR_PHONE_BRANDS):
        return None
    return "MOV" if brand in _MOV_BRANDS else "MP4"


def inspect_video(data: bytes) -> VideoInfo:
    """Open `data` with PyAV, decode its first frame, and read container, length, rate and size."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            kind = _container(container.format.name, str(container.metadata.get("major_brand", "")))
            if kind is None:
                raise _refused(
                    N_("`{label}` is not an MP4 or MOV video. Please convert it to MP4 and upload it again.")
                )
            if not container.streams.video:
                raise _refused(N_("`{label}` has no picture, only sound. Please attach a video."))
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = (container.duration or 0) / av.time_base
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            width, height = stream.codec_context.width, stream.codec_context.height
            # Decoding one frame proves the picture data is readable, not just the header.
            next(container.decode(stream), None)
    except media.AttachmentRefused:
        raise
    except (av.FFmpegError, ValueError, OSError, StopIteration):
        raise _refused(
            N_(
                "`{label}` looks damaged or incomplete and could not be read. "
                "Please export it again as MP4 and upload it."
            )
        ) from None
    return VideoInfo(kind, seconds, fps, width, height)


def check_limits(info: VideoInfo, model: Model, limits: ReferenceVideoLimits) -> None:
    """Refuse what AceData would refuse for `model`, saying what to change."""
    name = model.value
    if info.container not in limits.containers:
        raise _refused(N_("`{label}` must be MP4 or MOV. Please convert it and upload it again."))
    if not limits.min_seconds <= info.seconds <= limits.max_seconds:
        raise _refused(
            N_(
                "`{label}` lasts {seconds} s; {model} takes reference videos of {low} to {high} s. "
                "Please trim it (or pick a longer clip) and upload it again."
            ),
            seconds=f"{info.seconds:.1f}",
            model=name,
            low=f"{limits.min_seconds:g}",
            high=f"{limits.max_seconds:g}",
        )
    if not limits.min_fps <= info.fps <= limits.max_fps:
        raise _refused(
            N_(
                "`{label}` runs at {fps} frames per second; reference videos must be {low} to {high} fps. "
                "Please export it at 30 fps and upload it again."
            ),
            fps=f"{info.fps:.3g}",
            low=f"{limits.min_fps:g}",
            high=f"{limits.max_fps:g}",
        )
    short, long = sorted((info.width, info.height))
    if short < limits.min_side or long > limits.max_side:
        raise _refused(
            N_(
                "`{label}` is {width}×{height} px; {model} takes reference videos whose sides are "
                "{low} to {high} px. Please export it at a size in that range (for example 1280×720)."
            ),
            width=info.width,
            height=info.height,
            model=name,
            low=limits.min_side,
            high=limits.max_side,
        )
    if limits.max_pixels is not None and info.pixels > limits.max_pixels:
        raise _refused(
            N_(
                "`{label}` is {width}×{height} px, more than the {pixels} pixels "
                "{model} takes (that is 3840×2160). Please export it smaller."
            ),
            width=info.width,
            height=info.height,
            pixels=f"{limits.max_pixels:,}",
            model=name,
        )
    aspect = info.width / info.height
    if (limits.min_aspect is not None and aspect < limits.min_aspect) or (
        limits.max_aspect is not None and aspect > limits.max_aspect
    ):
        raise _refused(
            N_(
                "`{label}` is {width}×{height} px; {model} takes shapes from "
                "{low}:1 (tall) to {high}:1 (wide). Please crop it."
            ),
            width=info.width,
            height=info.height,
            model=name,
            low=f"{limits.min_aspect:g}",
            high=f"{limits.max_aspect:g}",
        )


async def preflight_reference_video(
    http: httpx.AsyncClient,
    *,
    url: str,
    name: str,
    size: int | None,
    content_type: str | None,
    model: Model,
) -> VideoInfo:
    """Declared type and size, capped download, decoding with PyAV, then the model's limits."""
    media.check_video_reference(name, size, content_type, label=LABEL)
    limits = reference_video_limits(model)
    if limits is None:
        # The request rules already refuse a reference video on this model; nothing to measure.
        raise _refused(
            N_("{model} doesn't take a reference video: remove it or pick kling-v3-omni."), model=model.value
        )
    data = await media.download_capped(http, url, media.MAX_VIDEO_BYTES, label=LABEL)
    # Demuxing and decoding a frame of a large file can take a while: off the event loop.
    info = await asyncio.to_thread(inspect_video, data)
    check_limits(info, model, limits)
    return info
