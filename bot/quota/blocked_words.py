"""The blocked-word match: hard to dodge, and quiet about innocent words (issue 12).

A moderator's word matches a prompt when it appears in it after the prompt is folded the way a reader
sees it. The choices, and the false-positive rate measured on a real word list, are in
docs/blocked-words.md; tests/test_blocked_words.py tries every disguise below.

Folding (`fold`), applied to the prompt and to the blocked word alike:

* NFKC, case folding, accents and other combining marks dropped (ＢÁ̶D -> bad);
* invisible characters removed, so they join what they split: format characters (zero-width space
  and joiners, soft hyphen, bidi marks) and the blank "letters" (Hangul fillers U+3164, U+115F,
  U+1160, U+FFA0, braille blank U+2800, variation selectors);
* look-alikes from other scripts folded to the Latin letter they imitate (Cyrillic а, Greek ο,
  mathematical 𝐚...), from Unicode's confusables data (UTS #39) as shipped by the
  `confusable-homoglyphs` package;
* inside a word of mostly letters, digits and the usual symbols read as letters (dr4g0n, $ex, @ss):
  0 o, 1 i, 3 e, 4 a, 5 s, 7 t, 8 b, 9 g, @ a, $ s, | l; and "l" and "i" count as one letter, since 1, l,
  I and | are interchangeable in disguise.

Where a word may hide (`_candidates`):

1. each word of the prompt (split at anything that is not a letter or digit);
2. each space-separated chunk with its punctuation and line breaks removed (d.r.a.g.o.n, dra-gon,
   a line break inside the word), counted only when the match spans a removed separator;
3. runs of single letters separated by spaces (d r a g o n), joined, with the words on either side.

A blocked word found *inside* a longer word counts unless that longer word is an ordinary English
word that is not just the blocked word with an ending: "dragons" and "xxdragonxx" are blocked,
"snapdragon" is not, nor "class" for "ass". The English words come from the `english-words` package
(Webster's 2nd and GCIDE lists), loaded once, on the first match that needs them (about a second).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from confusable_homoglyphs import confusables
from english_words import get_english_words_set

#: Blank "letters" Unicode lists as default-ignorable (or that render as nothing): removed like
#: zero-width characters. Category Cf (format) characters are removed as well.
_INVISIBLE = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
)
_SYMBOL_LETTERS = {"@": "a", "$": "s", "|": "l"}
_SYMBOL_NEXT_TO_LETTER = re.compile(r"(?<=[a-z0-9])[@$|]|[@$|](?=[a-z0-9])")
_DIGIT_LETTERS = str.maketrans("013457892", "oieastbgz")
#: Endings that keep a word the same word ("dragons", "gored", "bloody").
_ENDINGS = ("s", "es", "ed", "d", "ing", "er", "ers", "y", "ies", "ish", "ly")


def _is_invisible(char: str) -> bool:
    return char in _INVISIBLE or (unicodedata.category(char) in {"Cf", "Cc"} and char != "\n")


@cache
def _latin_lookalike(char: str) -> str:
    """The Latin letter(s) `char` imitates per UTS #39 confusables, or `char` itself."""
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=[])
    for entry in found or ():
        for glyph in entry["homoglyphs"]:
            candidate = glyph["c"].casefold()
            if 1 <= len(candidate) <= 2 and candidate.isascii() and candidate.isalpha():
                return str(candidate)
    return char


def _fold_char(char: str) -> str:
    if char.isascii():
        return char.lower()
    if _is_invisible(char):
        return ""
    if unicodedata.combining(char):
        return ""
    return _latin_lookalike(char)


def fold(text: str) -> str:
    """Letters as a reader sees them; separators (spaces, punctuation, line breaks) kept as they are."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    folded = "".join(_fold_char(char) for char in decomposed)
    # Symbols read as letters, where they touch a letter or digit ("dr@gon", "$ex", "a$$").
    for _ in range(2):
        folded = _SYMBOL_NEXT_TO_LETTER.sub(lambda match: _SYMBOL_LETTERS[match.group()], folded)
    return folded


def _key(word: str) -> str:
    """A folded word as compared: digits read as letters in a word of mostly letters (dr4g0n, not
    1080p), and l and i as one."""
    letters = sum(char.isalpha() for char in word)
    if letters and letters >= len(word) - letters:
        word = word.translate(_DIGIT_LETTERS)
    return word.replace("l", "i")


@cache
def _dictionary() -> str:
    """Every English word's key, one per line, with a newline at each end (for `in` lookups)."""
    words = get_english_words_set(["web2", "gcide"], alpha=True, lower=True)
    # The lists are lower-case letters only, so their key is just l and i made one.
    return "\n" + "\n".join(sorted({word.replace("l", "i") for word in words if len(word) > 1})) + "\n"


