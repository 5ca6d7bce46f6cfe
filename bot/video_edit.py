"""Work on finished videos with PyAV: the last frame of a shot (Next shot) and a story joined into
one MP4 (Stitch). CPU-bound and blocking: call these in a worker thread (`asyncio.to_thread`).

Videos are read from files (or from bytes, for small clips and tests) and a story is written to a
file: PyAV reads and writes them packet by packet, so memory stays at a few frames whatever the
shots weigh. Shots are opened one at a time.

Picture: remuxed (the compressed packets copied: no quality loss, fast) when every shot has the same
video codec, size and pixel format, which is what one model delivers; otherwise re-encoded to H.264 at
the first shot's size and frame rate, repeating or dropping frames so each shot keeps its length.

Sound: copied with the picture when the picture is copied and every shot has sound in the same
format. Otherwise, as soon as one shot has sound, every shot's sound is decoded, resampled to one
format (the first sound's rate; stereo unless all are mono) and re-encoded to AAC. A shot without
sound contributes silence for its length, and each shot's sound is cut or padded to its picture's
length, so sound and picture stay together across the joins. A story where no shot has sound has none.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any

import av
from PIL import Image

from bot.refusals import N_

#: How far before the end to seek for the last frame (keyframes are at most a couple of seconds apart).
_TAIL_SECONDS = 3.0
#: Samples per AAC frame (AAC-LC always codes 1024).
_AAC_FRAME = 1024
_SOUND_FORMAT = "fltp"  # what FFmpeg's AAC encoder takes

#: A video to read: a file's path, or its bytes (small clips, tests).
VideoSource = bytes | str | os.PathLike[str]


class VideoUnreadable(Exception):
    """The bytes are not a video PyAV can decode. `str()` is what the member reads, in English: a
    message id (marked with `N_`) shown in their language by the Discord side."""


def _open(source: VideoSource) -> Any:
    try:
        if isinstance(source, bytes):
            return av.open(io.BytesIO(source), mode="r")
        return av.open(os.fspath(source), mode="r")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise VideoUnreadable(N_("I couldn't read that video file.")) from exc


def last_frame(source: VideoSource) -> Image.Image:
    """The last decodable frame of the first video stream."""
    with contextlib.closing(_open(source)) as container:
        if not container.streams.video:
            raise VideoUnreadable(N_("That file has no video in it."))
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
                raise VideoUnreadable(N_("I couldn't decode the frames of that video.")) from exc
        if last is None:
            raise VideoUnreadable(N_("That video has no frame I can decode."))
        image: Image.Image = last.to_image()
        return image.convert("RGB")


def last_frame_png(source: VideoSource) -> bytes:
    buffer = io.BytesIO()
    last_frame(source).save(buffer, format="PNG")
    return buffer.getvalue()


def duration_seconds(source: VideoSource) -> float:
    """Length of the video stream in seconds (from packet timestamps, which every MP4 has)."""
    with contextlib.closing(_open(source)) as container:
        if not container.streams.video:
            raise VideoUnreadable(N_("That file has no video in it."))
        return _stream_end(container, container.streams.video[0])


def sound_seconds(source: VideoSource) -> float | None:
    """Length of the first sound stream in seconds, or None when the video has no sound."""
    with contextlib.closing(_open(source)) as container:
        if not container.streams.audio:
            return None
        return _stream_end(container, container.streams.audio[0])


def _stream_end(container: Any, stream: Any) -> float:
    """Where the stream ends, counted from its first packet's presentation time."""
    end = 0.0
    first: int | None = None
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        first = packet.pts if first is None else min(first, packet.pts)
        tail = packet.pts - first + (packet.duration or 0)
        end = max(end, float(tail * packet.time_base))
    return end


def _signature(stream: Any) -> tuple[Any, ...]:
    ctx = stream.codec_context
    return (ctx.name, ctx.width, ctx.height, getattr(ctx, "pix_fmt", None))


def _audio_signature(stream: Any) -> tuple[Any, ...]:
    ctx = stream.codec_context
    return (ctx.name, ctx.sample_rate, getattr(ctx.layout, "name", None))


# --- Stitch ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Probe:
    """What joining needs to know about one shot before writing anything."""

    video: tuple[Any, ...]
    #: None: the shot has no sound.
    audio: tuple[Any, ...] | None
    channels: int
    sample_rate: int
    frame_rate: Fraction
    width: int
    height: int
    #: Seconds of picture (the shot's length in the story).
    length: float


def _probe(source: VideoSource) -> _Probe:
    with contextlib.closing(_open(source)) as container:
        if not container.streams.video:
            raise VideoUnreadable(N_("One of the shots has no video in it."))
        video = container.streams.video[0]
        sound = container.streams.audio[0] if container.streams.audio else None
        ctx = video.codec_context
        return _Probe(
            video=_signature(video),
            audio=_audio_signature(sound) if sound is not None else None,
            channels=sound.codec_context.channels if sound is not None else 0,
            sample_rate=sound.codec_context.sample_rate if sound is not None else 0,
            frame_rate=video.average_rate or Fraction(24),
            width=ctx.width,
            height=ctx.height,
            length=_stream_end(container, video),
        )


