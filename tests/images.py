"""Test files built in memory: good pictures, and each kind of bad one the pre-flight must refuse."""

from __future__ import annotations

import random
import struct
import zlib
from functools import lru_cache
from io import BytesIO

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_bytes(width: int, height: int, color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    return _save(Image.new("RGB", (width, height), color), "PNG")


def jpeg_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    return _save(Image.new("RGB", (width, height), color), "JPEG")


def noisy_jpeg_bytes(width: int = 640, height: int = 480, seed: int = 7) -> bytes:
    """A JPEG whose entropy-coded data is large, so cutting it loses real pixel rows."""
    pixels = random.Random(seed).randbytes(width * height * 3)
    return _save(Image.frombytes("RGB", (width, height), pixels), "JPEG", quality=90)


def truncated_jpeg_bytes() -> bytes:
    """A JPEG whose header is intact but whose second half is missing."""
    whole = noisy_jpeg_bytes()
    return whole[: len(whole) // 2]


def gif_bytes(width: int = 400, height: int = 400) -> bytes:
    return _save(Image.new("P", (width, height), 3), "GIF")


def text_bytes() -> bytes:
    """Meant to be sent under a name like `cat.png`."""
    return b"These are my holiday notes, not a picture.\n" * 20


def html_bytes() -> bytes:
    return b"<!doctype html><html><body><img src='cat.png'></body></html>\n"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


@lru_cache(maxsize=8)
def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid 1-bit greyscale PNG of all-black pixels: a few hundred KB that decodes to width*height.

    Written chunk by chunk (IHDR, one IDAT, IEND) so building it never holds the raw image either.
    """
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "none" + packed bits
    compressor = zlib.compressobj(9)
    rows_per_block = max(1, (1 << 20) // len(row))
    parts = []
    for first in range(0, height, rows_per_block):
        parts.append(compressor.compress(row * min(rows_per_block, height - first)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")
