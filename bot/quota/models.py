"""Values the quota rules work on: a server's limits, a usage snapshot and an admission decision.

These are plain data so that `policy.py` stays pure and any storage backend can persist them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bot.kling.models import AspectRatio, Mode, Model
from bot.quota.ranges import clamp_field
from bot.refusals import Text


class LimitUnit(StrEnum):
    VIDEOS = "videos"
    CREDITS = "credits"


class RoleCap(BaseModel):
    """A role's own caps; the most generous cap among a member's roles applies."""

    model_config = ConfigDict(frozen=True)

    member_daily: float | None = None
    member_monthly: float | None = None

    @field_validator("member_daily", "member_monthly", mode="after")
    @classmethod
    def _within_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        return clamp_field(info.field_name or "", value)


@dataclass(frozen=True, slots=True)
class Preferences:
    """Default model, mode, duration and aspect ratio; `None` = no preference."""

    model: Model | None = None
    mode: Mode | None = None
    duration: int | None = None
    aspect_ratio: AspectRatio | None = None

    def is_empty(self) -> bool:
        return self == Preferences()

    def over(self, other: Preferences) -> Preferences:
        """These preferences, falling back to `other` field by field."""
        return Preferences(
            model=self.model or other.model,
            mode=self.mode or other.mode,
            duration=self.duration or other.duration,
            aspect_ratio=self.aspect_ratio or other.aspect_ratio,
        )

    def describe(self) -> str:
        parts = [
            f"model **{self.model.value}**" if self.model else None,
            f"mode **{self.mode.value}**" if self.mode else None,
            f"**{self.duration} s**" if self.duration else None,
            f"aspect **{self.aspect_ratio.value}**" if self.aspect_ratio else None,
        ]
        shown = [p for p in parts if p]
        return ", ".join(shown) if shown else "none"


class GuildLimits(BaseModel):
    """Everything a moderator can set for one server. `None` means "no limit"."""

    model_config = ConfigDict(frozen=True)

    unit: LimitUnit = LimitUnit.VIDEOS
    guild_daily: float | None = None
    guild_monthly: float | None = None
    member_daily: float | None = None
    member_monthly: float | None = None
    member_concurrent: int | None = 2
    member_cooldown_seconds: int = 0
    guild_concurrent: int | None = 5
    allowed_models: frozenset[Model] | None = None
    allowed_modes: frozenset[Mode] | None = None
    max_duration: int | None = None
    allow_audio: bool = True
    allow_4k: bool = True
    allowed_channels: frozenset[int] = frozenset()
    exempt_roles: frozenset[int] = frozenset()
    role_caps: dict[int, RoleCap] = Field(default_factory=dict)
    blocked_words: tuple[str, ...] = ()
    modlog_channel_id: int | None = None
    timezone: str = "UTC"
    #: What a member gets for the settings they leave out (after their own saved defaults).
    default_model: Model | None = None
    default_mode: Mode | None = None
    default_duration: int | None = None
    default_aspect_ratio: AspectRatio | None = None
    #: Ask the member to confirm (Confirm / Cancel) before a video estimated above this many credits
    #: is reserved or sent; None = never ask.
    confirm_above_credits: float | None = None

    # Older versions stored any number a moderator typed; bring such values back into their range on
    # read, so a twenty-digit running cap can never reach SQLite or the scheduler.
    @field_validator("guild_daily", "guild_monthly", "member_daily", "member_monthly", mode="after")
    @classmethod
    def _budget_within_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        return clamp_field(info.field_name or "", value)

    @field_validator("member_concurrent", "guild_concurrent", "max_duration", mode="after")
    @classmethod
    def _count_within_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        clamped = clamp_field(info.field_name or "", value)
        return None if clamped is None else int(clamped)

    @field_validator("member_cooldown_seconds", mode="after")
    @classmethod
    def _cooldown_within_range(cls, value: int, info: ValidationInfo) -> int:
        return int(clamp_field(info.field_name or "", value) or 0)


@dataclass(frozen=True, slots=True)
class OperatorBudget:
    """The bot operator's spending caps in credits (settings `SERVER_*_CREDITS`, `GLOBAL_*_CREDITS`).

    The server caps are a ceiling over every server's own budget: moderators can tighten it but
    never raise it. The global caps bound all servers together and reset at midnight UTC.
    `None` means no cap.
    """

    server_daily: float | None = None
    server_monthly: float | None = None
    global_daily: float | None = None
    global_monthly: float | None = None

    @property
    def unlimited(self) -> bool:
        """True when nothing at all bounds the bot's total spending per month."""
        return self.global_monthly is None and self.global_daily is None


@dataclass(frozen=True, slots=True)
class UsageSnapshot:
    """What a server and one member have used in the current periods, read inside one transaction.

    `*_videos` count jobs, `*_credits` sum their cost; released jobs (failed, cancelled, timed out,
    unconfirmed) count in neither.
    """

    guild_day_videos: int = 0
    guild_day_credits: float = 0.0
    guild_month_videos: int = 0
    guild_month_credits: float = 0.0
    member_day_videos: int = 0
    member_day_credits: float = 0.0
    member_month_videos: int = 0
    member_month_credits: float = 0.0
    member_active_jobs: int = 0
    guild_running_jobs: int = 0
    guild_queued_jobs: int = 0
    member_last_job_at: float | None = None
    #: Credits held by every server's jobs in the current UTC day and month (for the global caps).
    global_day_credits: float = 0.0
    global_month_credits: float = 0.0


@dataclass(frozen=True, slots=True)
class Allowance:
    """One remaining allowance for display: `None` limit means unlimited."""

    label: str
    used: float
    limit: float | None
    resets_at: float | None
    #: What `used` and `limit` count (None: whatever the server's limits count).
    unit: LimitUnit | None = None
    #: Whose cap it is ("server", "member", "ceiling", "everyone") and its period ("daily",
    #: "monthly"): what the Discord side names it by, in the reader's language.
    whose: str = ""
    period: str = ""

    @property
    def remaining(self) -> float | None:
        return None if self.limit is None else max(0.0, self.limit - self.used)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of the quota rules to one request."""

    allowed: bool
    #: Why not, in English (logs, mod-log); `refusal` is the same to show in a member's language.
    reason: str = ""
    refusal: Text | None = None
    cost: float = 0.0
    #: True when the server's running-jobs cap is full and the job will wait in the queue.
    queued: bool = False
    queue_position: int = 0
    allowances: tuple[Allowance, ...] = field(default_factory=tuple)
