"""Blocked words match through the usual disguises; prompts are cleaned of invisible characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.quota.text import clean_prompt, find_blocked_word, normalise_for_matching

ZERO_WIDTH = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u200e",
]  # ZWSP ZWNJ ZWJ WJ BOM SHY LRM


@pytest.mark.parametrize(
    "disguised",
    [
        "BAD",
        "Bad",
        "ＢＡＤ",  # full-width letters
        "ｂａｄ",
        "b\u200da\u200dd",  # zero-width joiners
        "b\u200bad",  # zero-width space
        "ba\u00add",  # soft hyphen
        "\ufeffbad",  # byte-order mark
        "b\u2060ad",  # word joiner
        "bád",  # precomposed accent
        "ba\u0301d",  # combining acute accent
        "b\u0336a\u0336d\u0336",  # combining strike-through
        "Ｂ\u200dÁ\u0327d",  # everything at once
    ],
)
def test_blocked_word_matches_through_disguises(disguised: str) -> None:
    assert find_blocked_word(f"a video of a {disguised} cat", ["bad"]) == "bad"


def test_blocked_word_written_with_disguises_by_the_moderator_still_matches_plain_text() -> None:
    assert find_blocked_word("a bad cat", ["ＢＡ\u200dＤ"]) == "ＢＡ\u200dＤ"


def test_substring_match_catches_words_glued_to_others() -> None:
    assert find_blocked_word("xxbadxx", ["bad"]) == "bad"


def test_phrases_match_across_line_breaks_and_repeated_spaces() -> None:
    assert find_blocked_word("a Bad \n\n   Thing happens", ["bad thing"]) == "bad thing"


def test_returns_the_word_as_the_moderator_wrote_it() -> None:
    assert find_blocked_word("some GORE here", ["blood", "Gore"]) == "Gore"


def test_clean_text_has_no_blocked_word() -> None:
    assert find_blocked_word("a friendly cat in the sun", ["bad", "gore"]) is None
    assert find_blocked_word("b a d", ["bad"]) is None


def test_words_that_fold_to_nothing_are_ignored() -> None:
    assert find_blocked_word("anything at all", ["\u200b\u200d", "  ", ""]) is None


def test_normalise_for_matching() -> None:
    assert normalise_for_matching("  ＳＴＲＡẞＥ\u200b  Café\t") == "strasse cafe"


@pytest.mark.parametrize("invisible", [*ZERO_WIDTH, " \u200b \u200d ", "\u200b\u200c\u200d\u2060\ufeff"])
def test_prompt_of_only_invisible_characters_becomes_empty(invisible: str) -> None:
    assert clean_prompt(invisible * 3) == ""


def test_clean_prompt_keeps_line_breaks_and_drops_control_characters() -> None:
    raw = "\ufeff  Ｈｅｌｌｏ\u200b wor\u00adld\r\nsecond\u2028third\x07\x00\tline  "
    assert clean_prompt(raw) == "Hello world\nsecond\nthird line"


def test_clean_prompt_leaves_ordinary_text_alone() -> None:
    text = "Un chat qui danse à Paris, 4 secondes.\nCamera pans left."
    assert clean_prompt(text) == text


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12)


@given(
    word=WORD,
    data=st.data(),
    before=st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,!", max_size=30),
    after=st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,!", max_size=30),
)
def test_zero_width_characters_and_capitals_anywhere_never_hide_a_word(
    word: str, data: st.DataObject, before: str, after: str
) -> None:
    disguised = "".join(
        (letter.upper() if data.draw(st.booleans()) else letter)
        + data.draw(st.sampled_from(["", *ZERO_WIDTH]))
        for letter in word
    )
    assert find_blocked_word(before + disguised + after, [word]) == word


@given(st.text())
def test_cleaning_is_idempotent_and_leaves_nothing_invisible(text: str) -> None:
    cleaned = clean_prompt(text)
    assert clean_prompt(cleaned) == cleaned
    assert not any(ch in cleaned for ch in ZERO_WIDTH)
