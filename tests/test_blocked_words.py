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
    # Spaced-out letters count as the word (issue 12); the words around them stay words.
    assert find_blocked_word("the band had a bald badger", ["bad"]) is None


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


# The word stands on its own: glued to other letters it may form an innocent English word ("c" +
# "at"), which the match deliberately lets through (docs/blocked-words.md).
@given(
    word=WORD,
    data=st.data(),
    before=st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,!", max_size=30).map(lambda s: s + " "),
    after=st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,!", max_size=30).map(lambda s: " " + s),
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


# --- issue 12: the disguises that used to reach a paid create ---------------------------------------

DRAGON_DISGUISES = [
    "d r a g o n",  # spaced letters
    "d.r.a.g.o.n",  # dotted letters
    "d-r-a-g-o-n",
    "d. r. a. g. o. n.",
    "dra\ngon",  # a line break inside the word
    "dra\r\ngon",
    "dr\u0430gon",  # Cyrillic а
    "dr\u0430g\u03bfn",  # Cyrillic а and Greek ο
    "𝐝𝐫𝐚𝐠𝐨𝐧",  # mathematical bold
    "dr4g0n",  # digits for letters
    "dr@g0n",
    "dra\u3164gon",  # Hangul filler, an invisible "letter"
    "d\u3164r\u3164a\u3164g\u3164o\u3164n",
    "dra\u2800gon",  # braille blank
    "DRAGONS",  # an ending
    "xxdragonxx",  # glued to letters that make no word
    "d r 4 g 0 n",
]


@pytest.mark.parametrize("disguised", DRAGON_DISGUISES)
def test_disguised_blocked_word_is_still_found(disguised: str) -> None:
    assert find_blocked_word(f"a castle with a {disguised} on the tower", ["dragon"]) == "dragon"


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("a snapdragon in bloom", "dragon"),  # an English word that contains it
        ("the talk will drag on", "dragon"),  # separate words are not glued
        ("a class of grass at the embassy", "ass"),
        ("an assistant passes the ball", "ass"),
        ("hello from the shell", "hell"),
        ("a skilled player", "kill"),
        ("a cucumber on a document", "cum"),
        ("the band plays on 4 stages", "bad"),
        ("read a rag on the table", "dragon"),
        ("a 1080p video at 24 fps", "lobo"),  # numbers alone are not letters
    ],
)
def test_innocent_words_that_merely_contain_the_letters_pass(text: str, blocked: str) -> None:
    assert find_blocked_word(text, [blocked]) is None


def test_symbols_and_l_i_swaps_read_as_letters() -> None:
    for disguised in ("k1ll", "ki11", "kiII", "k|ll"):
        assert find_blocked_word(f"{disguised} it", ["kill"]) == "kill", disguised
    assert find_blocked_word("a$$ and @ss", ["ass"]) == "ass"


def test_a_blocked_phrase_matches_across_disguises_too() -> None:
    assert find_blocked_word("a B\u0430D   thing\nhere", ["bad thing"]) == "bad thing"
    assert find_blocked_word("b.a.d.t.h.i.n.g", ["bad thing"]) == "bad thing"
    assert find_blocked_word("a bad day, a good thing", ["bad thing"]) is None


#: Words a server might block, mild and strong; the false-positive measure in docs/blocked-words.md.
MEASURED_LIST = [
    "dragon", "gore", "blood", "kill", "ass", "hell", "nude", "sex", "gun", "drug",
    "war", "bomb", "cum", "tit", "damn", "rape", "naked", "porn", "slut", "nazi",
]  # fmt: skip


def test_false_positives_on_a_real_english_word_list_stay_rare() -> None:
    """Every word of the `english-words` lists (Webster's 2nd + GCIDE, 262,866 words) that holds one of
    the measured blocked words. A substring match flags thousands of them; this match flags only the
    blocked words themselves with endings, and a handful of innocent look-alikes (wary, ward, titter)."""
    from english_words import get_english_words_set

    words = get_english_words_set(["web2", "gcide"], alpha=True, lower=True)
    keys = [word.replace("l", "i") for word in MEASURED_LIST]
    holding = [word for word in words if any(key in word.replace("l", "i") for key in keys)]
    flagged = {word for word in holding if find_blocked_word(word, MEASURED_LIST) is not None}
    assert len(holding) > 5000  # what a substring match would refuse
    assert len(flagged) < 80
    # Everything flagged is a blocked word with an ending (bloody, killer, and a few innocent ones
    # such as wary, ward, titter), or "1stclass" (the 1 read as an i glues "class" to "ist").
    endings = {word for word in flagged if any(word.startswith(b) for b in MEASURED_LIST)}
    assert flagged - endings <= {"heii", "1stclass"}
    assert "snapdragon" not in flagged and "class" not in flagged and "assistant" not in flagged
