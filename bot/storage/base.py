"""The storage interface. Cogs and the job pipeline talk only to `Store`; SQLite is the default
backend (`bot.storage.sqlite`), and a PostgreSQL one can implement the same protocol.

Job state machine (each transition is one guarded update, so it can never apply twice):

    queued -> submitting -> running -> succeeded -> delivered
           \\-> cancelled  \\-> failed | unconfirmed     \\-> failed | timed_out

A job counts against quotas from creation; moving to a RELEASED state gives its units back. Usage is
read from a running ledger (per server, per member and for all servers, per day and month key) that
a backend keeps in the SAME transaction as every job insert and state change: a job adds its units
to the periods stored on it when it is inserted in a counting state, and takes them back from those
same periods when (and only when) its state crosses into RELEASED_STATES (adds them again if it
ever crosses back). So "release exactly once" is still "the state changed exactly once", and reading
usage never scans job rows. A member's own ledger rows count only jobs created at or after their
latest reset (`reset_member_usage`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bot.kling.models import Mode, Model, VideoRequest
from bot.quota.models import Decision, GuildLimits, Preferences, UsageSnapshot
from bot.quota.periods import period_keys


class JobState(StrEnum):
    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


#: States a job can still leave: resumed at start-up.
ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING, JobState.SUCCEEDED})
#: Terminal states that give the quota back.
RELEASED_STATES = frozenset({JobState.FAILED, JobState.UNCONFIRMED, JobState.TIMED_OUT, JobState.CANCELLED})
TERMINAL_STATES = RELEASED_STATES | {JobState.DELIVERED}


class DuplicateInteraction(Exception):
    """A job for this interaction id exists already."""


class StorageBusy(Exception):
    """The database stayed locked past the busy timeout; nothing was written."""


@dataclass(frozen=True, slots=True)
class NewJob:
    """Everything known when a member's request is admitted."""

    id: str
    interaction_id: int | None
    guild_id: int
    channel_id: int
    member_id: int
    request: VideoRequest
    cost: float
    size_limit: int
    day_key: str
    month_key: str
    created_at: float
    message_id: int | None = None
    parent_job_id: str | None = None
    #: The shot this job continues (Next shot): following these links gives a story.
    story_parent_id: str | None = None
    #: UTC day and month of `created_at`, for the operator's caps over all servers (filled in when blank).
    global_day_key: str = ""
    global_month_key: str = ""
    #: The member's Discord language (`interaction.locale`: `ja`, `zh-CN`, `en-US`) when they asked:
    #: the messages sent from the background about this job use it. None: English (older jobs).
    locale: str | None = None

    def __post_init__(self) -> None:
        if not self.global_day_key or not self.global_month_key:
            day, month = period_keys(self.created_at, "UTC")
            object.__setattr__(self, "global_day_key", self.global_day_key or day)
            object.__setattr__(self, "global_month_key", self.global_month_key or month)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    interaction_id: int | None
    guild_id: int
    channel_id: int
    message_id: int | None
    member_id: int
    request: VideoRequest
    cost: float
    size_limit: int
    day_key: str
    month_key: str
    state: JobState
    created_at: float
    updated_at: float
    task_id: str | None = None
    video_id: str | None = None
    video_url: str | None = None
    video_duration: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    trace_id: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    delivered_at: float | None = None
    parent_job_id: str | None = None
    #: See `NewJob.locale`.
    locale: str | None = None
    #: The server channel the job was asked in, once its message moved to the member's DM because
    #: that channel became unusable (`channel_id`/`message_id` are then the DM message's). None when
    #: the job's message is where it was asked (migration 011).
    origin_channel_id: int | None = None


#: Fields `Store.transition` and `Store.update_job` may set besides `state`.
MUTABLE_JOB_FIELDS = frozenset(
    {
        "message_id",
        "channel_id",
        "origin_channel_id",
        "task_id",
        "video_id",
        "video_url",
        "video_duration",
        "error_code",
        "error_message",
        "trace_id",
        "submitted_at",
        "finished_at",
        "delivered_at",
    }
)


@dataclass(frozen=True, slots=True)
class Admission:
    """Result of `Store.admit_job`: the job (when admitted) and the quota decision."""

    decision: Decision
    job: Job | None


@dataclass(frozen=True, slots=True)
class UsageRow:
    key: str  # a model name or a member id as text
    videos: int
    credits: float
    failures: int


