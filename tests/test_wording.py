"""The one set of wording helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.wording import ELLIPSIS, format_elapsed, format_wait, join_or, seconds_choices, truncate


@pytest.mark.parametrize(
    ("items", "text"),
    [([], ""), (["a"], "a"), (["a", "b"], "a or b"), (["a", "b", "c"], "a, b or c")],
)
def test_join_or(items: list[str], text: str) -> None:
    assert join_or(items) == text


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_truncate_never_exceeds_the_limit_and_marks_a_cut(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert len(cut) <= limit
    assert cut == text or (cut.endswith(ELLIPSIS) and text.startswith(cut[:-1]))


@pytest.mark.parametrize(
    ("durations", "text"),
    [
        ([5, 10], "5 or 10"),
        ([10, 5, 5], "5 or 10"),
        (range(3, 16), "3–15"),
        ([5], "5"),
        ([3, 4, 6], "3, 4 or 6"),
    ],
)
def test_seconds_choices(durations: list[int], text: str) -> None:
    assert seconds_choices(durations) == text


def test_the_two_duration_styles() -> None:
    assert format_elapsed(245) == "4 min 05 s"
    assert format_elapsed(-3) == "0 s"
    assert format_wait(5400) == "1 h 30 min"
    assert format_wait(0) == "0 s"
