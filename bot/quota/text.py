"""Text clean-up for prompts and the blocked-word match.

Two different jobs, two functions:

* `clean_prompt` keeps the prompt readable (it is what Kling receives and what the bot echoes): NFKC,
  invisible format and control characters removed, newlines kept, ends stripped. A prompt made only of
  zero-width characters becomes empty, so the request rules refuse it as empty.
* `normalise_for_matching` is only for comparison. It folds away everything that looks the same to a
  reader but differs in code points, so a blocked word still matches when written in capitals, with
  full-width letters (ＢＡＤ), with zero-width joiners or soft hyphens inside it, or with accents and
  other combining marks added (b̶a̶d, bád).

`find_blocked_word` is the blocked-word match itself, in `bot.quota.blocked_words`: it also folds
look-alike letters from other scripts (UTS #39 confusables), digits and symbols used as letters, and
separators inside a word (spaced, dotted or line-broken letters, blank filler characters), without
flagging ordinary English words that merely contain a blocked word. docs/blocked-words.md says why.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.quota.blocked_words import find_blocked

# Whitespace runs collapse to one space so a blocked phrase matches across line breaks or double spaces.
_WHITESPACE_RUN = re.compile(r"\s+")
# Line and paragraph separators are line breaks to a reader; keep them as such in prompts.
_LINE_BREAKS = str.maketrans({"\u2028": "\n", "\u2029": "\n", "\r": "\n", "\t": " "})


def _is_invisible(char: str) -> bool:
    """Format characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen, bidi marks...)."""
    return unicodedata.category(char) == "Cf"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" and char != "\n"


def _is_combining(char: str) -> bool:
    return unicodedata.category(char) in {"Mn", "Mc", "Me"}


def normalise_for_matching(text: str) -> str:
    """The form of `text` used to compare it with blocked words; never shown to anyone."""
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(ch for ch in folded if not _is_invisible(ch) and not _is_control(ch))
    folded = folded.casefold()
    # NFKD splits accented letters into base letter + marks so the marks can be dropped.
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not _is_combining(ch))
    return _WHITESPACE_RUN.sub(" ", folded).strip()


def find_blocked_word(text: str, words: Iterable[str]) -> str | None:
    """The first blocked word (as the moderator wrote it) found in `text`, or None.

    A word that folds to nothing (e.g. only zero-width characters) is ignored rather than matching
    every prompt.
    """
    return find_blocked(text, words)


def clean_prompt(text: str) -> str:
    """NFKC, without invisible format characters or control characters (newlines kept), stripped."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").translate(_LINE_BREAKS)
    return "".join(ch for ch in text if not _is_invisible(ch) and not _is_control(ch)).strip()