@dataclass(frozen=True, slots=True)
class UsageReport:
    since: float
    total_videos: int
    total_credits: float
    failures: int
    by_model: list[UsageRow] = field(default_factory=list)
    by_member: list[UsageRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class VideoChoice:
    """A delivered video as the `/extend` autocomplete lists it (no whole job decoded)."""

    job_id: str
    model: str  # the stored model name; may be one this version no longer knows
    prompt: str | None


@dataclass(frozen=True, slots=True)
class DayUsage:
    """What a server spent on one day of its own calendar (the day key stored on each job)."""

    day_key: str  # "YYYY-MM-DD" in the server's time zone at admission
    videos: int
    credits: float


@dataclass(frozen=True, slots=True)
class VersionedLimits:
    """A server's limits and the version they were read at, for compare-and-set writes (the panel).

    `version` grows with every write; 0.0 means the server never saved any settings (first run).
    """

    limits: GuildLimits
    version: float

    @property
    def first_run(self) -> bool:
        return self.version == 0.0


@dataclass(frozen=True, slots=True)
class StateTotal:
    """How many jobs are in one state, and their credits, over the whole database (for metrics)."""

    state: JobState
    jobs: int
    credits: float


#: Pure function run inside the admission transaction: usage now -> decision.
AdmitRule = Callable[[UsageSnapshot], Decision]


class Store(Protocol):
    """Everything the bot persists. All methods are safe to call concurrently."""

    #: True when several bot processes may share this database (PostgreSQL). Each active job is then
    #: owned by one live process (`claim_jobs`, `owns`); the others leave it alone and take it over
    #: only once its owner is gone. False for SQLite: one process owns every job.
    shared: bool

    async def close(self) -> None: ...

    # --- jobs -----------------------------------------------------------------------------
    async def admit_job(self, new: NewJob, rule: AdmitRule, *, global_caps: bool = True) -> Admission:
        """In ONE write transaction: read the usage snapshot for `new` (guild, member, its day and
        month keys, and its global UTC day and month keys) from the ledger, call `rule`, and insert
        the job as QUEUED (adding its units to the ledger) only if the decision allows it. Concurrent
        admissions, also from other processes, are serialised, so the last credits of any cap go to
        exactly one of them. Raises DuplicateInteraction when `new.interaction_id` already has a job.

        `global_caps=False` says no cap spans servers (the operator set no global budget): then only
        admissions to the same server need to wait for each other, and a store that can serialise
        per server (PostgreSQL) lets different servers admit at once."""
        ...

    async def get_job(self, job_id: str) -> Job | None: ...

    async def get_job_by_interaction(self, interaction_id: int) -> Job | None: ...

    async def transition(
        self, job_id: str, *, expect: Iterable[JobState], to: JobState, **fields: Any
    ) -> Job | None:
        """Move a job to `to` only if its state is in `expect`; set `fields` in the same update.
        Returns the updated job, or None when the guard did not match (nothing changed).

        On a `shared` store a job in flight (SUBMITTING, RUNNING, SUCCEEDED) is moved only by its
        owner, with the ownership epoch it took: once another process has taken the job over (its
        owner's lease was lost), the stale owner's transition matches nothing (fencing)."""
        ...

    async def update_job(self, job_id: str, **fields: Any) -> Job | None:
        """Set non-state fields (see MUTABLE_JOB_FIELDS)."""
        ...

    async def jobs_in_states(self, states: Iterable[JobState]) -> list[Job]: ...

    async def claim_next_queued(self, guild_id: int, running_cap: int | None) -> Job | None:
        """Atomically move the oldest QUEUED job of the guild to SUBMITTING when fewer than
        `running_cap` of its jobs are SUBMITTING/RUNNING (None = no cap)."""
        ...

    async def adopt_task(
        self, job_id: str, task_id: str, *, trace_id: str | None, submitted_at: float
    ) -> Job | None:
        """Recovery of a lost create: move a SUBMITTING job to RUNNING with `task_id`, only if no job
        holds that task id already (so one paid task is never adopted by two jobs). None otherwise."""
        ...

    async def known_task_ids(self, task_ids: Sequence[str]) -> set[str]:
        """Which of these AceData task ids some job already holds."""
        ...

    async def claim_jobs(self, job_ids: Sequence[str]) -> set[str]:
        """Take ownership of these jobs for this process (jobs moved to SUBMITTING by
        `claim_next_queued` are owned from that moment). Returns the ids this process did not own
        before and owns now; a job another live process owns is left out. Ownership ends when the
        job moves back to QUEUED or to a terminal state, or when the process dies."""
        ...

    def owns(self, job_id: str) -> bool:
        """Whether this process owns the job (always True on a store that is not `shared`)."""
        ...

    async def check_leases(self) -> bool:
        """A cheap probe, run every second or so on a shared store: touch the connection holding
        this process's ownership (so its loss is noticed at once, see `take_lost_leases`) and say
        whether some job in flight has no live owner (a process died: take it over now). Always
        False on a store that is not `shared`."""
        ...

    def take_lost_leases(self) -> set[str]:
        """The jobs this process owned until its ownership was lost (the connection holding it
        dropped), since the last call. Work on them must stop at once: another process may already
        carry them on. Their in-flight writes are fenced anyway (see `transition`)."""
        ...

    async def queue_position(self, job_id: str) -> int:
        """1-based position among the guild's QUEUED jobs, 0 when not queued."""
        ...

    async def history(
        self,
        guild_id: int,
        *,
        member_id: int | None = None,
        states: Sequence[JobState] | None = None,
        limit: int = 10,
        offset: int = 0,
        after: str | None = None,
    ) -> list[Job]:
        """Newest first. With `after` (a job id from the previous page), only the jobs that come
        after that job in this order: a page costs `limit` index entries however deep it is, where
        `offset` reads and skips every entry before it."""
        ...

    async def count_history(
        self, guild_id: int, *, member_id: int | None = None, states: Sequence[JobState] | None = None
    ) -> int:
        """How many jobs `history` would list without a limit (from per-state counts, not a scan)."""
        ...

    async def extendable_videos(self, guild_id: int, *, limit: int = 100) -> list[VideoChoice]:
        """The guild's newest `limit` delivered jobs that have a video id, newest first."""
        ...

    async def average_render_seconds(
        self, guild_id: int, model: Model, mode: Mode, duration: int, *, sample: int = 20
    ) -> float | None:
        """Mean of finished_at - submitted_at over the guild's last `sample` delivered or
        succeeded jobs with the same model, mode and duration; None when there are none."""
        ...

    # --- quotas and settings ---------------------------------------------------------------
    async def usage_snapshot(
        self,
        guild_id: int,
        member_id: int,
        day_key: str,
        month_key: str,
        *,
        global_day_key: str | None = None,
        global_month_key: str | None = None,
    ) -> UsageSnapshot:
        """Usage as `admit_job` sees it, from the ledger (no scan of past jobs). The global figures
        are read only when their UTC keys are given (else 0)."""
        ...

    async def reset_member_usage(self, guild_id: int, member_id: int, now: float) -> None:
        """Jobs the member started before `now` stop counting toward their own allowances (their
        ledger rows are rebuilt from the jobs created since)."""
        ...

    async def usage_report(self, guild_id: int, since: float) -> UsageReport:
        """Jobs created at or after `since`, from the per-day rollups (whole UTC days) plus the jobs
        of the partial first day, so the cost does not grow with the server's history."""
        ...

    async def ledger_consistency(self) -> list[str]:
        """Ledger rows that differ from what the job rows say (for tests and `check`); [] when true."""
        ...

    async def state_totals(self) -> list[StateTotal]:
        """Jobs and credits per state over every guild; states without jobs are left out."""
        ...

    async def get_limits(self, guild_id: int) -> GuildLimits: ...

    async def set_limits(self, guild_id: int, limits: GuildLimits) -> None: ...

    async def get_versioned_limits(self, guild_id: int) -> VersionedLimits:
        """The limits with their version (0.0 when never saved)."""
        ...

    async def set_limits_if_version(self, guild_id: int, limits: GuildLimits, version: float) -> float | None:
        """Store `limits` only when the stored version is still `version` (compare-and-set in one
        statement); the new version, or None when someone changed the settings meanwhile."""
        ...

    async def daily_usage(
        self, guild_id: int, since: float, *, first_day: str | None = None
    ) -> list[DayUsage]:
        """Spent videos and credits per day key of jobs created at or after `since`, oldest day first;
        released jobs (failed, cancelled, timed out, unconfirmed) count for nothing, days without
        spending are absent. With `first_day` (the server's day key of `since`, when `since` is a
        midnight in the server's time zone) the days from `first_day` on are read from the ledger's
        per-day rows instead: a row per day, not a scan of the window's jobs."""
        ...

    async def jobs_since(self, guild_id: int, since: float, *, limit: int = 10_000) -> list[Job]:
        """Every job of the server created at or after `since`, oldest first, at most `limit`."""
        ...

    async def get_member_defaults(self, guild_id: int, member_id: int) -> Preferences:
        """The member's saved defaults in this server (empty when none)."""
        ...

    async def set_member_defaults(self, guild_id: int, member_id: int, preferences: Preferences) -> None:
        """Save (or, with empty preferences, forget) the member's defaults in this server."""
        ...

    # --- stories ---------------------------------------------------------------------------
    async def story(self, job_id: str, *, limit: int = 50) -> list[Job]:
        """The shots leading to `job_id` (NewJob.story_parent_id links), first shot first, `job_id`
        last; at most `limit` shots, the latest ones. Just `[job]` for a job outside any story."""
        ...

    async def story_parents(self, job_ids: Sequence[str]) -> dict[str, str]:
        """job id -> the shot it continues, for those of `job_ids` that are Next shots."""
        ...
