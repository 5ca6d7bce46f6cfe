"""Real MP4s made with PyAV for tests: solid colours per second, so a frame's colour says when it is.

`video_bytes` makes reference videos of a chosen size, length, frame rate and container."""

from __future__ import annotations

import io
from collections.abc import Sequence
from fractions import Fraction

import av
from PIL import Image


def mp4_bytes(
    colours: Sequence[tuple[int, int, int]],
    *,
    seconds_each: float = 1.0,
    fps: int = 10,
    size: tuple[int, int] = (320, 240),
    codec: str = "libx264",
) -> bytes:
    """An H.264 MP4 showing each colour in turn for `seconds_each` seconds."""
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        index = 0
        for colour in colours:
            picture = Image.new("RGB", (width, height), colour)
            for _ in range(round(seconds_each * fps)):
                frame = av.VideoFrame.from_image(picture)
                frame.pts, frame.time_base = index, Fraction(1, fps)
                index += 1
                for packet in stream.encode(frame):
                    output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def video_bytes(
    width: int = 720,
    height: int = 720,
    *,
    seconds: float = 3.5,
    fps: int = 24,
    container: str = "mp4",
    codec: str = "mpeg4",
) -> bytes:
    """An encoded clip of `seconds` at `fps` in `container` (one colour per second, so frames differ)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        frames = round(seconds * fps)
        colours = [
            Image.new("RGB", (width, height), (40 * s % 256, 90, 160)) for s in range(int(seconds) + 2)
        ]
        for index in range(frames):
            frame = av.VideoFrame.from_image(colours[index // fps])
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()