class _Sound(Enum):
    NONE = "none"  # no shot has sound
    COPY = "copy"  # packets copied with the picture
    ENCODE = "encode"  # decoded, resampled, silence for the silent shots, AAC


def _sound_plan(probes: Sequence[_Probe], copy_video: bool) -> _Sound:
    sounds = [probe.audio for probe in probes]
    if not any(sounds):
        return _Sound.NONE
    if copy_video and all(sound == sounds[0] for sound in sounds):
        return _Sound.COPY
    return _Sound.ENCODE


def stitch(videos: Sequence[VideoSource]) -> bytes:
    """The videos one after another in one MP4, in memory (small clips, tests): Stitch itself writes
    to a file with `stitch_to`."""
    buffer = io.BytesIO()
    _stitch(videos, buffer)
    return buffer.getvalue()


def stitch_to(videos: Sequence[VideoSource], output: str | os.PathLike[str]) -> None:
    """Write the videos one after another into the MP4 file `output` (the caller removes it, also
    when this raises)."""
    _stitch(videos, os.fspath(output))


def _stitch(videos: Sequence[VideoSource], target: Any) -> None:
    if not videos:
        raise VideoUnreadable(N_("There is nothing to stitch."))
    try:
        probes = [_probe(video) for video in videos]
        copy_video = all(probe.video == probes[0].video for probe in probes)
        sound = _sound_plan(probes, copy_video)
        with av.open(target, mode="w", format="mp4") as output:
            joiner = _Joiner(output, probes, copy_video=copy_video, sound=sound)
            for video, probe in zip(videos, probes, strict=True):
                with contextlib.closing(_open(video)) as container:
                    joiner.add(container, probe)
            joiner.finish()
    except av.error.FFmpegError as exc:
        raise VideoUnreadable(N_("I couldn't join those videos.")) from exc


class _Joiner:
    """Appends shots to `output`, one open shot at a time; `offset` is where the next shot starts."""

    def __init__(self, output: Any, probes: Sequence[_Probe], *, copy_video: bool, sound: _Sound) -> None:
        self.output = output
        self.copy_video = copy_video
        self.sound = sound
        self.offset = 0.0
        first = probes[0]
        self.width, self.height, self.frame_rate = first.width, first.height, first.frame_rate
        self.video_out: Any = None
        self.audio_out: Any = None
        self.frames_out = 0
        self.track: _SoundTrack | None = None
        if sound is _Sound.ENCODE:
            with_sound = [probe for probe in probes if probe.audio is not None]
            layout = "mono" if all(probe.channels == 1 for probe in with_sound) else "stereo"
            rate = with_sound[0].sample_rate or 48_000
            self.audio_out = output.add_stream("aac", rate=rate, layout=layout)
            self.track = _SoundTrack(output, self.audio_out, rate=rate, layout=layout)

    def _open_streams(self, container: Any) -> None:
        """The output's picture (and copied sound) streams, modelled on the first shot."""
        if self.video_out is not None:
            return
        if self.copy_video:
            self.video_out = self.output.add_stream_from_template(container.streams.video[0])
        else:
            stream = self.output.add_stream("libx264", rate=self.frame_rate)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            self.video_out = stream
        if self.sound is _Sound.COPY:
            self.audio_out = self.output.add_stream_from_template(container.streams.audio[0])

    def add(self, container: Any, probe: _Probe) -> None:
        self._open_streams(container)
        if self.sound is _Sound.COPY:
            self.offset += self._copy_packets(container, with_sound=True)
            return
        end = self.offset + probe.length
        if self.track is not None:
            self.track.begin_shot(until=end)
        if self.copy_video:
            self._copy_packets(container, with_sound=False)
        else:
            self._encode_frames(container, probe)
        if self.track is not None:
            self.track.end_shot()
        self.offset = end

    def _copy_packets(self, container: Any, *, with_sound: bool) -> float:
        """Copy the shot's compressed picture (and sound, when copied) at `offset`; decode its sound
        into the track when sound is re-encoded. Returns where the copied streams end."""
        video = container.streams.video[0]
        sound = container.streams.audio[0] if container.streams.audio else None
        streams = [video] + ([sound] if sound is not None and (with_sound or self.track) else [])
        resampler = self.track.resampler() if self.track is not None else None
        start: dict[int, int] = {}
        end = 0.0
        for packet in container.demux(streams):
            is_video = packet.stream.type == "video"
            if not is_video and resampler is not None:
                assert self.track is not None
                for frame in packet.decode():  # the flush packet at the end drains the decoder
                    self.track.add(frame, resampler)
                continue
            if packet.dts is None or packet.pts is None:
                continue  # the flush packet demux ends each stream with
            base = packet.time_base
            # The first packet of a stream (a keyframe) carries the earliest presentation time.
            first = start.setdefault(packet.stream.index, packet.pts)
            shift = round(Fraction(self.offset) / base) - first
            end = max(end, float((packet.pts - first + (packet.duration or 0)) * base))
            packet.pts += shift
            packet.dts += shift
            packet.stream = self.video_out if is_video else self.audio_out
            self.output.mux(packet)
        if resampler is not None:
            assert self.track is not None
            self.track.drain(resampler)
        return end

    def _encode_frames(self, container: Any, probe: _Probe) -> None:
        """Re-encode the shot's picture at the story's size and frame rate: each output frame shows the
        shot's frame of that moment, so the shot keeps its length whatever its own frame rate."""
        video = container.streams.video[0]
        sound = container.streams.audio[0] if container.streams.audio and self.track else None
        resampler = self.track.resampler() if self.track is not None and sound is not None else None
        shown: Any = None  # the picture on screen until the next decoded frame's time
        first: float | None = None
        for frame in container.decode(*([video] + ([sound] if sound is not None else []))):
            if isinstance(frame, av.AudioFrame):
                assert self.track is not None and resampler is not None
                self.track.add(frame, resampler)
                continue
            at = float(frame.time) if frame.time is not None else 0.0
            first = at if first is None else first
            if shown is not None:
                self._show_until(shown, self.offset + at - first)
            shown = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        if shown is not None:
            self._show_until(shown, self.offset + probe.length)
        if resampler is not None:
            assert self.track is not None
            self.track.drain(resampler)

    def _show_until(self, picture: Any, until: float) -> None:
        while Fraction(self.frames_out) / self.frame_rate < until - 1e-6:
            picture.pts = self.frames_out
            picture.time_base = 1 / self.frame_rate
            self.frames_out += 1
            for packet in self.video_out.encode(picture):
                self.output.mux(packet)

    def finish(self) -> None:
        if not self.copy_video and self.video_out is not None:
            for packet in self.video_out.encode():
                self.output.mux(packet)
        if self.track is not None:
            self.track.close()


