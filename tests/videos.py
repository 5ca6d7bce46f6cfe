"""Real small videos for the tests, written with PyAV (the same library the bot reads them with)."""

from __future__ import annotations

import io
from fractions import Fraction

import av
from PIL import Image


def video_bytes(
    width: int = 720,
    height: int = 720,
    *,
    seconds: float = 3.5,
    fps: int = 24,
    container: str = "mp4",
    codec: str = "mpeg4",
) -> bytes:
    """An encoded clip of `seconds` at `fps` (one colour per second, so frames differ)."""
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
