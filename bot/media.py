"""Pre-flight checks of the files a member attaches, so nothing AceData would reject is ever paid for.

Order (docs/reference/discord-bot-constraints.md §4.3): the declared size and type first (no
download), then a capped download, then real decoding with Pillow restricted to JPEG and PNG, then
dimensions and shape. Animated pictures are refused, not cut to their first frame: GIF and WebP are
not accepted formats at all, and an animated PNG (APNG, which Discord labels image/png) is refused
with a sentence saying so, because which frame AceData would take is not documented and the member
should choose the frame. Every refusal is an `AttachmentRefused` whose `str()` is a sentence the
member can act on.

The attachment URL is used exactly as Discord gave it (it is not typed by the member), but only
over http(s) and without following redirects.
"""

from __future__ import annotations

import asyncio
import math
import threading
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePosixPath

import httpx
from PIL import Image, UnidentifiedImageError

from bot.refusals import N_, MemberRefusal, Text

MB = 1024 * 1024
#: AceData's limits for `start_image_url`, `end_image_url` and `image_list` entries.
MAX_IMAGE_BYTES = 10 * MB
MIN_IMAGE_SIDE = 300
MAX_ASPECT = 2.5
#: A JPEG or PNG within 10 MB that decodes to more pixels than this is a decompression bomb in
#: practice, and AceData would not take anything that large anyway.
MAX_IMAGE_PIXELS = 40_000_000
#: An end frame whose aspect ratio differs from the start frame's by more than this is flagged.
FRAME_ASPECT_TOLERANCE = 0.02
#: AceData's limit for a reference video in `video_list`.
MAX_VIDEO_BYTES = 200 * MB
#: Whole-download budget: httpx's own timeouts only bound the wait between two chunks. Discord's CDN
#: serves a 10 MB picture in a second or two; one that has not arrived after 12 s (under 1 MB/s) is
#: not coming, and the member, who sees only "thinking…" meanwhile, hears so 12 s after asking
#: rather than 30 (nothing is reserved or paid by then).
DOWNLOAD_DEADLINE_SECONDS = 12.0

ACCEPTED_FORMATS = ("JPEG", "PNG")
_IMAGE_TYPES = frozenset({"image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/x-png"})
_IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
_VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})
_VIDEO_EXTENSIONS = frozenset({".mp4", ".mov"})
# A type that says nothing about the bytes: decoding decides.
_UNKNOWN_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_GONE_STATUSES = frozenset({403, 404, 410})

# `warnings.catch_warnings` swaps the process-wide filter list; two threads doing it at once could
# leave the "error" filter installed for good, so image inspections take turns.
_WARNINGS_LOCK = threading.Lock()


class AttachmentRefused(MemberRefusal):
    """An attachment AceData would reject. `str()` is the friendly sentence shown to the member."""

    def __init__(self, message: str, *, label: str, **values: object) -> None:
        # `{label}` in the message is the attachment's option name.
        super().__init__(message, label=label, **values)
        self.label = label


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int
    height: int
    format: str

    @property
    def aspect(self) -> float:
        return self.width / self.height


def _megabytes(size: int) -> str:
    """Rounded up to 0.1 MB, so a file just over the limit never reads as equal to it."""
    return f"{math.ceil(size / MB * 10) / 10:g} MB"


def _media_type(content_type: str | None) -> str:
    """`image/PNG; charset=x` -> `image/png`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _extension(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _check_size(size: int | None, max_bytes: int, *, label: str, kind: Text, advice: Text) -> None:
    if size is None:
        # Not declared (a file rebuilt from a stored job): the capped download enforces `max_bytes`.
        return
    if size > max_bytes:
        raise AttachmentRefused(
            N_("`{label}` is {size}, but {kind} can be at most {limit}. Please {advice}."),
            label=label,
            size=_megabytes(size),
            kind=kind,
            limit=_megabytes(max_bytes),
            advice=advice,
        )
    if size <= 0:
        raise AttachmentRefused(N_("`{label}` is an empty file. Please upload it again."), label=label)


def check_declared(
    name: str, size: int | None, content_type: str | None, *, label: str, max_bytes: int = MAX_IMAGE_BYTES
) -> None:
    """Refuse an image from Discord's metadata alone, before anything is downloaded."""
    _check_size(
        size,
        max_bytes,
        label=label,
        kind=Text(N_("pictures")),
        advice=Text(N_("upload a smaller or more compressed JPG or PNG")),
    )
    media_type = _media_type(content_type)
    if media_type in _IMAGE_TYPES:
        return
    if media_type.startswith("image/"):
        raise AttachmentRefused(
            N_(
                "`{label}` is a {format} picture; only JPG and PNG are accepted. Please convert it to PNG "
                "or JPG and upload it again."
            ),
            label=label,
            format=media_type.removeprefix("image/").upper(),
        )
    if media_type not in _UNKNOWN_TYPES:
        raise AttachmentRefused(
            N_("`{label}` is not a picture. Please attach a JPG or PNG image."), label=label
        )
    extension = _extension(name)
    if extension and extension not in _IMAGE_EXTENSIONS:
        raise AttachmentRefused(
            N_("`{label}` must be a .jpg, .jpeg or .png file. Please convert it and upload it again."),
            label=label,
        )


