"""Settings (contract names, fail-fast without secrets) and log redaction."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import REDACTED, RedactingFilter, setup_logging

ROOT = Path(__file__).resolve().parents[1]
DISCORD_SECRET = "MTA5.discord-secret-token-value.abcdef"
ACEDATA_SECRET = "acedata-secret-token-0123456789"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Run from an empty folder so no developer .env is picked up.
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _only_the_secrets_set(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """No setting in the environment but the two secrets, and no .env file (the folder is empty)."""
    monkeypatch.chdir(folder)
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    monkeypatch.setenv("ACEDATA_API_TOKEN", ACEDATA_SECRET)


def test_empty_environment_stops_the_bot_naming_discord_token(tmp_path: Path) -> None:
    result = _run_bot(tmp_path)
    assert result.returncode != 0
    assert "DISCORD_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_blank_secret_is_named_and_no_secret_value_is_printed(tmp_path: Path) -> None:
    result = _run_bot(tmp_path, DISCORD_TOKEN="   ", ACEDATA_API_TOKEN=ACEDATA_SECRET)
    assert result.returncode != 0
    assert "DISCORD_TOKEN" in result.stderr
    assert ACEDATA_SECRET not in result.stderr + result.stdout


def test_settings_read_contract_names_and_hide_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _only_the_secrets_set(monkeypatch, tmp_path)
    monkeypatch.setenv("DISCORD_API_BASE", "http://127.0.0.1:9/api/v10/")
    monkeypatch.setenv("DEV_GUILD_ID", "")
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "2.5")
    monkeypatch.setenv("TOKEN_HANDOFF_AFTER_SECONDS", "30")
    settings = load_settings()
    assert settings.acedata_base_url == "https://api.acedata.cloud"
    assert Path("data/bot.sqlite3") == settings.DATABASE_PATH
    assert settings.discord_api_base == "http://127.0.0.1:9/api/v10"
    assert settings.DEV_GUILD_ID is None
    assert settings.POLL_INTERVAL_SECONDS == 2.5
    assert settings.TOKEN_HANDOFF_AFTER_SECONDS == 30
    assert DISCORD_SECRET not in repr(settings) and ACEDATA_SECRET not in str(settings)


def test_invalid_setting_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    monkeypatch.setenv("ACEDATA_API_TOKEN", ACEDATA_SECRET)
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "soon")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "POLL_INTERVAL_SECONDS" in str(caught.value)
    assert "soon" not in str(caught.value)


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("discord.webhook", logging.DEBUG, __file__, 1, message, args, None)


def test_redaction_removes_secrets_webhook_tokens_and_bearer_values() -> None:
    redactor = RedactingFilter([DISCORD_SECRET, ACEDATA_SECRET])
    interaction_token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQtdG9rZW4tdmFsdWU"
    record = _record(
        "PATCH https://discord.com/api/v10/webhooks/1234/%s/messages/@original token=%s auth=Bearer %s",
        interaction_token,
        DISCORD_SECRET,
        "sk-live-abcdef",
    )
    redactor.filter(record)
    text = record.getMessage()
    assert interaction_token not in text and DISCORD_SECRET not in text and "sk-live-abcdef" not in text
    assert text.count(REDACTED) == 3
    assert "/webhooks/1234/" in text  # the route stays readable


def test_redaction_covers_exception_text() -> None:
    redactor = RedactingFilter([ACEDATA_SECRET])
    try:
        raise RuntimeError(f"boom {ACEDATA_SECRET}")
    except RuntimeError:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    redactor.filter(record)
    assert record.exc_text and ACEDATA_SECRET not in record.exc_text and REDACTED in record.exc_text


def test_noisy_libraries_stay_quiet_even_at_debug() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging("DEBUG", [DISCORD_SECRET])
        assert logging.getLogger("discord.http").getEffectiveLevel() >= logging.WARNING
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
        assert logging.getLogger("bot").getEffectiveLevel() == logging.DEBUG
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


@pytest.mark.parametrize(
    ("env", "shard_ids", "problem"),
    [
        ({}, None, None),
        ({"SHARD_COUNT": "2"}, [0, 1], None),
        ({"SHARD_COUNT": "4", "SHARD_IDS": " 1, 3", "DATABASE_URL": "postgresql://db/kling"}, [1, 3], None),
        ({"SHARD_IDS": "0"}, None, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "2", "DATABASE_URL": "postgresql://db/k"}, None, "0-based"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,x"}, None, "SHARD_IDS"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1,1"}, None, "twice"),
        (
            {"SHARD_COUNT": "2", "SHARD_IDS": "0"},
            None,
            "DATABASE_URL",
        ),  # the rest run elsewhere: SQLite can't
        ({"SHARD_COUNT": "0"}, None, "SHARD_COUNT"),
        ({"METRICS_PORT": "70000"}, None, "METRICS_PORT"),
    ],
)
def test_shard_and_metrics_settings_are_checked_at_start(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env: dict[str, str],
    shard_ids: list[int] | None,
    problem: str | None,
) -> None:
    _only_the_secrets_set(monkeypatch, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if problem is None:
        assert load_settings().shard_ids == shard_ids
    else:
        with pytest.raises(ConfigError, match=problem):
            load_settings()
