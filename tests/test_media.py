"""Attachment pre-flight: every refusal from the inputs checklist, and downloads against a local server."""

from __future__ import annotations

import warnings
from io import BytesIO

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image, ImageFile, PngImagePlugin

from bot import media
from bot.media import AttachmentRefused, ImageInfo
from tests import images
from tests.cdn import Cdn

MB = media.MB


# --- declared metadata ----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [12 * MB, 500 * MB])
def test_declared_size_over_the_limit_is_refused_with_both_sizes(size: int) -> None:
    with pytest.raises(AttachmentRefused) as refused:
        media.check_declared("cat.png", size, "image/png", label="start_image")
    message = str(refused.value)
    assert f"{size // MB} MB" in message
    assert "10 MB" in message
    assert "start_image" in message
    assert refused.value.label == "start_image"


def test_size_just_over_the_limit_never_reads_as_equal_to_it() -> None:
    with pytest.raises(AttachmentRefused, match=r"10\.1 MB"):
        media.check_declared("cat.png", 10 * MB + 1, "image/png", label="start_image")


def test_size_at_the_limit_is_accepted() -> None:
    media.check_declared("cat.png", 10 * MB, "image/png", label="start_image")


def test_empty_file_is_refused() -> None:
    with pytest.raises(AttachmentRefused, match="empty"):
        media.check_declared("cat.png", 0, "image/png", label="start_image")


@pytest.mark.parametrize(
    "content_type", ["text/html", "video/mp4", "application/pdf", "text/plain; charset=utf-8"]
)
def test_obviously_non_image_content_type_is_refused(content_type: str) -> None:
    with pytest.raises(AttachmentRefused, match="not a picture"):
        media.check_declared("cat.png", 1000, content_type, label="end_image")


@pytest.mark.parametrize(("content_type", "kind"), [("image/gif", "GIF"), ("image/webp", "WEBP")])
def test_other_picture_formats_are_refused_by_name(content_type: str, kind: str) -> None:
    with pytest.raises(AttachmentRefused, match=f"{kind} picture; only JPG and PNG"):
        media.check_declared("cat.img", 1000, content_type, label="end_image")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("cat.png", "image/png"),
        ("cat.JPG", "image/jpeg"),
        ("cat.png", "IMAGE/PNG; charset=binary"),
        ("cat.jpeg", None),
        ("cat.png", "application/octet-stream"),
        ("cat", None),
    ],
)
def test_plausible_pictures_pass_the_declared_check(name: str, content_type: str | None) -> None:
    media.check_declared(name, 1000, content_type, label="start_image")


def test_untyped_file_with_a_foreign_extension_is_refused() -> None:
    with pytest.raises(AttachmentRefused, match=r"\.jpg, \.jpeg or \.png"):
        media.check_declared("cat.webp", 1000, None, label="start_image")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("clip.mp4", "video/mp4"), ("clip.mov", "video/quicktime"), ("clip.MOV", None), ("x.mp4", "")],
)
def test_reference_video_in_mp4_or_mov_passes(name: str, content_type: str | None) -> None:
    media.check_video_reference(name, 150 * MB, content_type)


@pytest.mark.parametrize(
    ("name", "content_type"), [("clip.avi", None), ("clip.webm", "video/webm"), ("cat.png", "image/png")]
)
def test_reference_video_in_other_formats_is_refused(name: str, content_type: str | None) -> None:
    with pytest.raises(AttachmentRefused, match="MP4 or MOV"):
        media.check_video_reference(name, 10 * MB, content_type)


def test_reference_video_over_200_mb_is_refused() -> None:
    with pytest.raises(AttachmentRefused, match=r"250 MB.*200 MB"):
        media.check_video_reference("clip.mp4", 250 * MB, "video/mp4")


# --- decoding -------------------------------------------------------------------------------------
def test_valid_png_and_jpeg_are_measured() -> None:
    assert media.inspect_image(images.png_bytes(640, 480), label="start_image") == ImageInfo(640, 480, "PNG")
    assert media.inspect_image(images.jpeg_bytes(400, 900), label="end_image") == ImageInfo(400, 900, "JPEG")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (images.text_bytes(), "not a JPG or PNG"),
        (images.html_bytes(), "not a JPG or PNG"),
        (images.gif_bytes(), "not a JPG or PNG"),
        (images.truncated_jpeg_bytes(), "damaged or incomplete"),
    ],
    ids=["text-named-png", "html", "gif", "truncated-jpeg"],
)
def test_files_that_are_not_whole_jpegs_or_pngs_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(AttachmentRefused, match=reason) as refused:
        media.inspect_image(data, label="reference_image_2")
    assert "reference_image_2" in str(refused.value)
    assert "Traceback" not in str(refused.value)


