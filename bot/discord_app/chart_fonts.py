"""Which installed font can draw a chart's text: matplotlib's own DejaVu Sans for Latin text, plus a
font that has the glyphs DejaVu lacks (Chinese, Japanese) when one is installed.

matplotlib (3.6 and later) takes a list of families and falls back along it glyph by glyph, so the
chart asks for `["DejaVu Sans", "<CJK family>"]`: Latin letters and digits keep their usual look and
the rest comes from the second font. A font counts only if its character map really has every
character of the text; a name alone says nothing (a missing glyph would be drawn as a box).

matplotlib caches its list of system fonts on first use (`~/.cache/matplotlib/fontlist-*.json`) and
never notices a font installed afterwards, so when no listed font covers the text the system font
folders are scanned once and new files are added (cheap: tens of files, a few milliseconds).

The fonts the Docker image and `.ci/run` install: Debian's `fonts-droid-fallback` (Droid Sans Fallback,
Apache-2.0). Any other CJK font works too (Noto Sans CJK is preferred when present).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

log = logging.getLogger(__name__)

#: matplotlib's bundled default: always present, covers Latin, Greek and Cyrillic.
DEFAULT_FAMILY = "DejaVu Sans"

#: Families known to cover Chinese and Japanese, tried first (best looking first). Others are tried
#: after them, so any installed CJK font is found.
_KNOWN_CJK = (
    "Noto Sans CJK",
    "Source Han Sans",
    "Droid Sans Fallback",
    "WenQuanYi",
    "IPAexGothic",
    "IPAGothic",
    "TakaoGothic",
    "AR PL",
)
#: matplotlib's own last resort (3.10+): its "glyphs" are boxes naming the missing character's block,
#: exactly what a chart must never show, so it never counts as covering anything.
_NEVER = ("Last Resort",)
#: The Noto/Source Han variant drawn in each language's own glyph style.
_REGIONAL = {"ja": ("JP", "Japanese"), "zh-CN": ("SC", "Simplified Chinese")}

_lock = threading.Lock()
_rescanned = False


@dataclass(frozen=True, slots=True)
class InstalledFont:
    family: str
    path: str


@cache
def _charmap(path: str) -> frozenset[int]:
    """The code points `path`'s font has glyphs for (empty when the file can't be read)."""
    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError) as exc:
        log.info("font %s can't be read (%s); skipping it", path, exc)
        return frozenset()


def _default_path() -> str:
    return str(font_manager.findfont(font_manager.FontProperties(family=DEFAULT_FAMILY)))


def installed_fonts() -> list[InstalledFont]:
    """The regular upright fonts matplotlib knows, one per family."""
    seen: dict[str, InstalledFont] = {}
    for entry in font_manager.fontManager.ttflist:
        if entry.style != "normal" or entry.name in seen or entry.name == DEFAULT_FAMILY:
            continue
        if entry.name.startswith(_NEVER):
            continue
        if entry.weight not in (400, "normal", "regular", "book"):
            continue
        seen[entry.name] = InstalledFont(entry.name, entry.fname)
    return list(seen.values())


def _rank(font: InstalledFont, locale: str | None) -> tuple[int, int]:
    known = next((i for i, name in enumerate(_KNOWN_CJK) if font.family.startswith(name)), len(_KNOWN_CJK))
    regional = _REGIONAL.get(locale or "", ())
    return (known, 0 if any(tag in font.family for tag in regional) else 1)


def _covering(missing: set[int], fonts: Iterable[InstalledFont], locale: str | None) -> str | None:
    for font in sorted(fonts, key=lambda f: _rank(f, locale)):
        if missing <= _charmap(font.path):
            return font.family
    return None


def scan_system_fonts() -> int:
    """Add the system fonts matplotlib's cached list lacks (installed after it was made); how many."""
    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    added = 0
    for path in font_manager.findSystemFonts():
        if path in known:
            continue
        try:
            font_manager.fontManager.addfont(path)
            added += 1
        except (OSError, RuntimeError, ValueError) as exc:
            log.info("font %s can't be added (%s)", path, exc)
    return added


def font_families(text: str, locale: str | None = None) -> list[str] | None:
    """The family list that draws every character of `text`: `[DEFAULT_FAMILY]` when DejaVu has them
    all, `[DEFAULT_FAMILY, "<a font with the rest>"]`, or None when no installed font has them."""
    global _rescanned
    needed = {ord(character) for character in text if not character.isspace()}
    with _lock:
        missing = needed - _charmap(_default_path())
        if not missing:
            return [DEFAULT_FAMILY]
        found = _covering(missing, installed_fonts(), locale)
        if found is None and not _rescanned:
            _rescanned = True
            if scan_system_fonts():
                found = _covering(missing, installed_fonts(), locale)
    return None if found is None else [DEFAULT_FAMILY, found]
