"""The reference video is read with PyAV from a capped download and held to the model's limits."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bot import media
from bot.kling.capabilities import reference_video_limits
from bot.kling.models import Model
from bot.media_video import VideoInfo, check_limits, inspect_video, preflight_reference_video
from tests.fakes.kling_rules import video_problem
from tests.images import png_bytes
from tests.videos import video_bytes

URL = "https://cdn.example.test/attachments/1/2/ref.mp4"


def _http(body: bytes, calls: list[httpx.Request] | None = None) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(body), headers={"content-type": "video/mp4"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def _preflight(data: bytes, model: Model, *, name: str = "ref.mp4") -> VideoInfo:
    async with _http(data) as http:
        return await preflight_reference_video(
            http, url=URL, name=name, size=len(data), content_type=None, model=model
        )


async def _refusal(data: bytes, model: Model, *, name: str = "ref.mp4") -> str:
    with pytest.raises(media.AttachmentRefused) as caught:
        await _preflight(data, model, name=name)
    return str(caught.value)


def test_a_real_mp4_and_mov_are_measured() -> None:
    mp4 = inspect_video(video_bytes(720, 1280, seconds=3.5, fps=30))
    assert (mp4.container, mp4.width, mp4.height, mp4.fps) == ("MP4", 720, 1280, 30.0)
    assert mp4.seconds == pytest.approx(3.5, abs=0.05)
    assert inspect_video(video_bytes(container="mov")).container == "MOV"


async def test_a_good_video_passes_for_both_models() -> None:
    data = video_bytes(1280, 720, seconds=4, fps=24)
    for model in (Model.O1, Model.V3_OMNI):
        info = await _preflight(data, model)
        assert info.seconds == pytest.approx(4, abs=0.05)
        # The fake AceData, written from the guide, agrees.
        assert video_problem(model.value, data) is None


async def test_duration_limits_differ_per_model() -> None:
    eleven = video_bytes(720, 720, seconds=11, fps=24)
    assert "lasts 11.0 s; kling-o1 takes reference videos of 3 to 10 s" in await _refusal(eleven, Model.O1)
    assert (await _preflight(eleven, Model.V3_OMNI)).seconds == pytest.approx(11, abs=0.05)
    short = video_bytes(720, 720, seconds=2, fps=24)
    assert "lasts 2.0 s" in await _refusal(short, Model.V3_OMNI)
    assert video_problem("kling-o1", eleven) is not None
    assert video_problem("kling-v3-omni", short) is not None


async def test_frame_rate_must_be_24_to_60() -> None:
    slow = video_bytes(720, 720, seconds=3.5, fps=12)
    message = await _refusal(slow, Model.V3_OMNI)
    assert "runs at 12 frames per second; reference videos must be 24 to 60 fps" in message
    assert video_problem("kling-v3-omni", slow) is not None


async def test_sides_and_shape_follow_the_model() -> None:
    small = video_bytes(640, 360, seconds=3.5)
    assert "sides are 700 to 2160 px" in await _refusal(small, Model.O1)
    wide = video_bytes(2000, 720, seconds=3.5)  # 2.78:1
    assert "from 0.4:1 (tall) to 2:1 (wide)" in await _refusal(wide, Model.V3_OMNI)
    assert (await _preflight(wide, Model.O1)).width == 2000  # kling-o1 documents no shape limit


def test_the_pixel_count_limit_of_kling_v3_omni() -> None:
    limits = reference_video_limits(Model.V3_OMNI)
    assert limits is not None
    check_limits(VideoInfo("MP4", 5, 30, 3840, 2160), Model.V3_OMNI, limits)
    with pytest.raises(media.AttachmentRefused, match="more than the 8,294,400 pixels"):
        check_limits(VideoInfo("MP4", 5, 30, 4000, 2200), Model.V3_OMNI, limits)


@pytest.mark.parametrize(
    ("make", "hint"),
    [
        (lambda: png_bytes(720, 720), "is not an MP4 or MOV video"),
        (lambda: video_bytes(seconds=3.5)[:2000], "looks damaged or incomplete"),
        (lambda: b"\x00" * 5000, "looks damaged or incomplete"),
    ],
)
async def test_what_is_not_a_readable_video_is_refused(make: Callable[[], bytes], hint: str) -> None:
    assert hint in await _refusal(make(), Model.V3_OMNI)


async def test_a_declared_non_video_is_refused_without_downloading() -> None:
    calls: list[httpx.Request] = []
    async with _http(b"whatever", calls) as http:
        with pytest.raises(media.AttachmentRefused, match="MP4 or MOV"):
            await preflight_reference_video(
                http, url=URL, name="clip.avi", size=100, content_type="video/x-msvideo", model=Model.O1
            )
    assert calls == []