class _SoundTrack:
    """The re-encoded sound: decoded frames resampled to one format, counted in samples so each
    shot's sound ends exactly where its picture does."""

    def __init__(self, output: Any, stream: Any, *, rate: int, layout: str) -> None:
        self.output = output
        self.stream = stream
        self.rate = rate
        self.layout = layout
        #: Samples of the story's sound so far, and the most the current shot may reach.
        self.written = 0
        self.limit = 0
        self.pending = av.AudioFifo()  # less than one AAC frame waits here between writes
        self.encoded = 0

    def resampler(self) -> Any:
        """A resampler for one shot (each shot may have its own rate and layout)."""
        return av.AudioResampler(format=_SOUND_FORMAT, layout=self.layout, rate=self.rate)

    def add(self, frame: Any, resampler: Any) -> None:
        for converted in resampler.resample(frame):
            self._take(converted)

    def drain(self, resampler: Any) -> None:
        for converted in resampler.resample(None):
            self._take(converted)

    def begin_shot(self, *, until: float) -> None:
        """The next samples are the shot's that ends `until` seconds into the story."""
        self.limit = round(until * self.rate)

    def _take(self, frame: Any) -> None:
        """Keep the frame's samples that fit before the current shot's end; drop the rest."""
        room = self.limit - self.written
        if room <= 0:
            return
        if frame.samples > room:
            cut = av.AudioFifo()
            frame.pts = None
            cut.write(frame)
            frame = cut.read(room)
        self._write(frame)

    def _write(self, frame: Any) -> None:
        frame.pts = None
        frame.sample_rate = self.rate
        self.pending.write(frame)
        self.written += frame.samples
        while self.pending.samples >= _AAC_FRAME:
            self._encode(self.pending.read(_AAC_FRAME))

    def end_shot(self) -> None:
        """Silence up to the shot's end when its own sound was shorter (or missing)."""
        while self.written < self.limit:
            self._write(self._silence(min(_AAC_FRAME, self.limit - self.written)))

    def _silence(self, samples: int) -> Any:
        frame = av.AudioFrame(format=_SOUND_FORMAT, layout=self.layout, samples=samples)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = self.rate
        return frame

    def _encode(self, frame: Any) -> None:
        frame.pts = self.encoded
        frame.time_base = Fraction(1, self.rate)
        frame.sample_rate = self.rate
        self.encoded += frame.samples
        for packet in self.stream.encode(frame):
            self.output.mux(packet)

    def close(self) -> None:
        if self.pending.samples:
            self._encode(self.pending.read())
        for packet in self.stream.encode(None):
            self.output.mux(packet)
