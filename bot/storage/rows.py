"""What the SQLite and PostgreSQL stores share outside their SQL: the job columns, turning result rows
into domain objects, building statement arguments and shaping results.

Nothing here writes SQL that differs between the dialects: a backend passes its own placeholder style
(`assignments`) and keeps its statements to itself. A row is anything indexable by column name:
`sqlite3.Row` or psycopg's `dict_row`.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, Protocol, TypeVar

from bot.kling.models import AspectRatio, Mode, Model, VideoRequest
from bot.quota.models import GuildLimits, Preferences
from bot.storage.base import (
    MUTABLE_JOB_FIELDS,
    RELEASED_STATES,
    DayUsage,
    Job,
    JobState,
    NewJob,
    UsageReport,
    UsageRow,
    VersionedLimits,
    VideoChoice,
)


class Row(Protocol):
    """A result row read by column name (`sqlite3.Row`, or a psycopg `dict_row` dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


JOB_COLUMNS = tuple(field.name for field in dataclasses.fields(Job))
SELECT_JOB = ", ".join(JOB_COLUMNS)
#: The same, each column named as `jobs.<column>`, for statements that join other tables.
SELECT_JOB_QUALIFIED = ", ".join(f"jobs.{column}" for column in JOB_COLUMNS)

# SQLite's RETURNING hands back a REAL column's whole-number value as an int (SQLite stores it
# compactly and skips the conversion a SELECT does), so float fields are converted here. PostgreSQL's
# DOUBLE PRECISION columns are floats already.
_FLOAT_COLUMNS = frozenset(
    name for name, hint in typing.get_type_hints(Job).items() if hint in (float, float | None)
)

FAILURE_STATES = RELEASED_STATES - {JobState.CANCELLED}
IN_FLIGHT_STATES = frozenset({JobState.SUBMITTING, JobState.RUNNING})
STATES_WITH_RENDER_TIME = frozenset({JobState.SUCCEEDED, JobState.DELIVERED})


def job_from_row(row: Row) -> Job:
    values = {name: row[name] for name in JOB_COLUMNS}
    for name in _FLOAT_COLUMNS:
        if values[name] is not None:
            values[name] = float(values[name])
    values["request"] = VideoRequest.from_json(values["request"])
    values["state"] = JobState(values["state"])
    return Job(**values)


def new_job_row(new: NewJob, columns: Sequence[str]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The columns and values of an admitted job's row: `columns` taken from `new` (each backend
    writes its own set), then its state (QUEUED) and `updated_at` (its creation time); the request
    is stored as JSON."""
    values = {name: getattr(new, name) for name in columns}
    values |= {
        "request": new.request.to_json(),
        "state": JobState.QUEUED.value,
        "updated_at": new.created_at,
    }
    return (*columns, "state", "updated_at"), values


def sql_states(states: Iterable[JobState]) -> str:
    """A literal list of our own enum values (never user input), for fixed state sets in SQL text."""
    return "(" + ", ".join(f"'{state.value}'" for state in sorted(states)) + ")"


def assignments(fields: Mapping[str, Any], placeholder: str) -> str:
    """`, name = <placeholder>` for each field to set on a job, `placeholder` being the backend's
    named-parameter form with `{name}` in it (`:{name}`, `%({name})s`); only mutable fields pass."""
    unknown = set(fields) - MUTABLE_JOB_FIELDS
    if unknown:
        allowed = ", ".join(sorted(MUTABLE_JOB_FIELDS))
        raise ValueError(f"Only {allowed} can be set on a job, not {', '.join(sorted(unknown))}.")
    return "".join(f", {name} = {placeholder.format(name=name)}" for name in fields)


_E = TypeVar("_E", bound=Enum)


def known(enum: type[_E], value: object) -> _E | None:
    """`enum(value)`, or None for no value or one this version no longer knows (a retired model)."""
    try:
        return enum(value) if value is not None else None
    except ValueError:
        return None


# --- settings ---------------------------------------------------------------------------------


def preferences_from_row(row: Row) -> Preferences:
    """A member's saved defaults from their `member_defaults` row; a value this version no longer
    knows (a retired model) is dropped, not an error."""
    return Preferences(
        model=known(Model, row["model"]),
        mode=known(Mode, row["mode"]),
        duration=int(row["duration"]) if row["duration"] is not None else None,
        aspect_ratio=known(AspectRatio, row["aspect_ratio"]),
    )


def preferences_params(
    guild_id: int, member_id: int, preferences: Preferences, now: float
) -> tuple[Any, ...]:
    """The `member_defaults` row's values: guild, member, model, mode, duration, aspect ratio, time."""
    return (
        guild_id,
        member_id,
        preferences.model.value if preferences.model else None,
        preferences.mode.value if preferences.mode else None,
        preferences.duration,
        preferences.aspect_ratio.value if preferences.aspect_ratio else None,
        now,
    )


def limits_from_rows(rows: Sequence[Row]) -> GuildLimits:
    """The guild's limits from its `guild_limits` row (selecting `limits`), the defaults without one."""
    return GuildLimits.model_validate_json(rows[0]["limits"]) if rows else GuildLimits()


def versioned_limits_from_rows(rows: Sequence[Row]) -> VersionedLimits:
    """The limits and their version from the `guild_limits` row (selecting `limits, updated_at`)."""
    if not rows:
        return VersionedLimits(GuildLimits(), 0.0)
    return VersionedLimits(GuildLimits.model_validate_json(rows[0]["limits"]), float(rows[0]["updated_at"]))


def limits_params(guild_id: int, limits: GuildLimits, now: float, expected: float | None) -> dict[str, Any]:
    """Arguments of a limits save: `expected` is the version the row must still have (None: any)."""
    return {"guild": guild_id, "limits": limits.model_dump_json(), "now": now, "expected": expected}


# --- jobs read for the Discord side ---------------------------------------------------------------


def video_choice(row: Row) -> VideoChoice:
    """An autocomplete choice from a row selecting `id, model, prompt`."""
    return VideoChoice(job_id=row["id"], model=row["model"] or "", prompt=row["prompt"])


def render_time_params(guild_id: int, model: Model, mode: Mode, duration: int, sample: int) -> dict[str, Any]:
    """Arguments of the average render time statement (`guild`, `model`, `mode`, `duration`, `sample`)."""
    return {
        "guild": guild_id,
        "model": Model(model).value,
        "mode": Mode(mode).value,
        "duration": duration,
        "sample": max(sample, 0),
    }


# --- usage --------------------------------------------------------------------------------------


def ledger_figure(scope: str, guild: str, member: str, period: str, column: str) -> str:
    """SQL for one figure of the usage ledger, looked up by its primary key, 0 without a row. The
    same text in both dialects: `guild`, `member` and `period` are each backend's placeholders (or
    literals), `scope` and `column` our own names, never user input."""
    return (
        f"COALESCE((SELECT {column} FROM usage_ledger WHERE scope = '{scope}' AND guild_id = {guild} "
        f"AND member_id = {member} AND period = {period}), 0)"
    )


def usage_params(
    guild_id: int, member_id: int, keys: tuple[str, str], global_keys: tuple[str, str]
) -> dict[str, Any]:
    """Arguments of the usage statement: the server's (day, month) period keys, and the operator's
    UTC ones (empty keys match no ledger row, so those figures read 0)."""
    return {
        "guild": guild_id,
        "member": member_id,
        "day": keys[0],
        "month": keys[1],
        "global_day": global_keys[0],
        "global_month": global_keys[1],
    }


def day_usage(rows: Iterable[Row]) -> list[DayUsage]:
    """`daily_usage`'s answer from rows selecting `day_key, videos, credits`."""
    return [DayUsage(row["day_key"], int(row["videos"]), float(row["credits"])) for row in rows]


def usage_report_from_rows(rows: Iterable[Row], since: float) -> UsageReport:
    """The report from the rows of the usage report statement: one `total` row, then `model` and
    `member` rows (`kind, key, videos, credits, failures`), in the order they are shown."""
    groups: dict[str, list[UsageRow]] = {"total": [], "model": [], "member": []}
    for row in rows:
        groups[row["kind"]].append(
            UsageRow(
                key=row["key"],
                videos=int(row["videos"]),
                credits=float(row["credits"]),
                failures=int(row["failures"]),
            )
        )
    (total,) = groups["total"]
    return UsageReport(
        since=since,
        total_videos=total.videos,
        total_credits=total.credits,
        failures=total.failures,
        by_model=groups["model"],
        by_member=groups["member"],
    )


def ledger_problems(stored: Iterable[Row], expected: Iterable[Row]) -> list[str]:
    """Where the usage ledger's rows (`scope, guild_id, member_id, period, videos, credits`) differ
    from what the job rows say they should be: one line per differing key, none when consistent."""

    def by_key(rows: Iterable[Row]) -> dict[tuple[Any, ...], tuple[int, float]]:
        return {
            (row["scope"], row["guild_id"], row["member_id"], row["period"]): (
                int(row["videos"]),
                float(row["credits"]),
            )
            for row in rows
        }

    have, want = by_key(stored), by_key(expected)
    problems = []
    for key in sorted(have.keys() | want.keys(), key=str):
        videos, credits = have.get(key, (0, 0.0))
        want_videos, want_credits = want.get(key, (0, 0.0))
        if videos != want_videos or abs(credits - want_credits) > 1e-6:
            problems.append(
                f"{key}: ledger has {videos} videos / {credits} credits, jobs say "
                f"{want_videos} / {want_credits}"
            )
    return problems
