"""The Docker image's start command, without a container engine: `python -m bot` run from the image's
working folder (whose `data/` is the volume, as the Dockerfile links it) with the project's own
`.env.example` copied to `.env`, as an unprivileged user, the way `docker run --env-file .env` would.

Also: a start-up problem in a normal run is one line that names the setting, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import REPO_ROOT, BotHarness, BotProcess
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

#: The image's user (Dockerfile: useradd --uid 10001 bot); any unprivileged id proves the point.
IMAGE_UID = 10001


def test_the_dockerfile_makes_the_layout_these_tests_use() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "WORKDIR /app" in dockerfile
    assert "ln -s /data /app/data" in dockerfile
    assert f"--uid {IMAGE_UID}" in dockerfile and f"USER {IMAGE_UID}" in dockerfile
    assert "COPY requirements.lock" in dockerfile and "pip install -r requirements.lock" in dockerfile


@pytest.fixture
def image_layout() -> Iterator[tuple[Path, Path]]:
    """`/app` with `.env` from `.env.example` and `data` -> the volume, as in the Dockerfile. Made
    outside pytest's private temporary folder so an unprivileged user can reach it."""
    root = Path(tempfile.mkdtemp(prefix="kling-image-"))
    try:
        root.chmod(0o755)
        app, volume = root / "app", root / "volume"
        app.mkdir()
        volume.mkdir()
        (app / "data").symlink_to(volume)
        shutil.copy(REPO_ROOT / ".env.example", app / ".env")
        yield app, volume
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _as_image_user(volume: Path) -> list[str]:
    """Run as the image's non-root user when the tests run as root (CI); otherwise the tests' own
    user already is an unprivileged one."""
    if os.geteuid() != 0:
        return []
    os.chown(volume, IMAGE_UID, IMAGE_UID)
    prefix = ["setpriv", f"--reuid={IMAGE_UID}", f"--regid={IMAGE_UID}", "--clear-groups"]
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import bot"],
        env={"PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(
            f"the unprivileged user cannot read the interpreter or the repository here: {probe.stderr!r}"
        )
    return prefix


def _image_environment(harness: BotHarness) -> dict[str, str]:
    """What `docker run --env-file .env` plus the test's fakes give the process: the fakes' tokens and
    addresses, but DATABASE_PATH only from the project's .env.example."""
    env = harness.environment()
    env.pop("DATABASE_PATH")
    return env


async def test_the_image_start_command_runs_with_the_projects_env_example_as_a_non_root_user(
    bot_harness: BotHarness, fake_discord: FakeDiscord, image_layout: tuple[Path, Path]
) -> None:
    app, volume = image_layout
    argv = [*_as_image_user(volume), sys.executable, "-m", "bot"]
    process = BotProcess(
        argv, env=_image_environment(bot_harness), cwd=app, log_path=volume.parent / "bot.log"
    )
    await process.start()
    try:
        await fake_discord.wait_for_identify(1, 20.0)
        database = volume / "bot.sqlite3"
        assert database.exists(), process.tail()
        if os.geteuid() == 0:
            assert database.stat().st_uid == IMAGE_UID
    finally:
        assert await process.terminate() == 0, process.tail()
    assert "Traceback" not in process.output


async def test_a_database_path_that_cannot_be_used_is_one_line_naming_the_setting(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = bot_harness.environment() | {"DATABASE_PATH": str(blocker / "bot.sqlite3")}
    process = BotProcess([sys.executable, "-m", "bot"], env=env, cwd=tmp_path, log_path=tmp_path / "bot.log")
    await process.start()
    assert await process.wait() == 2
    lines = [line for line in process.lines if line.strip()]
    assert "Traceback" not in process.output
    assert any("DATABASE_PATH" in line and str(blocker) in line for line in lines), process.tail()
    # The database is opened before logging in: Discord never heard from this process.
    assert fake_discord.gateway_connections == []
