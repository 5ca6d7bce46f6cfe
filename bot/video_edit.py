"""Work on finished videos with PyAV: the last frame of a shot (Next shot) and a story joined into
one MP4 (Stitch). CPU-bound and blocking: call these in a worker thread (`asyncio.to_thread`).

Stitching remuxes (copies the compressed packets, no quality loss, fast) when every shot has the same
video codec, size and pixel format, which is what one model delivers; otherwise it re-encodes to
H.264 at the first shot's size. Sound is kept when every shot has it in the same format (remux only).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

import av
from PIL import Image

#: How far before the end to seek for the last frame (keyframes are at most a couple of seconds apart).
_TAIL_SECONDS = 3.0


class VideoUnreadable(Exception):
    """The bytes are not a video PyAV can decode. `str()` is what the member reads."""


def _open(data: bytes) -> Any:
    try:
        return av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise VideoUnreadable("I couldn't read that video file.") from exc


def _frames(container: Any) -> Iterator[Any]:
    stream = container.streams.video[0]
    yield from container.decode(stream)


def last_frame(data: bytes) -> Image.Image:
    """The last decodable frame of the first video stream."""
    with contextlib.closing(_open(data)) as container:
        if not container.streams.video:
            raise VideoUnreadable("That file has no video in it.")
        stream = container.streams.video[0]
        last = None
        try:
            if container.duration and container.duration > _TAIL_SECONDS * av.time_base:
                # Seek near the end (to the keyframe before) instead of decoding the whole clip.
                container.seek(int(container.duration - _TAIL_SECONDS * av.time_base), backward=True)
            for frame in container.decode(stream):
                last = frame
        except av.error.FFmpegError as exc:
            if last is None:
                raise VideoUnreadable("I couldn't decode the frames of that video.") from exc
        if last is None:
            raise VideoUnreadable("That video has no frame I can decode.")
        image: Image.Image = last.to_image()
        return image.convert("RGB")


def last_frame_png(data: bytes) -> bytes:
    buffer = io.BytesIO()
    last_frame(data).save(buffer, format="PNG")
    return buffer.getvalue()


def duration_seconds(data: bytes) -> float:
    """Length of the video stream in seconds (from packet timestamps, which every MP4 has)."""
    with contextlib.closing(_open(data)) as container:
        if not container.streams.video:
            raise VideoUnreadable("That file has no video in it.")
        return _stream_end(container, container.streams.video[0])


def _stream_end(container: Any, stream: Any) -> float:
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        tail = packet.pts + (packet.duration or 0)
        end = max(end, float(tail * packet.time_base))
    return end


def _signature(stream: Any) -> tuple[Any, ...]:
    ctx = stream.codec_context
    return (ctx.name, ctx.width, ctx.height, getattr(ctx, "pix_fmt", None))


def _audio_signature(stream: Any) -> tuple[Any, ...]:
    ctx = stream.codec_context
    return (ctx.name, ctx.sample_rate, getattr(ctx.layout, "name", None))


def stitch(videos: Sequence[bytes]) -> bytes:
    """The videos one after another in one MP4."""
    if not videos:
        raise VideoUnreadable("There is nothing to stitch.")
    containers = [_open(data) for data in videos]
    try:
        if any(not c.streams.video for c in containers):
            raise VideoUnreadable("One of the shots has no video in it.")
        firsts = [c.streams.video[0] for c in containers]
        if all(_signature(s) == _signature(firsts[0]) for s in firsts):
            return _remux(containers)
        return _reencode(containers)
    except av.error.FFmpegError as exc:
        raise VideoUnreadable("I couldn't join those videos.") from exc
    finally:
        for container in containers:
            container.close()


def _remux(containers: list[Any]) -> bytes:
    audio = [c.streams.audio[0] if c.streams.audio else None for c in containers]
    keep_audio = all(a is not None for a in audio) and all(
        _audio_signature(a) == _audio_signature(audio[0]) for a in audio if a is not None
    )
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        out_video = output.add_stream_from_template(containers[0].streams.video[0])
        out_audio = output.add_stream_from_template(audio[0]) if keep_audio and audio[0] is not None else None
        offset = 0.0
        for container, sound in zip(containers, audio, strict=True):
            video = container.streams.video[0]
            streams = [video, sound] if out_audio is not None and sound is not None else [video]
            start: dict[int, int] = {}
            end = 0.0
            for packet in container.demux(streams):
                if packet.dts is None or packet.pts is None:
                    continue  # the flush packet demux ends each stream with
                base = packet.time_base
                # The first packet of a stream (a keyframe) carries the earliest presentation time.
                first = start.setdefault(packet.stream.index, packet.pts)
                shift = round(Fraction(offset) / base) - first
                end = max(end, float((packet.pts - first + (packet.duration or 0)) * base))
                packet.pts += shift
                packet.dts += shift
                packet.stream = out_video if packet.stream.type == "video" else out_audio
                output.mux(packet)
            offset += end
    return buffer.getvalue()


def _reencode(containers: list[Any]) -> bytes:
    first = containers[0].streams.video[0]
    width, height = first.codec_context.width, first.codec_context.height
    rate = first.average_rate or Fraction(24)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        index = 0
        for container in containers:
            for frame in _frames(container):
                image = frame.reformat(width=width, height=height, format="yuv420p")
                image.pts = index
                image.time_base = Fraction(1) / Fraction(rate)
                index += 1
                for packet in stream.encode(image):
                    output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()
