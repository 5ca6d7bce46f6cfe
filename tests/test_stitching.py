"""Stitch through temporary files: shots downloaded from a fake CDN on 127.0.0.1 within the upload
limit, joined into a file, every temporary file removed whatever happens."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.jobs.stitching import ShotMissing, StoryTooBig, join_shots, stitch_story
from bot.video_edit import VideoUnreadable, duration_seconds, sound_seconds
from tests.cdn import Cdn
from tests.videos import mp4_bytes

RED, GREEN = (220, 30, 30), (30, 200, 40)
CAP = 100 * 1024 * 1024


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every temporary file of the run lands here, so the test can see what is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


def _left(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _serve(cdn: Cdn, shots: dict[str, bytes]) -> list[str]:
    for name, data in shots.items():
        cdn.files[name] = (data, "video/mp4")
    return [cdn.url(f"/files/{name}") for name in shots]


async def test_a_story_is_joined_into_a_file_and_the_shots_are_removed(
    cdn: Cdn, http: httpx.AsyncClient, temp_dir: Path
) -> None:
    shots = {
        "a.mp4": mp4_bytes([RED], seconds_each=2, tone=440),
        "b.mp4": mp4_bytes([GREEN], seconds_each=1.5),
    }
    story = await stitch_story(http, _serve(cdn, shots), limit=CAP, read_cap=CAP)
    try:
        assert _left(temp_dir) == [story.path]  # only the story is left, for sending
        assert story.size == story.path.stat().st_size
        assert story.seconds == pytest.approx(3.5, abs=0.15) == duration_seconds(story.path)
        assert sound_seconds(story.path) == pytest.approx(3.5, abs=0.1)
    finally:
        story.remove()
    assert _left(temp_dir) == []


async def test_shots_past_the_upload_limit_are_refused_while_downloading(
    cdn: Cdn, http: httpx.AsyncClient, temp_dir: Path
) -> None:
    shots = {"a.mp4": mp4_bytes([RED], seconds_each=2), "b.mp4": mp4_bytes([GREEN], seconds_each=2)}
    limit = len(shots["a.mp4"]) + 100  # the first fits, the second can't
    with pytest.raises(StoryTooBig) as refused:
        await stitch_story(http, _serve(cdn, shots), limit=limit, read_cap=CAP)
    assert refused.value.size is None
    assert _left(temp_dir) == []


async def test_a_missing_or_broken_shot_leaves_nothing_behind(
    cdn: Cdn, http: httpx.AsyncClient, temp_dir: Path
) -> None:
    [good] = _serve(cdn, {"a.mp4": mp4_bytes([RED])})
    with pytest.raises(ShotMissing) as missing:
        await stitch_story(http, [good, None], limit=CAP, read_cap=CAP)
    assert missing.value.number == 2
    with pytest.raises(ShotMissing):
        await stitch_story(http, [good, cdn.url("/status/404")], limit=CAP, read_cap=CAP)
    [junk] = _serve(cdn, {"junk.mp4": b"this is no video" * 100})
    with pytest.raises(VideoUnreadable):
        await stitch_story(http, [good, junk], limit=CAP, read_cap=CAP)
    assert _left(temp_dir) == []


def test_a_story_heavier_than_the_limit_once_joined_is_refused_and_removed(
    tmp_path: Path, temp_dir: Path
) -> None:
    shots = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    shots[0].write_bytes(mp4_bytes([RED]))
    shots[1].write_bytes(mp4_bytes([GREEN], size=(160, 120)))
    with pytest.raises(StoryTooBig) as refused:
        join_shots(shots, 1000)  # the shots fitted; the joined file is measured too
    assert refused.value.size is not None and refused.value.size > 1000
    assert _left(temp_dir) == []


async def test_no_shot_is_read_into_memory(
    cdn: Cdn, http: httpx.AsyncClient, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_whole_reads(self: Path) -> bytes:
        raise AssertionError(f"{self} was read whole into memory")

    monkeypatch.setattr(Path, "read_bytes", no_whole_reads)
    story = await stitch_story(
        http, _serve(cdn, {"a.mp4": mp4_bytes([RED]), "b.mp4": mp4_bytes([GREEN])}), limit=CAP, read_cap=CAP
    )
    story.remove()
