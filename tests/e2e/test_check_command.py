"""`python -m bot check` against the fakes: settings, both tokens, the database and the invite URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import AceDataServer, BotHarness
from tests.e2e.scenario_helpers import run_check
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


async def test_check_passes_and_prints_the_invite_url(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: AceDataServer
) -> None:
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata)
    code, output = await run_check(harness)
    assert code == 0, output
    assert f"client_id={fake_discord.application_id}" in output
    assert "applications.commands" in output and "permissions=" in output
    assert harness.database_path.exists()
    # Whether the /usage chart can be drawn in each shipped language (a warning at most, never a failure).
    assert "chart fonts: " in output and "ja" in output.split("chart fonts: ", 1)[1].splitlines()[0]
    assert fake_discord.bot_token not in output and fake_acedata.token not in output


async def test_check_reports_a_refused_acedata_token_without_printing_it(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: AceDataServer
) -> None:
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata)
    wrong = "wrong-acedata-token-123456"
    code, output = await run_check(harness, ACEDATA_API_TOKEN=wrong)
    assert code == 1
    assert "ACEDATA_API_TOKEN" in output and "✗" in output
    assert wrong not in output


async def test_check_reports_an_unwritable_database(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: AceDataServer
) -> None:
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    code, output = await run_check(harness, DATABASE_PATH=str(blocker / "bot.sqlite3"))
    assert code == 1
    assert "DATABASE_PATH" in output and str(blocker) in output


async def test_check_tells_that_the_token_may_submit_without_creating_a_task(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata)
    code, output = await run_check(harness)
    assert code == 0, output
    assert "may submit videos" in output and "nothing was created or charged" in output
    [probe] = fake_acedata.requests_to("/kling/videos")
    assert probe.json["model"] == "kling-token-check-not-a-model"
    assert fake_acedata.created_tasks == 0


async def test_check_reports_a_token_that_may_query_but_not_submit(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.inject(
        "/kling/videos",
        403,
        body={"success": False, "error": {"code": "used_up", "message": "No credits left."}},
    )
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata)
    code, output = await run_check(harness)
    assert code == 1
    assert "may query but NOT submit videos: No credits left." in output


async def test_check_says_plainly_when_it_could_not_tell(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.inject("/kling/videos", 503, raw="upstream down")
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata)
    code, output = await run_check(harness)
    assert code == 0, output
    assert "could not tell whether it may submit videos (HTTP 503" in output
    assert fake_acedata.created_tasks == 0
