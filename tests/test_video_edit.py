"""Last frames and stitching on real MP4s made with PyAV in the test."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.video_edit import VideoUnreadable, duration_seconds, last_frame, last_frame_png, stitch
from tests.videos import mp4_bytes

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