def test_the_truncated_jpeg_has_an_intact_header() -> None:
    """Guards the fixture: the refusal must come from decoding the pixels, not from the header."""
    with Image.open(BytesIO(images.truncated_jpeg_bytes())) as image:
        assert image.size == (640, 480)


@pytest.mark.parametrize(("width", "height"), [(200, 200), (299, 600), (600, 299)])
def test_small_pictures_are_refused_naming_the_minimum(width: int, height: int) -> None:
    with pytest.raises(AttachmentRefused, match=rf"{width}×{height} px.*at least 300 px"):
        media.inspect_image(images.png_bytes(width, height), label="start_image")


@pytest.mark.parametrize(("width", "height"), [(4000, 1000), (1000, 4000), (751, 300)])
def test_pictures_outside_the_aspect_range_are_refused(width: int, height: int) -> None:
    with pytest.raises(AttachmentRefused, match=r"between 1:2\.5 \(tall\) and 2\.5:1 \(wide\)"):
        media.inspect_image(images.jpeg_bytes(width, height), label="start_image")


@pytest.mark.parametrize(("width", "height"), [(300, 300), (750, 300), (300, 750)])
def test_pictures_on_the_limits_are_accepted(width: int, height: int) -> None:
    assert media.inspect_image(images.png_bytes(width, height), label="start_image").width == width


