"""docker-compose.yml is a valid Compose file (checked against the Compose Specification's JSON schema,
vendored in tests/data/compose-spec/ since these machines have no container engine and no network),
and it means what docs/scaling.md says: both bots use the postgres service, their shards cover every
shard exactly once, every service has a healthcheck, and every volume is declared."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "tests" / "data" / "compose-spec" / "compose-spec.json").read_text("utf-8"))
COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    # safe_load resolves the file's `<<: *bot` merge keys, as Compose does.
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def _bots(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The bot processes: the services built from the project's Dockerfile."""
    return {name: service for name, service in document["services"].items() if "build" in service}


def _named_volumes(service: dict[str, Any]) -> set[str]:
    names = set()
    for volume in service.get("volumes", []):
        source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":", 1)[0]
        if source and not source.startswith((".", "/", "~")):  # a bind mount is a path
            names.add(source)
    return names


def compose_problems(document: dict[str, Any]) -> list[str]:
    """What a schema cannot say about this project's compose file (empty when it is right)."""
    problems: list[str] = []
    services: dict[str, dict[str, Any]] = document.get("services", {})
    postgres = services.get("postgres")
    if postgres is None:
        return ["there is no postgres service"]
    pg_env = postgres.get("environment", {})
    bots = _bots(document)
    if len(bots) < 2:
        problems.append(f"expected at least two bot processes, found {sorted(bots)}")

    shard_counts: set[str] = set()
    shards: list[int] = []
    for name, bot in bots.items():
        env = bot.get("environment", {})
        url = urlsplit(str(env.get("DATABASE_URL", "")))
        if url.scheme not in ("postgresql", "postgres") or url.hostname != "postgres":
            problems.append(f"{name}: DATABASE_URL does not point at the postgres service")
        if url.path.lstrip("/") != pg_env.get("POSTGRES_DB") or url.username != pg_env.get("POSTGRES_USER"):
            problems.append(f"{name}: DATABASE_URL's database or user differs from the postgres service's")
        depends = bot.get("depends_on", {})
        if not isinstance(depends, dict) or depends.get("postgres", {}).get("condition") != "service_healthy":
            problems.append(f"{name}: does not wait for a healthy postgres")
        shard_counts.add(str(env.get("SHARD_COUNT")))
        shards += [int(part) for part in str(env.get("SHARD_IDS", "")).split(",") if part.strip()]
        port = str(env.get("METRICS_PORT", ""))
        test = " ".join(bot.get("healthcheck", {}).get("test", []))
        if not port or f":{port}/healthz" not in test:
            problems.append(f"{name}: its healthcheck does not ask /healthz on METRICS_PORT")
        if "/data" not in {str(v).rsplit(":", 1)[-1] for v in bot.get("volumes", [])}:
            problems.append(f"{name}: /data is not a volume")
    if len(shard_counts) != 1:
        problems.append(f"the bots disagree on SHARD_COUNT: {sorted(shard_counts)}")
    else:
        count = int(next(iter(shard_counts)))
        if sorted(shards) != list(range(count)):
            problems.append(f"SHARD_IDS {sorted(shards)} do not cover 0..{count - 1} exactly once")
    syncing = [name for name, bot in bots.items() if str(bot["environment"].get("SYNC_COMMANDS")) == "true"]
    if len(syncing) != 1:
        problems.append(f"exactly one bot should sync the slash commands, not {syncing}")

    for name, service in services.items():
        if not service.get("healthcheck", {}).get("test"):
            problems.append(f"{name}: no healthcheck")
    declared = set(document.get("volumes") or {})
    used = set().union(*(_named_volumes(service) for service in services.values()))
    if used - declared:
        problems.append(f"volumes used but not declared: {sorted(used - declared)}")
    if declared - used:
        problems.append(f"volumes declared but never used: {sorted(declared - used)}")
    published = [str(port).rsplit(":", 1)[0] for s in services.values() for port in s.get("ports", [])]
    if len(published) != len(set(published)):
        problems.append(f"a host port is published twice: {published}")
    return problems


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    assert _schema_errors(_compose()) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "bot-0", "healthcheck", "test"), 5),  # a command: a string or a list
        (("services", "bot-1", "restart_policy"), "always"),  # no such service key
        (("volumez",), {}),  # no such top-level key
        (("services", "postgres", "depends_on"), 5),
    ],
)
def test_the_schema_refuses_a_broken_compose_file(path: tuple[str, ...], value: object) -> None:
    broken = copy.deepcopy(_compose())
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert _schema_errors(broken), f"the schema accepted {'/'.join(path)} = {value!r}"


def test_the_compose_file_runs_two_sharded_bots_on_the_postgres_service() -> None:
    assert compose_problems(_compose()) == []


def _bot_env(document: dict[str, Any], bot: str) -> dict[str, Any]:
    env: dict[str, Any] = document["services"][bot]["environment"]
    return env


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: _bot_env(d, "bot-1").update(SHARD_IDS="0"), "do not cover"),
        (lambda d: _bot_env(d, "bot-1").update(SHARD_COUNT="3"), "disagree on SHARD_COUNT"),
        (
            lambda d: _bot_env(d, "bot-0").update(DATABASE_URL="postgresql://kling:x@localhost:5432/kling"),
            "does not point at the postgres service",
        ),
        (lambda d: d["services"]["bot-1"].pop("healthcheck"), "bot-1: no healthcheck"),
        (lambda d: d["services"]["postgres"].pop("healthcheck"), "postgres: no healthcheck"),
        (lambda d: d["volumes"].pop("bot1-data"), "not declared"),
        (lambda d: d["services"]["bot-1"].pop("depends_on"), "healthy postgres"),
        (lambda d: _bot_env(d, "bot-1").update(SYNC_COMMANDS="true"), "sync the slash commands"),
    ],
)
def test_the_semantic_checks_catch_a_wrong_compose_file(change: Any, expected: str) -> None:
    document = copy.deepcopy(_compose())
    change(document)
    problems = compose_problems(document)
    assert any(expected in problem for problem in problems), problems