def warm_up() -> None:
    """Load the word list now. The bot doesn't: loading it in a thread at start-up slowed the start
    (the thread holds the GIL for about a second), so it loads on the first prompt that needs it, a
    blocked word found inside a longer word, which is rare."""
    _dictionary()


def is_english_word(key: str) -> bool:
    """`key` is an English word, or one with an ending (the lists hold few plurals and tenses)."""
    words = _dictionary()
    if f"\n{key}\n" in words:
        return True
    for ending in _ENDINGS:
        stem = key.removesuffix(ending)
        if stem != key and len(stem) > 2 and f"\n{stem}\n" in words:
            return True
    return False


def _is_the_word(token: str, word: str) -> bool:
    """`token` is `word` itself, or `word` with an ending ("dragons", "stabbed")."""
    if token == word:
        return True
    if not token.startswith(word):
        stem = word[:-1] if word.endswith(("e", "y")) else None
        return stem is not None and token.startswith(stem) and token[len(stem) :] in ("ing", "ies", "ied")
    rest = token[len(word) :]
    if rest and rest[0] == word[-1]:  # a doubled last letter: "stabbed"
        rest = rest[1:]
    return rest in _ENDINGS


def _contains(token: str, word: str) -> bool:
    """`word` occurs in `token` and `token` is not an innocent English word that merely holds it."""
    if word not in token:
        return False
    return _is_the_word(token, word) or not is_english_word(token)


@dataclass(frozen=True, slots=True)
class _Joined:
    """A word rebuilt across separators; `joins` are the positions where a separator was removed."""

    text: str
    joins: frozenset[int]

    def crossing(self, word: str) -> bool:
        start = self.text.find(word)
        while start >= 0:
            if any(start < join < start + len(word) for join in self.joins):
                return True
            start = self.text.find(word, start + 1)
        return False


def _join(parts: Iterable[str]) -> _Joined:
    text, joins = "", set()
    for part in parts:
        if text:
            joins.add(len(text))
        text += part
    return _Joined(_key(text), frozenset(joins))


_WORD = re.compile(r"[a-z0-9]+")


def _candidates(folded: str) -> tuple[list[str], list[_Joined]]:
    words = [_key(word) for word in _WORD.findall(folded)]
    joined = [_join(_WORD.findall(chunk)) for chunk in re.split(r"[ \t]+", folded)]
    # Spaced-out letters: each run of one-letter words, with its neighbours.
    raw = _WORD.findall(folded)
    index = 0
    while index < len(raw):
        if len(raw[index]) != 1:
            index += 1
            continue
        end = index
        while end < len(raw) and len(raw[end]) == 1:
            end += 1
        if end - index >= 2:
            joined.append(_join(raw[max(0, index - 1) : min(len(raw), end + 1)]))
        index = end
    return words, joined


def _phrase_in(words: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    for start in range(len(words) - size + 1):
        window = words[start : start + size]
        if window[:-1] == phrase[:-1] and _contains(window[-1], phrase[-1]) and window[0] == phrase[0]:
            return True
    return False


def _blocked_key(word: str) -> list[str]:
    return [_key(part) for part in _WORD.findall(fold(word))]


def find_blocked(text: str, blocked: Iterable[str]) -> str | None:
    """The first blocked word (as the moderator wrote it) hidden in `text`, or None."""
    words, joined = _candidates(fold(text))
    for original in blocked:
        parts = _blocked_key(original)
        if not parts:
            continue  # folds to nothing: it would match every prompt
        if len(parts) > 1 and _phrase_in(words, parts):
            return original
        if len(parts) == 1 and any(_contains(word, parts[0]) for word in words):
            return original
        glued = "".join(parts)
        if any(candidate.crossing(glued) and _contains(candidate.text, glued) for candidate in joined):
            return original
    return None


def matches(text: str, blocked: str) -> bool:
    return find_blocked(text, [blocked]) is not None


def scan(texts: Iterable[str], blocked: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(text, blocked word) for every text that holds one: for measuring false positives."""
    words = list(blocked)
    for text in texts:
        found = find_blocked(text, words)
        if found is not None:
            yield text, found