@pytest.fixture
def pixel_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every attempt to verify or decode pixel data (the step that allocates the image)."""
    calls: list[str] = []
    real_load = ImageFile.ImageFile.load
    real_verify = PngImagePlugin.PngImageFile.verify

    def load(self: ImageFile.ImageFile) -> object:
        calls.append(f"load {self.size}")
        return real_load(self)

    def verify(self: PngImagePlugin.PngImageFile) -> None:
        calls.append(f"verify {self.size}")
        real_verify(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "verify", verify)
    return calls


def test_pixel_spy_sees_a_normal_decode(pixel_spy: list[str]) -> None:
    media.inspect_image(images.png_bytes(400, 400), label="start_image")
    assert pixel_spy == ["verify (400, 400)", "load (400, 400)"]


@pytest.mark.parametrize(
    ("width", "height"),
    [(30_000, 30_000), (10_000, 10_000), (8_000, 6_000)],
    ids=["pillow-bomb-error", "pillow-bomb-warning", "own-40mp-cap"],
)
def test_decompression_bombs_are_refused_from_the_header_alone(
    width: int, height: int, pixel_spy: list[str]
) -> None:
    bomb = images.bomb_png(width, height)
    assert len(bomb) < 200_000
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(AttachmentRefused, match="far too many pixels"):
            media.inspect_image(bomb, label="start_image")
    assert pixel_spy == []  # no pixel buffer was ever made
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert warnings.filters == filters_before


def test_bomb_fixture_is_a_real_png() -> None:
    """Guards the fixture: Pillow reads the header of the hand-written PNG and sees its size."""
    with Image.open(BytesIO(images.bomb_png(8_000, 6_000)), formats=["PNG"]) as image:
        assert image.size == (8_000, 6_000)


# --- frame pairs ----------------------------------------------------------------------------------
def test_frames_of_the_same_shape_are_not_flagged() -> None:
    assert media.check_frame_pair(ImageInfo(1920, 1080, "PNG"), ImageInfo(1280, 720, "JPEG")) is None
    # 1% off is within the tolerance.
    assert media.check_frame_pair(ImageInfo(1000, 1000, "PNG"), ImageInfo(1010, 1000, "PNG")) is None


def test_frames_of_different_shapes_are_flagged_not_refused() -> None:
    warning = media.check_frame_pair(ImageInfo(1920, 1080, "PNG"), ImageInfo(1080, 1920, "PNG"))
    assert warning is not None
    assert "1080×1920" in str(warning) and "1920×1080" in str(warning)


async def test_download_returns_the_bytes(cdn: Cdn, http: httpx.AsyncClient) -> None:
    png = images.png_bytes(400, 400)
    cdn.files["ok.png"] = (png, "image/png")
    assert await media.download_capped(http, cdn.url("/files/ok.png"), 10 * MB) == png


async def test_download_of_exactly_the_cap_is_kept(cdn: Cdn, http: httpx.AsyncClient) -> None:
    cdn.files["exact.bin"] = (b"x" * 1000, "application/octet-stream")
    assert len(await media.download_capped(http, cdn.url("/files/exact.bin"), 1000)) == 1000
    with pytest.raises(AttachmentRefused, match="bigger than"):
        await media.download_capped(http, cdn.url("/files/exact.bin"), 999)


@pytest.mark.parametrize("status", [403, 404, 410])
async def test_expired_or_removed_attachment_asks_for_a_new_upload(
    status: int, cdn: Cdn, http: httpx.AsyncClient
) -> None:
    with pytest.raises(AttachmentRefused) as refused:
        await media.download_capped(http, cdn.url(f"/status/{status}"), MB, label="end_image")
    assert "expired or was removed, please upload it again" in str(refused.value)
    assert "end_image" in str(refused.value)


async def test_server_error_asks_to_try_again(cdn: Cdn, http: httpx.AsyncClient) -> None:
    with pytest.raises(AttachmentRefused, match=r"HTTP 503.*try again"):
        await media.download_capped(http, cdn.url("/status/503"), MB)


async def test_oversized_body_without_content_length_is_cut_off(cdn: Cdn, http: httpx.AsyncClient) -> None:
    with pytest.raises(AttachmentRefused, match=r"bigger than 1 MB"):
        await media.download_capped(http, cdn.url("/endless"), MB, label="start_image")
    assert cdn.hits == ["/endless"]
    assert not cdn.stream_finished  # the client hung up long before the 50 MB were sent


async def test_declared_length_over_the_cap_is_refused_before_reading(
    cdn: Cdn, http: httpx.AsyncClient
) -> None:
    with pytest.raises(AttachmentRefused, match=r"bigger than 1 MB"):
        await media.download_capped(http, cdn.url("/lying-length"), MB, deadline=5)


async def test_slow_download_gets_a_friendly_refusal(cdn: Cdn, http: httpx.AsyncClient) -> None:
    with pytest.raises(AttachmentRefused, match=r"took too long.*try again"):
        await media.download_capped(http, cdn.url("/slow"), MB, deadline=0.2)


async def test_redirects_are_not_followed(cdn: Cdn, http: httpx.AsyncClient) -> None:
    cdn.files["ok.png"] = (images.png_bytes(400, 400), "image/png")
    with pytest.raises(AttachmentRefused, match="HTTP 302"):
        await media.download_capped(http, cdn.url("/redirect"), MB)
    assert cdn.hits == ["/redirect"]


async def test_compressed_body_is_refused_rather_than_inflated(cdn: Cdn, http: httpx.AsyncClient) -> None:
    with pytest.raises(AttachmentRefused, match="in a form I can"):
        await media.download_capped(http, cdn.url("/gzip"), MB)


async def test_unreachable_host_gets_a_friendly_refusal(http: httpx.AsyncClient) -> None:
    async with TestServer(web.Application(), host="127.0.0.1") as server:
        url = str(server.make_url("/gone.png"))
    # The server is closed now: nothing listens on that port.
    with pytest.raises(AttachmentRefused, match="couldn't download"):
        await media.download_capped(http, url, MB)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/cat.png", "not a url at all"])
async def test_only_http_urls_are_fetched(url: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request should be made, got {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(AttachmentRefused, match="upload the file to Discord directly"):
            await media.download_capped(client, url, MB)


# --- the whole pre-flight -------------------------------------------------------------------------
async def test_preflight_measures_a_good_picture(cdn: Cdn, http: httpx.AsyncClient) -> None:
    png = images.png_bytes(1280, 720)
    cdn.files["frame.png"] = (png, "image/png")
    info = await media.preflight_image(
        http,
        url=cdn.url("/files/frame.png"),
        name="frame.png",
        size=len(png),
        content_type="image/png",
        label="x",
    )
    assert info == ImageInfo(1280, 720, "PNG")


async def test_preflight_refuses_big_declared_size_without_downloading(
    cdn: Cdn, http: httpx.AsyncClient
) -> None:
    cdn.files["huge.png"] = (images.png_bytes(400, 400), "image/png")
    with pytest.raises(AttachmentRefused, match="12 MB"):
        await media.preflight_image(
            http,
            url=cdn.url("/files/huge.png"),
            name="huge.png",
            size=12 * MB,
            content_type="image/png",
            label="start_image",
        )
    assert cdn.hits == []


@pytest.mark.parametrize(
    ("name", "data"),
    [("page.png", images.html_bytes()), ("notes.png", images.text_bytes())],
    ids=["html", "text"],
)
async def test_preflight_refuses_non_images_declared_as_png(
    name: str, data: bytes, cdn: Cdn, http: httpx.AsyncClient
) -> None:
    cdn.files[name] = (data, "image/png")
    with pytest.raises(AttachmentRefused, match="not a JPG or PNG"):
        await media.preflight_image(
            http,
            url=cdn.url(f"/files/{name}"),
            name=name,
            size=len(data),
            content_type="image/png",
            label="start_image",
        )
    assert cdn.hits == [f"/files/{name}"]


async def test_preflight_refuses_a_body_bigger_than_declared(cdn: Cdn, http: httpx.AsyncClient) -> None:
    png = images.png_bytes(400, 400)
    cdn.files["liar.png"] = (png, "image/png")
    with pytest.raises(AttachmentRefused, match="bigger than"):
        await media.preflight_image(
            http,
            url=cdn.url("/files/liar.png"),
            name="liar.png",
            size=100,
            content_type="image/png",
            label="start_image",
            max_bytes=len(png) - 1,
        )
