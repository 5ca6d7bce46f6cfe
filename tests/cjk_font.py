"""Shared by the chart tests: skip (or, under CI=true, fail) when no CJK font is installed."""

from __future__ import annotations

import os

import pytest


def require_cjk_font() -> None:
    """The Japanese and Chinese charts need a font with those glyphs (Debian: fonts-droid-fallback,
    installed by .ci/run and the Dockerfile). Under CI=true its absence fails instead of skipping."""
    from bot.discord_app import chart_fonts

    if chart_fonts.font_families("日本語の中文", "ja") is None:
        reason = "no CJK font installed (apt-get install fonts-droid-fallback)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but " + reason, pytrace=False)
        pytest.skip(reason)
