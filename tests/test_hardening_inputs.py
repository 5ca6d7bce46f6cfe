"""Issue 12, the pure part: moderators' numbers, echoes of member input, rebuilt frames, animated
pictures. The same classes go through the real bot in tests/e2e/test_hardening.py."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import httpx
import pytest
from PIL import Image

from bot import media
from bot.discord_app.access import Refusal
from bot.discord_app.limit_settings import LimitsForm, apply_form, set_role_cap
from bot.echo import excerpt, quoted
from bot.jobs.orders import VideoOrder, build_request, order_from_request
from bot.jobs.service import VideoService
from bot.kling.models import Model
from bot.quota.costs import load_cost_table
from bot.quota.models import GuildLimits
from bot.quota.ranges import LIMIT_RANGES, check_in_range
from bot.storage.sqlite import SqliteStore
from tests import images
from tests.test_media import Cdn, cdn, http  # noqa: F401  (fixtures)
from tests.test_storage import new_job

TWENTY_DIGITS = "9" * 20

# --- ranges of moderators' numbers -------------------------------------------------------------------


@pytest.mark.parametrize("option", sorted(set(LimitsForm.__dataclass_fields__) & set(LIMIT_RANGES)))
@pytest.mark.parametrize("typed", [TWENTY_DIGITS, "1e300", "123456789012"])
def test_every_number_option_refuses_a_huge_value_naming_option_and_range(option: str, typed: str) -> None:
    with pytest.raises(Refusal) as refused:
        apply_form(GuildLimits(), LimitsForm(**{option: typed}))
    text = str(refused.value)
    assert f"**{option}**" in text
    bounds = LIMIT_RANGES[option]
    assert f"{bounds.low:,} to {bounds.high:,}" in text or "7 days" in text or "isn't a wait" in text
    assert len(text) < 400


@pytest.mark.parametrize("option", sorted(set(LimitsForm.__dataclass_fields__) & set(LIMIT_RANGES)))
def test_the_ends_of_each_range_are_accepted(option: str) -> None:
    bounds = LIMIT_RANGES[option]
    for value in (bounds.low, bounds.high):
        if value == 0 and option in ("member_cooldown",):
            continue
        typed = f"{value}s" if option == "member_cooldown" else str(value)
        apply_form(GuildLimits(), LimitsForm(**{option: typed}))
    check_in_range(option, None)  # "no limit" is always in range


def test_role_caps_have_the_member_ranges() -> None:
    with pytest.raises(Refusal, match=r"\*\*daily\*\*.*out of range"):
        set_role_cap(GuildLimits(), 5, daily=TWENTY_DIGITS, monthly=None)


async def test_a_huge_value_stored_by_an_older_version_is_brought_into_range_and_jobs_still_start(
    tmp_path: Path,
) -> None:
    store = await SqliteStore.open(tmp_path / "bot.sqlite3")
    try:
        broken = GuildLimits.model_construct(**(GuildLimits().model_dump() | {"guild_concurrent": 10**20}))
        await store.set_limits(42, broken)
        limits = await store.get_limits(42)
        assert limits.guild_concurrent == LIMIT_RANGES["guild_concurrent"].high
        admission = await store.admit_job(
            new_job(), lambda _usage: __import__("bot").quota.models.Decision(True)
        )
        assert admission.job is not None
        claimed = await store.claim_next_queued(42, limits.guild_concurrent)
        assert claimed is not None and claimed.id == admission.job.id
    finally:
        await store.close()


# --- echoes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("echo", [excerpt, quoted])
def test_an_echo_is_short_single_line_and_inert(echo: object) -> None:
    hostile = "@everyone <@&123> <#9> **bold** `tick`\n" + "x" * 5000
    shown = echo(hostile)  # type: ignore[operator]
    assert len(shown) <= 60
    assert "\n" not in shown and "@everyone" not in shown and "<@&" not in shown and "<#" not in shown
    assert shown.count("`") in (0, 2)


def test_a_bad_model_name_of_any_length_leaves_the_advice_whole() -> None:
    from bot.kling.capabilities import RequestRefused

    with pytest.raises(RequestRefused) as refused:
        build_request(VideoOrder(prompt="a kite", model="m" * 6000), default_model=Model.V1)
    text = str(refused.value)
    assert "pick one of" in text and len(text) < 600


# --- repeats of image jobs ---------------------------------------------------------------------------


async def test_a_rebuilt_start_frame_passes_the_checks_an_upload_passes(
    cdn: Cdn,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    cdn.files["frame.png"] = (images.png_bytes(640, 400), "image/png")
    url = cdn.url("/files/frame.png") + "?ex=1&hm=2"
    first = VideoOrder(prompt="a meadow", start_image=None)
    request = build_request(first, default_model=Model.V1).model_copy(
        update={"start_image_url": url, "action": "image2video"}
    )
    again = order_from_request(request)
    assert again.start_image is not None and again.start_image.size is None
    assert again.start_image.filename == "frame.png"
    service = VideoService(store=None, http=http, costs=load_cost_table(None), default_model=Model.V1)  # type: ignore[arg-type]
    service.build(again)  # no "empty file"
    await service.preflight(again)


async def test_a_rebuilt_reference_is_still_capped_by_the_download(
    cdn: Cdn,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    with pytest.raises(media.AttachmentRefused, match="bigger than"):
        await media.preflight_image(
            http, url=cdn.url("/endless"), name="x.png", size=None, content_type=None, label="start_image"
        )


# --- animated pictures -------------------------------------------------------------------------------


def _apng(frames: int) -> bytes:
    pictures = [Image.new("RGB", (400, 400), (30 * i, 60, 90)) for i in range(frames)]
    buffer = BytesIO()
    pictures[0].save(buffer, format="PNG", save_all=True, append_images=pictures[1:])
    return buffer.getvalue()


def test_an_animated_png_is_refused_and_says_so() -> None:
    with pytest.raises(media.AttachmentRefused, match="animated picture"):
        media.inspect_image(_apng(3), label="end_image")


def test_a_still_png_written_as_one_frame_apng_is_fine() -> None:
    assert media.inspect_image(_apng(1), label="start_image").width == 400


def test_downloads_that_never_answer_are_refused_within_a_short_bound() -> None:
    assert media.DOWNLOAD_DEADLINE_SECONDS <= 15
