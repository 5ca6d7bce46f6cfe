"""A server's rules and quotas as pure functions: limits + request (+ usage) -> refusal or decision.

Who skips what (one place, so the help text and the code agree):

* **Moderators** may start videos in any channel, so they can try settings out in a staff channel.
  Every other rule applies to them too; they can change the rules when they want them different.
* **Exempt roles** skip the member's own limits: daily and monthly allowance, videos in progress and
  the cooldown. They do *not* skip the server's daily and monthly budget (it protects the bill), the
  server's running-jobs queue, or the server rules (channels, models, modes, duration, sound, 4K,
  blocked words), which say what the server offers rather than how much of it one member uses.
* **Role caps**: for the daily and the monthly allowance separately, the most generous cap among the
  member's roles *replaces* the member default, so a role can raise it or (e.g. a newcomer role) lower
  it. A role that leaves a cap unset has no say on it. To make a role unlimited, make it exempt.

A blocked word is never named in the member's refusal: repeating it would let members probe the list
word by word and would have the bot repeat what the server banned. The member is told which field to
rephrase; `blocked_word_in_request` gives the word to the moderator log.

Limits count videos (one per job) or credits (the job's cost), per `GuildLimits.unit`. A job fits a
cap when the cap is not used up and the job's amount does not take it past the limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from bot.echo import quoted
from bot.kling.capabilities import allowed_durations, allowed_modes
from bot.kling.models import Mode, Model, VideoRequest, parse_model
from bot.quota.models import (
    Allowance,
    Decision,
    GuildLimits,
    LimitUnit,
    OperatorBudget,
    Preferences,
    UsageSnapshot,
)
from bot.quota.text import find_blocked_word, normalise_for_matching
from bot.wording import format_wait, join_or

# Sums of float credits drift by far less than this; it keeps "exactly at the limit" exact.
_TOLERANCE = 1e-9


# --- Wording helpers --------------------------------------------------------------------------------


def format_amount(value: float, unit: LimitUnit) -> str:
    """An amount as members read it: "1 video", "3 videos", "12.5 credits"."""
    number = f"{value:.2f}".rstrip("0").rstrip(".")
    noun = "video" if unit is LimitUnit.VIDEOS else "credit"
    return f"{number} {noun}" if number == "1" else f"{number} {noun}s"


def relative_time(epoch: float) -> str:
    """A Discord timestamp each reader sees as "in 3 hours" in their own language and zone."""
    return f"<t:{math.ceil(epoch)}:R>"


def _code(names: Iterable[str]) -> list[str]:
    return [f"`{name}`" for name in names]


def _channels(ids: Iterable[int]) -> str:
    return ", ".join(f"<#{channel}>" for channel in sorted(ids))


# --- Server rules -------------------------------------------------------------------------------


def check_server_policy(
    limits: GuildLimits,
    request: VideoRequest,
    *,
    channel_id: int,
    member_role_ids: Collection[int],
    is_moderator: bool,
) -> str | None:
    """A friendly refusal when the server's rules forbid `request` here, else None.

    A wrong channel is reported alone (nothing else matters until the member moves); otherwise every
    broken rule is listed, so the member can fix them all at once. `member_role_ids` is accepted for
    symmetry with `evaluate`: no server rule depends on roles (see the module docstring).
    """
    if limits.allowed_channels and channel_id not in limits.allowed_channels and not is_moderator:
        where = _channels(limits.allowed_channels)
        return f"Videos can only be made in {where} on this server; run the command there."
    rules = (_model_rule, _mode_rule, _duration_rule, _audio_rule, _blocked_word_rule)
    problems = [problem for rule in rules if (problem := rule(limits, request))]
    return " ".join(problems) or None


def _model_rule(limits: GuildLimits, request: VideoRequest) -> str | None:
    allowed = limits.allowed_models
    if allowed is None or request.model in allowed:
        return None
    if not allowed:
        return "No video models are enabled on this server right now; ask a moderator to enable one."
    names = _code(sorted(model.value for model in allowed))
    return f"`{request.model.value}` isn't enabled on this server; pick {join_or(names)}."


def permitted_modes(limits: GuildLimits) -> frozenset[Mode]:
    """The modes this server allows, 4K included only when it is switched on."""
    modes = frozenset(Mode) if limits.allowed_modes is None else limits.allowed_modes
    return modes if limits.allow_4k else modes - {Mode.K4}


def _mode_rule(limits: GuildLimits, request: VideoRequest) -> str | None:
    permitted = permitted_modes(limits)
    if request.mode in permitted:
        return None
    options = [mode.value for mode in allowed_modes(request.model) if mode in permitted]
    if request.mode is Mode.K4 and not limits.allow_4k:
        refused = "4K videos are turned off on this server"
    else:
        refused = f"`{request.mode.value}` mode isn't enabled on this server"
    if options:
        return f"{refused}; pick {join_or(_code(options))} mode."
    return f"{refused}, and `{request.model.value}` has no other mode the server allows; pick another model."


def _duration_rule(limits: GuildLimits, request: VideoRequest) -> str | None:
    longest = limits.max_duration
    if longest is None or request.duration <= longest:
        return None
    fitting = [d for d in allowed_durations(request.model, request.mode) if d <= longest]
    if fitting:
        return f"This server allows videos of up to {longest} seconds; pick {max(fitting)} seconds or less."
    return (
        f"This server allows videos of up to {longest} seconds and `{request.model.value}` makes no clip "
        "that short; pick another model."
    )


def _audio_rule(limits: GuildLimits, request: VideoRequest) -> str | None:
    if request.generate_audio and not limits.allow_audio:
        return "Generated sound is turned off on this server; turn audio off and try again."
    return None


def _request_texts(request: VideoRequest) -> tuple[tuple[str, str | None], ...]:
    return (("prompt", request.prompt), ("negative prompt", request.negative_prompt))


def blocked_word_in_request(limits: GuildLimits, request: VideoRequest) -> str | None:
    """The blocked word (as the moderator wrote it) in the prompt or negative prompt: for the mod log only."""
    for _field, text in _request_texts(request):
        word = find_blocked_word(text, limits.blocked_words) if text else None
        if word is not None:
            return word
    return None


def _blocked_word_rule(limits: GuildLimits, request: VideoRequest) -> str | None:
    words = limits.blocked_words
    fields = [name for name, text in _request_texts(request) if text and find_blocked_word(text, words)]
    if not fields:
        return None
    where = " and ".join(fields)
    return f"Your {where} contains a word this server doesn't allow; rephrase it and try again."


# --- Quotas --------------------------------------------------------------------------------------


def is_exempt(limits: GuildLimits, member_role_ids: Collection[int]) -> bool:
    return any(role in limits.exempt_roles for role in member_role_ids)


def member_caps(limits: GuildLimits, member_role_ids: Collection[int]) -> tuple[float | None, float | None]:
    """(daily, monthly) allowance of a member with these roles, before exemption (see module docstring)."""
    caps = [cap for role, cap in limits.role_caps.items() if role in member_role_ids]
    return (
        _most_generous(limits.member_daily, [cap.member_daily for cap in caps]),
        _most_generous(limits.member_monthly, [cap.member_monthly for cap in caps]),
    )


def _most_generous(default: float | None, set_by_roles: Iterable[float | None]) -> float | None:
    values = [value for value in set_by_roles if value is not None]
    return max(values) if values else default


class _Whose(StrEnum):
    SERVER = "server"
    MEMBER = "member"
    #: The operator's ceiling over this server, in credits (shown apart when limits count videos).
    CEILING = "ceiling"
    #: The operator's cap over all servers together, in credits.
    EVERYONE = "everyone"


class _Period(StrEnum):
    DAY = "daily"
    MONTH = "monthly"


@dataclass(frozen=True, slots=True)
class _Cap:
    whose: _Whose
    period: _Period
    limit: float | None
    used: float
    resets_at: float
    unit: LimitUnit

    def label(self) -> str:
        when = "today" if self.period is _Period.DAY else "this month"
        if self.whose is _Whose.EVERYONE:
            return f"All servers' credits {when}"
        if self.whose is _Whose.CEILING:
            return f"Server credits {when} (operator's ceiling)"
        owner = "Server" if self.whose is _Whose.SERVER else "Your"
        return f"{owner} {self.unit.value} {when}"

    def amount(self, cost: float) -> float:
        return 1.0 if self.unit is LimitUnit.VIDEOS else cost

    def refusal(self, cost: float) -> str | None:
        """Why a job of `cost` credits does not fit, or None when it does."""
        if self.limit is None:
            return None
        amount = self.amount(cost)
        used_up = self.used >= self.limit - _TOLERANCE
        if not used_up and self.used + amount <= self.limit + _TOLERANCE:
            return None
        if self.whose is _Whose.EVERYONE:
            return self._operator_refusal(amount, used_up, "The bot has", "across all servers")
        if self.whose is _Whose.CEILING:
            return self._operator_refusal(amount, used_up, "This server has", "on this server")
        has, its = ("This server has", "its") if self.whose is _Whose.SERVER else ("You have", "your")
        limit = f"{self.period.value} limit of {format_amount(self.limit, self.unit)}"
        if self.limit <= 0:
            return f"{has} a {limit}, so no videos can be made for now; ask a moderator if that's unexpected."
        reset = relative_time(self.resets_at)
        if used_up:
            return f"{has} used all of {its} {limit}. It resets {reset}; try again then."
        left = format_amount(self.limit - self.used, self.unit)
        return (
            f"{has} {left} left of {its} {limit}, and this video costs {format_amount(amount, self.unit)}. "
            f"Pick a shorter or cheaper video, or try again after the reset {reset}."
        )

    def _operator_refusal(self, amount: float, used_up: bool, has: str, where: str) -> str:
        assert self.limit is not None
        budget = f"{self.period.value} budget of {format_amount(self.limit, LimitUnit.CREDITS)} {where}"
        if self.limit <= 0:
            return f"The bot's operator set a {budget} to 0, so no videos can be made for now."
        reset = relative_time(self.resets_at)
        if used_up:
            return (
                f"{has} used all of the {budget}, set by the bot's operator. "
                f"It resets {reset}; try again then."
            )
        left = format_amount(self.limit - self.used, LimitUnit.CREDITS)
        return (
            f"{has} {left} left of the {budget}, set by the bot's operator, and this video costs about "
            f"{format_amount(amount, LimitUnit.CREDITS)}. Pick a shorter or cheaper video, or try again "
            f"after the reset {reset}."
        )


def _tighter(own: float | None, ceiling: float | None) -> float | None:
    if own is None:
        return ceiling
    return own if ceiling is None else min(own, ceiling)


def effective_limits(limits: GuildLimits, budget: OperatorBudget) -> GuildLimits:
    """The server's limits under the operator's ceiling. When limits count credits the ceiling and the
    server's own budget are the same kind of number, so the server's cap becomes the tighter of the
    two (a new server's budget is the ceiling itself). When they count videos, the ceiling stays a
    separate cap in credits (see `evaluate`)."""
    if limits.unit is not LimitUnit.CREDITS:
        return limits
    daily = _tighter(limits.guild_daily, budget.server_daily)
    monthly = _tighter(limits.guild_monthly, budget.server_monthly)
    if (daily, monthly) == (limits.guild_daily, limits.guild_monthly):
        return limits
    return limits.model_copy(update={"guild_daily": daily, "guild_monthly": monthly})


def _caps(
    limits: GuildLimits,
    usage: UsageSnapshot,
    member_role_ids: Collection[int],
    resets: tuple[float, float],
    budget: OperatorBudget,
) -> tuple[_Cap, _Cap, _Cap, _Cap]:
    """Server today, server month, member today, member month (the display order)."""
    day_reset, month_reset = resets
    limits = effective_limits(limits, budget)
    unit = limits.unit
    exempt = is_exempt(limits, member_role_ids)
    daily, monthly = (None, None) if exempt else member_caps(limits, member_role_ids)

    def used(videos: int, credits: float) -> float:
        return credits if unit is LimitUnit.CREDITS else videos

    return (
        _Cap(
            _Whose.SERVER,
            _Period.DAY,
            limits.guild_daily,
            used(usage.guild_day_videos, usage.guild_day_credits),
            day_reset,
            unit,
        ),
        _Cap(
            _Whose.SERVER,
            _Period.MONTH,
            limits.guild_monthly,
            used(usage.guild_month_videos, usage.guild_month_credits),
            month_reset,
            unit,
        ),
        _Cap(
            _Whose.MEMBER,
            _Period.DAY,
            daily,
            used(usage.member_day_videos, usage.member_day_credits),
            day_reset,
            unit,
        ),
        _Cap(
            _Whose.MEMBER,
            _Period.MONTH,
            monthly,
            used(usage.member_month_videos, usage.member_month_credits),
            month_reset,
            unit,
        ),
    )


def _operator_caps(
    limits: GuildLimits,
    usage: UsageSnapshot,
    resets: tuple[float, float],
    global_resets: tuple[float, float],
    budget: OperatorBudget,
) -> tuple[_Cap, ...]:
    """The operator's caps that are not already folded into the server's own (`effective_limits`):
    all servers today and this month, and the server ceiling when the server counts videos.
    Caps that are not set are left out."""
    credits = LimitUnit.CREDITS
    caps = [
        _Cap(
            _Whose.EVERYONE,
            _Period.DAY,
            budget.global_daily,
            usage.global_day_credits,
            global_resets[0],
            credits,
        ),
        _Cap(
            _Whose.EVERYONE,
            _Period.MONTH,
            budget.global_monthly,
            usage.global_month_credits,
            global_resets[1],
            credits,
        ),
    ]
    if limits.unit is not LimitUnit.CREDITS:
        caps += [
            _Cap(
                _Whose.CEILING, _Period.DAY, budget.server_daily, usage.guild_day_credits, resets[0], credits
            ),
            _Cap(
                _Whose.CEILING,
                _Period.MONTH,
                budget.server_monthly,
                usage.guild_month_credits,
                resets[1],
                credits,
            ),
        ]
    return tuple(cap for cap in caps if cap.limit is not None)


def _activity_refusal(limits: GuildLimits, usage: UsageSnapshot, now: float) -> str | None:
    """Videos in progress and cooldown: the member-only limits exempt roles skip."""
    running_cap = limits.member_concurrent
    if running_cap is not None and usage.member_active_jobs >= running_cap:
        return (
            f"You already have {format_amount(usage.member_active_jobs, LimitUnit.VIDEOS)} in progress and "
            f"this server allows {running_cap} at a time; wait for one to finish, then try again."
        )
    last = usage.member_last_job_at
    cooldown = limits.member_cooldown_seconds
    if cooldown > 0 and last is not None and now - last < cooldown:
        return (
            f"This server asks members to wait {format_wait(cooldown)} between videos; "
            f"you can start your next one {relative_time(last + cooldown)}."
        )
    return None


_NO_BUDGET = OperatorBudget()


def evaluate(
    limits: GuildLimits,
    usage: UsageSnapshot,
    *,
    cost: float,
    member_role_ids: Collection[int],
    now: float,
    resets: tuple[float, float],
    budget: OperatorBudget = _NO_BUDGET,
    global_resets: tuple[float, float] | None = None,
) -> Decision:
    """Admit or refuse one job of `cost` credits given the usage read in the admission transaction.

    `resets` is `periods.next_resets(now, limits.timezone)` and `global_resets` the same in UTC (for
    the operator's caps over all servers; defaults to `resets`). The allowances of the decision count
    this job as used when it is allowed (what is left after it), and not when it is refused.

    A refusal names the cap that blocks for longest (months before days; within a period the
    operator's caps, then the server's, then the member's), so the reset time it gives is one at which
    the member can really try again; then videos in progress, then the cooldown. When the server's
    running-jobs cap is full the job is still allowed, but queued behind the jobs already waiting.
    """
    caps = _caps(limits, usage, member_role_ids, resets, budget)
    operator = _operator_caps(limits, usage, resets, global_resets or resets, budget)
    server_day, server_month, member_day, member_month = caps
    by_period = {
        period: [cap for cap in operator if cap.period is period] for period in (_Period.MONTH, _Period.DAY)
    }
    order = (
        *by_period[_Period.MONTH],
        server_month,
        member_month,
        *by_period[_Period.DAY],
        server_day,
        member_day,
    )
    reason = next((refusal for cap in order if (refusal := cap.refusal(cost))), None)
    if reason is None and not is_exempt(limits, member_role_ids):
        reason = _activity_refusal(limits, usage, now)
    shown = (*caps, *operator)
    if reason is not None:
        return Decision(allowed=False, reason=reason, cost=cost, allowances=_allowances(shown, cost=None))
    # Jobs already waiting take the free slots first, so a new job waits whenever the slots are
    # all spoken for, by running jobs or by earlier queued ones.
    waiting_ahead = usage.guild_running_jobs + usage.guild_queued_jobs
    queued = limits.guild_concurrent is not None and waiting_ahead >= limits.guild_concurrent
    return Decision(
        allowed=True,
        cost=cost,
        queued=queued,
        queue_position=waiting_ahead - (limits.guild_concurrent or 0) + 1 if queued else 0,
        allowances=_allowances(shown, cost=cost),
    )


def allowances(
    limits: GuildLimits,
    usage: UsageSnapshot,
    *,
    member_role_ids: Collection[int],
    resets: tuple[float, float],
    budget: OperatorBudget = _NO_BUDGET,
) -> tuple[Allowance, ...]:
    """Server today, server month, member today, member month, counted exactly as `evaluate` counts
    them (role caps, exemption and the operator's ceiling applied), with nothing spent yet. For `/quota`."""
    return _allowances(_caps(limits, usage, member_role_ids, resets, budget), cost=None)


def operator_allowances(
    limits: GuildLimits,
    usage: UsageSnapshot,
    *,
    resets: tuple[float, float],
    global_resets: tuple[float, float],
    budget: OperatorBudget,
) -> tuple[Allowance, ...]:
    """The operator's caps `allowances` does not show (all servers; the ceiling when limits count
    videos), with nothing spent yet. Unset caps are left out."""
    return _allowances(_operator_caps(limits, usage, resets, global_resets, budget), cost=None)


def _allowances(caps: Iterable[_Cap], *, cost: float | None) -> tuple[Allowance, ...]:
    """`cost` None: nothing spent yet; else what is left once a job of `cost` credits is counted."""
    return tuple(
        Allowance(
            label=cap.label(),
            used=cap.used + (0.0 if cost is None else cap.amount(cost)),
            limit=cap.limit,
            resets_at=cap.resets_at,
            unit=cap.unit,
        )
        for cap in caps
    )


def needs_confirmation(limits: GuildLimits, cost: float) -> bool:
    """Whether the server asks members to confirm a video of `cost` estimated credits first."""
    threshold = limits.confirm_above_credits
    return threshold is not None and cost > threshold + _TOLERANCE


# --- /limits show ---------------------------------------------------------------------------------


def _limit_text(value: float | None, unit: LimitUnit) -> str:
    return "No limit" if value is None else format_amount(value, unit)


def _count_text(value: int | None) -> str:
    return "No limit" if value is None else str(value)


def _role_cap_text(limits: GuildLimits) -> str:
    lines = []
    for role, cap in sorted(limits.role_caps.items()):
        daily = "default" if cap.member_daily is None else format_amount(cap.member_daily, limits.unit)
        monthly = "default" if cap.member_monthly is None else format_amount(cap.member_monthly, limits.unit)
        lines.append(f"<@&{role}>: {daily} a day, {monthly} a month")
    return "\n".join(lines) or "None"


def _ceiling_text(value: float | None, setting: str) -> str:
    if value is None:
        return f"None: `{setting}` is set to none, so this server's spending is not capped by the operator"
    amount = format_amount(value, LimitUnit.CREDITS)
    return f"{amount}, set by the bot's operator (`{setting}`); moderators can lower it"


def describe_limits(limits: GuildLimits, budget: OperatorBudget | None = None) -> list[tuple[str, str]]:
    """(name, value) lines for `/limits show`. Blocked words are counted, not listed.

    With `budget`, the operator's ceiling is shown too, with the setting it comes from, and when
    limits count credits the server's caps read as the tighter of its own and the ceiling."""
    unit = limits.unit
    shown = limits if budget is None else effective_limits(limits, budget)
    names = (
        sorted(model.value for model in limits.allowed_models) if limits.allowed_models is not None else None
    )
    modes = [mode.value for mode in Mode if mode in permitted_modes(limits)]
    lines = [
        ("Limits count", unit.value),
        ("Server per day", _limit_text(shown.guild_daily, unit)),
        ("Server per month", _limit_text(shown.guild_monthly, unit)),
        ("Each member per day", _limit_text(limits.member_daily, unit)),
        ("Each member per month", _limit_text(limits.member_monthly, unit)),
        ("Videos in progress per member", _count_text(limits.member_concurrent)),
        ("Wait between a member's videos", format_wait(limits.member_cooldown_seconds)),
        ("Videos rendering at once (then queued)", _count_text(limits.guild_concurrent)),
        ("Models", "All" if names is None else (", ".join(names) or "None")),
        ("Modes", ", ".join(modes) or "None"),
        ("Longest video", "No limit" if limits.max_duration is None else f"{limits.max_duration} s"),
        ("Generated sound", "Allowed" if limits.allow_audio else "Off"),
        ("4K", "Allowed" if limits.allow_4k else "Off"),
        ("Channels", _channels(limits.allowed_channels) or "Any channel"),
        ("Exempt roles", ", ".join(f"<@&{role}>" for role in sorted(limits.exempt_roles)) or "None"),
        ("Role caps", _role_cap_text(limits)),
        ("Blocked words", str(len(limits.blocked_words))),
        ("Mod-log channel", f"<#{limits.modlog_channel_id}>" if limits.modlog_channel_id else "Not set"),
        ("Time zone", limits.timezone),
        ("Server defaults", _server_defaults_text(limits)),
        ("Ask to confirm above", _confirm_text(limits.confirm_above_credits)),
    ]
    if budget is not None:
        lines[3:3] = [
            ("Ceiling per day", _ceiling_text(budget.server_daily, "SERVER_DAILY_CREDITS")),
            ("Ceiling per month", _ceiling_text(budget.server_monthly, "SERVER_MONTHLY_CREDITS")),
        ]
    return lines


def _confirm_text(threshold: float | None) -> str:
    if threshold is None:
        return "Never"
    return f"Videos estimated above {format_amount(threshold, LimitUnit.CREDITS)}"


def _server_defaults_text(limits: GuildLimits) -> str:
    defaults = Preferences(
        model=limits.default_model,
        mode=limits.default_mode,
        duration=limits.default_duration,
        aspect_ratio=limits.default_aspect_ratio,
    )
    return defaults.describe().replace("**", "").capitalize()


# --- Parsing moderators' input for /limits set ---------------------------------------------------

NO_LIMIT_WORDS = frozenset({"", "none", "no limit", "unlimited", "off", "-", "∞"})
ALL_WORDS = frozenset({"", "all", "any", "*"})
_MAX_COOLDOWN_SECONDS = 7 * 24 * 3600
_COOLDOWN = re.compile(
    r"(?:(\d+)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:ute)?s?)?)?\s*(?:(\d+)\s*s(?:ec(?:ond)?s?)?)?"
)
_LIST_SEPARATORS = re.compile(r"[,;\s]+")
_E = TypeVar("_E")


def parse_limit_value(text: str) -> float | None:
    """A cap typed by a moderator: "10" -> 10.0, "2.5" -> 2.5, "0" -> 0.0 (nothing allowed),
    "none" / "" / "unlimited" -> None (no limit). ValueError with a friendly message otherwise."""
    cleaned = text.strip().lower()
    if cleaned in NO_LIMIT_WORDS:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(
            f"{quoted(text.strip())} isn't a number; type a number like 10, or none for no limit."
        ) from None
    if not math.isfinite(value):
        raise ValueError("Type a number like 10, or none for no limit.")
    if value < 0:
        raise ValueError("A limit can't be negative; type 0 to stop all videos, or none for no limit.")
    return value


def parse_whole_number(text: str) -> int | None:
    """Like `parse_limit_value` for counts (videos at once, seconds): whole numbers only."""
    value = parse_limit_value(text)
    if value is None:
        return None
    if not value.is_integer():
        raise ValueError(f"Type a whole number, not {quoted(text.strip())}, or none for no limit.")
    return int(value)


def parse_cooldown(text: str) -> int:
    """Seconds between a member's videos: "0" / "none" -> 0, "30" / "30s" -> 30, "5m" -> 300,
    "1h30m" -> 5400; at most 7 days."""
    cleaned = text.strip().lower()
    if cleaned in NO_LIMIT_WORDS:
        return 0
    if cleaned.isdigit():
        seconds = int(cleaned)
    else:
        match = _COOLDOWN.fullmatch(cleaned)
        if match is None or not any(match.groups()):
            raise ValueError(
                f"{quoted(text.strip())} isn't a wait I understand; "
                "type it like 30s, 5m or 1h30m, or 0 for none."
            )
        hours, minutes, secs = (int(group or 0) for group in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds > _MAX_COOLDOWN_SECONDS:
        raise ValueError("The wait between videos can be at most 7 days.")
    return seconds


def _parse_names(
    text: str, parse: Callable[[str], _E], known: Iterable[str], what: str
) -> frozenset[_E] | None:
    if text.strip().lower() in ALL_WORDS:
        return None
    chosen = set()
    for name in (part for part in _LIST_SEPARATORS.split(text.strip()) if part):
        try:
            chosen.add(parse(name))
        except ValueError:
            raise ValueError(
                f"I don't know the {what} {quoted(name)}; use {join_or(known)}, or all for every {what}."
            ) from None
    return frozenset(chosen)


def parse_models(text: str) -> frozenset[Model] | None:
    """Allowed models: "kling-v3, kling-video-o1" -> those; "all" / "" -> None (every model)."""
    return _parse_names(text, parse_model, [model.value for model in Model], "model")


def parse_modes(text: str) -> frozenset[Mode] | None:
    """Allowed modes: "std, pro" -> those; "all" / "" -> None (every mode)."""
    return _parse_names(text, lambda name: Mode(name.lower()), [mode.value for mode in Mode], "mode")


def parse_unit(text: str) -> LimitUnit:
    try:
        return LimitUnit(text.strip().lower())
    except ValueError:
        raise ValueError("Limits can count videos or credits; type videos or credits.") from None


def parse_blocked_words(text: str) -> tuple[str, ...]:
    """Words or phrases separated by commas or new lines; blanks and repeats (after folding) dropped."""
    words: dict[str, str] = {}
    for raw in re.split(r"[,\n]", text):
        word = raw.strip()
        key = normalise_for_matching(word)
        if key and key not in words:
            words[key] = word
    return tuple(words.values())