def check_video_reference(
    name: str, size: int | None, content_type: str | None, *, label: str = "reference_video"
) -> None:
    """Refuse a reference video from its metadata (MP4/MOV, at most 200 MB). Its content is AceData's
    to judge: decoding video is out of scope here."""
    _check_size(
        size,
        MAX_VIDEO_BYTES,
        label=label,
        kind=Text(N_("reference videos")),
        advice=Text(N_("trim or compress it")),
    )
    media_type = _media_type(content_type)
    if media_type in _VIDEO_TYPES:
        return
    if media_type in _UNKNOWN_TYPES and _extension(name) in _VIDEO_EXTENSIONS:
        return
    raise AttachmentRefused(
        N_("`{label}` must be an MP4 or MOV video. Please convert it and upload it again."), label=label
    )


async def read_capped(
    chunks: AsyncIterator[bytes], declared_length: str | None, max_bytes: int
) -> bytes | None:
    """The body if it fits in `max_bytes`, else None. Content-Length is only a hint: reading stops
    as soon as the body goes past `max_bytes`, whatever the server declared."""
    declared = (declared_length or "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            return None
    return bytes(body)


async def download_capped(
    http: httpx.AsyncClient,
    url: str,
    max_bytes: int,
    *,
    label: str = "attachment",
    deadline: float = DOWNLOAD_DEADLINE_SECONDS,
) -> bytes:
    """Download `url` (http or https, no redirects) but never keep more than `max_bytes`.

    Content-Length is only a hint: the body is cut as soon as it goes past `max_bytes`. The raw
    bytes are read with `identity` encoding asked for, so a compressed body cannot expand in memory.
    """
    try:
        scheme = httpx.URL(url).scheme
    except httpx.InvalidURL:
        scheme = ""
    if scheme not in ("http", "https"):
        raise AttachmentRefused(
            N_("I can't download `{label}` from that address. Please upload the file to Discord directly."),
            label=label,
        )
    too_big = AttachmentRefused(
        N_("`{label}` is bigger than {limit}. Please upload a smaller file."),
        label=label,
        limit=_megabytes(max_bytes),
    )
    try:
        async with (
            asyncio.timeout(deadline),
            http.stream(
                "GET", url, headers={"Accept-Encoding": "identity"}, follow_redirects=False
            ) as response,
        ):
            if response.status_code in _GONE_STATUSES:
                raise AttachmentRefused(
                    N_("The attachment `{label}` expired or was removed, please upload it again."),
                    label=label,
                )
            if response.status_code != 200:
                raise AttachmentRefused(
                    N_(
                        "Discord did not let me download `{label}` (HTTP {status}). Please try again in a "
                        "moment."
                    ),
                    label=label,
                    status=response.status_code,
                )
            if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
                # Inflating it ourselves could expand a small body without bound.
                raise AttachmentRefused(
                    N_("Discord sent `{label}` in a form I can't check. Please try again in a moment."),
                    label=label,
                )
            body = await read_capped(response.aiter_raw(), response.headers.get("content-length"), max_bytes)
            if body is None:
                raise too_big
            return body
    except (TimeoutError, httpx.TimeoutException):
        raise AttachmentRefused(
            N_("Downloading `{label}` from Discord took too long. Please try again in a moment."),
            label=label,
        ) from None
    except httpx.HTTPError:
        raise AttachmentRefused(
            N_("I couldn't download `{label}` from Discord. Please try again in a moment."), label=label
        ) from None


class _Animated(Exception):
    """An animated picture (APNG): refused, never silently cut to one frame."""


def _decode(data: bytes) -> tuple[int, int, str]:
    """Open, verify and fully decode; returns (width, height, format). Raises Pillow's errors."""
    formats = list(ACCEPTED_FORMATS)
    with _WARNINGS_LOCK, warnings.catch_warnings():
        # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; treat it as the error it is.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(BytesIO(data), formats=formats) as probe:
            width, height = probe.size
            kind = probe.format or ""
            if width * height > MAX_IMAGE_PIXELS:
                # Before any pixel buffer exists: only the header has been read.
                raise Image.DecompressionBombError(f"{width}x{height}")
            if getattr(probe, "is_animated", False):
                # An APNG: which frame a renderer shows first is the member's guess, not ours.
                raise _Animated(kind)
            probe.verify()
        # verify() leaves the image unusable; a fresh open + load() catches truncated pixel data.
        with Image.open(BytesIO(data), formats=formats) as image:
            image.load()
    return width, height, kind


def inspect_image(data: bytes, *, label: str) -> ImageInfo:
    """Decode `data` as a JPEG or PNG and check it against AceData's limits."""
    try:
        width, height, kind = _decode(data)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AttachmentRefused(
            N_(
                "`{label}` has far too many pixels to process. Please resize it (for example to at "
                "most 4096 px on the longest side) and upload it again."
            ),
            label=label,
        ) from None
    except _Animated:
        raise AttachmentRefused(
            N_(
                "`{label}` is an animated picture. A video frame must be a still image: please save "
                "the frame you want as a plain PNG or JPG and upload that."
            ),
            label=label,
        ) from None
    except UnidentifiedImageError:
        raise AttachmentRefused(
            N_("`{label}` is not a JPG or PNG picture. Please convert it to PNG or JPG and upload it again."),
            label=label,
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise AttachmentRefused(
            N_(
                "`{label}` looks damaged or incomplete and could not be read. Please save it again "
                "as PNG or JPG and upload it."
            ),
            label=label,
        ) from None
    if min(width, height) < MIN_IMAGE_SIDE:
        raise AttachmentRefused(
            N_(
                "`{label}` is {width}×{height} px; both sides must be at least {side} px. Please use a "
                "larger picture."
            ),
            label=label,
            width=width,
            height=height,
            side=MIN_IMAGE_SIDE,
        )
    # long / short <= 2.5, in integers so the boundary is exact.
    if 2 * max(width, height) > 5 * min(width, height):
        raise AttachmentRefused(
            N_(
                "`{label}` is {width}×{height} px, about {ratio}:1. "
                "The shape must be between 1:2.5 (tall) and 2.5:1 (wide); please crop it."
            ),
            label=label,
            width=width,
            height=height,
            ratio=f"{max(width, height) / min(width, height):.1f}",
        )
    return ImageInfo(width=width, height=height, format=kind)


#: `check_frame_pair`'s warning, shown in the member's language.
FRAME_SHAPES_DIFFER = N_(
    "Heads-up: the end frame ({end}) has a different shape from the start frame "
    "({start}), so the video may stretch or crop one of them."
)


def check_frame_pair(start: ImageInfo, end: ImageInfo) -> Text | None:
    """A warning when the end frame's shape differs from the start frame's.

    Flagged, not refused: AceData accepts such pairs, but the video will stretch or crop one frame
    to meet the other, which the member may not expect.
    """
    if abs(end.aspect - start.aspect) / start.aspect <= FRAME_ASPECT_TOLERANCE:
        return None
    return Text(
        FRAME_SHAPES_DIFFER, {"end": f"{end.width}×{end.height}", "start": f"{start.width}×{start.height}"}
    )


async def preflight_image(
    http: httpx.AsyncClient,
    *,
    url: str,
    name: str,
    size: int | None,
    content_type: str | None,
    label: str,
    max_bytes: int = MAX_IMAGE_BYTES,
) -> ImageInfo:
    """Every check in order: declared metadata, capped download, decoding, dimensions."""
    check_declared(name, size, content_type, label=label, max_bytes=max_bytes)
    data = await download_capped(http, url, max_bytes, label=label)
    # Decoding up to 40 MP takes long enough to stall the gateway heartbeat: off the event loop.
    return await asyncio.to_thread(inspect_image, data, label=label)
