"""Last frames and stitching on real MP4s made with PyAV in the test."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import av
import pytest
from PIL import Image

from bot.video_edit import (
    VideoUnreadable,
    duration_seconds,
    last_frame,
    last_frame_png,
    sound_seconds,
    stitch,
    stitch_to,
)
from tests.videos import loudness, mp4_bytes

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (30, 40, 220)


def _close(colour: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 30 for a, b in zip(colour, expected, strict=False))


def test_the_last_frame_is_the_end_of_the_video() -> None:
    video = mp4_bytes([RED, GREEN, BLUE], seconds_each=2)
    frame = last_frame(video)
    assert frame.size == (320, 240)
    assert _close(frame.getpixel((160, 120)), BLUE)  # type: ignore[arg-type]
    png = Image.open(io.BytesIO(last_frame_png(video)))
    assert png.format == "PNG" and _close(png.getpixel((10, 10)), BLUE)  # type: ignore[arg-type]


def test_a_short_clip_still_gives_its_last_frame() -> None:
    assert _close(last_frame(mp4_bytes([GREEN], seconds_each=0.3)).getpixel((0, 0)), GREEN)  # type: ignore[arg-type]


@pytest.mark.parametrize("junk", [b"", b"not a video at all", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64])
def test_junk_is_refused_in_words(junk: bytes) -> None:
    with pytest.raises(VideoUnreadable):
        last_frame(junk)


def test_stitching_two_shots_plays_both_in_order() -> None:
    first = mp4_bytes([RED], seconds_each=2)
    second = mp4_bytes([GREEN, BLUE], seconds_each=1.5)
    joined = stitch([first, second])
    assert duration_seconds(joined) == pytest.approx(
        duration_seconds(first) + duration_seconds(second), abs=0.15
    )
    assert _close(last_frame(joined).getpixel((5, 5)), BLUE)  # type: ignore[arg-type]


def test_shots_of_different_sizes_are_re_encoded() -> None:
    first = mp4_bytes([RED], seconds_each=1, size=(320, 240))
    second = mp4_bytes([GREEN], seconds_each=1, size=(160, 120))
    joined = stitch([first, second])
    assert duration_seconds(joined) == pytest.approx(2.0, abs=0.2)
    frame = last_frame(joined)
    assert frame.size == (320, 240) and _close(frame.getpixel((5, 5)), GREEN)  # type: ignore[arg-type]


# --- sound -------------------------------------------------------------------------------------------
# Shots with a sine tone (AAC), made by PyAV here; `loudness` decodes the stitched story's sound.

TONE = 0.3  # the tone's loudness (RMS) is about 0.35; silence is 0


def _segments(joined: bytes, bounds: list[float]) -> list[float]:
    """The loudness inside each shot of the story (a tenth of a second away from the joins)."""
    return [loudness(joined, start + 0.1, end - 0.1) for start, end in itertools.pairwise(bounds)]


def _lengths_add_up(joined: bytes, shots: list[bytes]) -> float:
    total = sum(duration_seconds(shot) for shot in shots)
    assert duration_seconds(joined) == pytest.approx(total, abs=0.15)
    return total


def test_shots_with_the_same_sound_keep_it_when_remuxed() -> None:
    shots = [mp4_bytes([RED], seconds_each=2, tone=440), mp4_bytes([GREEN], seconds_each=1.5, tone=440)]
    joined = stitch(shots)
    total = _lengths_add_up(joined, shots)
    assert sound_seconds(joined) == pytest.approx(total, abs=0.1)
    assert all(level > TONE for level in _segments(joined, [0.0, 2.0, total]))


def test_re_encoded_shots_keep_their_sound() -> None:
    shots = [
        mp4_bytes([RED], seconds_each=2, size=(320, 240), tone=440),
        mp4_bytes([GREEN], seconds_each=1.5, size=(160, 120), tone=660),
    ]
    joined = stitch(shots)  # sizes differ: the picture is re-encoded, the sound too
    total = _lengths_add_up(joined, shots)
    assert sound_seconds(joined) == pytest.approx(total, abs=0.1)
    assert all(level > TONE for level in _segments(joined, [0.0, 2.0, total]))
    assert _close(last_frame(joined).getpixel((5, 5)), GREEN)  # type: ignore[arg-type]


def test_a_silent_shot_between_sounding_ones_becomes_silence_of_its_length() -> None:
    shots = [
        mp4_bytes([RED], seconds_each=2, tone=440),
        mp4_bytes([GREEN], seconds_each=1.5),  # no sound track at all
        mp4_bytes([BLUE], seconds_each=1, tone=440),
    ]
    joined = stitch(shots)
    total = _lengths_add_up(joined, shots)
    assert sound_seconds(joined) == pytest.approx(total, abs=0.1)
    first, silent, last = _segments(joined, [0.0, 2.0, 3.5, total])
    assert first > TONE and last > TONE  # each shot's sound stays with its picture
    assert silent < 0.01


def test_sounds_of_different_rates_and_layouts_are_resampled_to_one() -> None:
    shots = [
        mp4_bytes([RED], seconds_each=1.5, tone=440, sample_rate=48_000, layout="stereo"),
        mp4_bytes([GREEN], seconds_each=1.5, tone=440, sample_rate=22_050, layout="mono"),
    ]
    joined = stitch(shots)
    total = _lengths_add_up(joined, shots)
    assert sound_seconds(joined) == pytest.approx(total, abs=0.1)
    with av.open(io.BytesIO(joined)) as container:
        [sound] = container.streams.audio
        assert (sound.codec_context.name, sound.codec_context.sample_rate) == ("aac", 48_000)
    assert all(level > 0.2 for level in _segments(joined, [0.0, 1.5, total]))  # mono is spread over two


def test_a_shots_sound_is_cut_or_padded_to_its_picture() -> None:
    shots = [
        mp4_bytes([RED], seconds_each=1, tone=440, sound_seconds=3.0),  # sound runs past the picture
        mp4_bytes([GREEN], seconds_each=2, size=(160, 120), tone=440, sound_seconds=0.5),  # stops early
    ]
    joined = stitch(shots)
    total = _lengths_add_up(joined, shots)
    assert sound_seconds(joined) == pytest.approx(total, abs=0.1)
    assert loudness(joined, 1.1, 1.4) > TONE  # the second shot's own sound starts with its picture
    assert loudness(joined, 1.7, 2.9) < 0.01  # then silence, not the first shot's overflow


def test_no_sound_anywhere_gives_a_story_without_sound() -> None:
    joined = stitch([mp4_bytes([RED]), mp4_bytes([GREEN], size=(160, 120))])
    assert sound_seconds(joined) is None


def test_shots_of_different_frame_rates_keep_their_lengths_when_re_encoded() -> None:
    shots = [
        mp4_bytes([RED], seconds_each=2, fps=10),
        mp4_bytes([GREEN, BLUE], seconds_each=1, fps=25, size=(160, 120)),
    ]
    joined = stitch(shots)
    _lengths_add_up(joined, shots)
    assert _close(last_frame(joined).getpixel((5, 5)), BLUE)  # type: ignore[arg-type]


def test_stitch_to_writes_a_file_from_files(tmp_path: Path) -> None:
    paths = []
    for number, shot in enumerate([mp4_bytes([RED], tone=440), mp4_bytes([GREEN], tone=440)]):
        paths.append(tmp_path / f"shot-{number}.mp4")
        paths[-1].write_bytes(shot)
    story = tmp_path / "story.mp4"
    stitch_to(paths, story)
    assert duration_seconds(story) == pytest.approx(2.0, abs=0.15)
    assert sound_seconds(story) == pytest.approx(2.0, abs=0.1)
