"""Real MP4s made with PyAV for tests: solid colours per second, so a frame's colour says when it is.

`video_bytes` makes reference videos of a chosen size, length, frame rate and container."""

from __future__ import annotations

import io
import math
from array import array
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
    tone: float | None = None,
    sample_rate: int = 48_000,
    layout: str = "stereo",
    sound_seconds: float | None = None,
) -> bytes:
    """An H.264 MP4 showing each colour in turn for `seconds_each` seconds; with `tone` (Hz), an AAC
    sound track of that sine tone, as long as the picture unless `sound_seconds` says otherwise."""
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        sound = output.add_stream("aac", rate=sample_rate, layout=layout) if tone is not None else None
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
        if sound is not None and tone is not None:
            length = sound_seconds if sound_seconds is not None else seconds_each * len(colours)
            for frame in sine_frames(tone, length, sample_rate=sample_rate, layout=layout):
                for packet in sound.encode(frame):
                    output.mux(packet)
            for packet in sound.encode(None):
                output.mux(packet)
    return buffer.getvalue()


def sine_frames(
    tone: float, seconds: float, *, sample_rate: int, layout: str, amplitude: float = 0.5
) -> list[av.AudioFrame]:
    """A sine tone as planar float frames of 1024 samples (what the AAC encoder takes)."""
    total = round(seconds * sample_rate)
    frames = []
    for start in range(0, total, 1024):
        count = min(1024, total - start)
        samples = array(
            "f", (amplitude * math.sin(2 * math.pi * tone * (start + i) / sample_rate) for i in range(count))
        )
        frame = av.AudioFrame(format="fltp", layout=layout, samples=count)
        for plane in frame.planes:
            plane.update(samples.tobytes() + bytes(plane.buffer_size - len(samples) * 4))
        frame.sample_rate, frame.pts, frame.time_base = sample_rate, start, Fraction(1, sample_rate)
        frames.append(frame)
    return frames


def loudness(data: bytes, start: float, end: float) -> float:
    """The root mean square of the first sound stream's first channel between `start` and `end`
    seconds (0 for silence, about 0.35 for the tone `mp4_bytes` writes)."""
    total, count = 0.0, 0
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(container.streams.audio[0]):
            at, rate = float(frame.time or 0.0), frame.sample_rate
            channel = frame.to_ndarray().reshape(len(frame.layout.channels), -1)[0]
            for i, value in enumerate(channel.tolist()):
                if start <= at + i / rate < end:
                    total += float(value) ** 2
                    count += 1
    return math.sqrt(total / count) if count else 0.0


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
