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

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.kling.capabilities import allowed_durations, allowed_modes
from bot.kling.models import Mode, VideoRequest
from bot.quota.amounts import amount, discord_time
from bot.quota.models import (
    Allowance,
    Decision,
    GuildLimits,
    LimitUnit,
    OperatorBudget,
    UsageSnapshot,
)
from bot.quota.text import find_blocked_word
from bot.refusals import N_, AnyOf, Lines, Text, Wait

# Sums of float credits drift by far less than this; it keeps "exactly at the limit" exact.
_TOLERANCE = 1e-9


# --- Wording helpers --------------------------------------------------------------------------------


def _code(names: Iterable[str]) -> AnyOf:
    return AnyOf(f"`{name}`" for name in names)


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
    refusal = server_policy_refusal(
        limits, request, channel_id=channel_id, member_role_ids=member_role_ids, is_moderator=is_moderator
    )
    return refusal.render() if refusal is not None else None


def server_policy_refusal(
    limits: GuildLimits,
    request: VideoRequest,
    *,
    channel_id: int,
    member_role_ids: Collection[int],
    is_moderator: bool,
) -> Text | None:
    """`check_server_policy` as a translatable text (what the member is shown, in their language)."""
    if limits.allowed_channels and channel_id not in limits.allowed_channels and not is_moderator:
        return Text(
            N_("Videos can only be made in {channels} on this server; run the command there."),
            {"channels": _channels(limits.allowed_channels)},
        )
    rules = (_model_rule, _mode_rule, _duration_rule, _audio_rule, _blocked_word_rule)
    problems = [problem for rule in rules if (problem := rule(limits, request))]
    if not problems:
        return None
    return problems[0] if len(problems) == 1 else Text("{rules}", {"rules": Lines(tuple(problems), " ")})


def _model_rule(limits: GuildLimits, request: VideoRequest) -> Text | None:
    allowed = limits.allowed_models
    if allowed is None or request.model in allowed:
        return None
    if not allowed:
        return Text(
            N_("No video models are enabled on this server right now; ask a moderator to enable one.")
        )
    names = _code(sorted(model.value for model in allowed))
    return Text(
        N_("`{model}` isn't enabled on this server; pick {models}."),
        {"model": request.model.value, "models": names},
    )


def permitted_modes(limits: GuildLimits) -> frozenset[Mode]:
    """The modes this server allows, 4K included only when it is switched on."""
    modes = frozenset(Mode) if limits.allowed_modes is None else limits.allowed_modes
    return modes if limits.allow_4k else modes - {Mode.K4}


def _mode_rule(limits: GuildLimits, request: VideoRequest) -> Text | None:
    permitted = permitted_modes(limits)
    if request.mode in permitted:
        return None
    options = [mode.value for mode in allowed_modes(request.model) if mode in permitted]
    if request.mode is Mode.K4 and not limits.allow_4k:
        refused = Text(N_("4K videos are turned off on this server"))
    else:
        refused = Text(N_("`{mode}` mode isn't enabled on this server"), {"mode": request.mode.value})
    if options:
        return Text(N_("{refused}; pick {modes} mode."), {"refused": refused, "modes": _code(options)})
    return Text(
        N_("{refused}, and `{model}` has no other mode the server allows; pick another model."),
        {"refused": refused, "model": request.model.value},
    )


def _duration_rule(limits: GuildLimits, request: VideoRequest) -> Text | None:
    longest = limits.max_duration
    if longest is None or request.duration <= longest:
        return None
    fitting = [d for d in allowed_durations(request.model, request.mode) if d <= longest]
    if fitting:
        return Text(
            N_("This server allows videos of up to {longest} seconds; pick {fitting} seconds or less."),
            {"longest": longest, "fitting": max(fitting)},
        )
    return Text(
        N_(
            "This server allows videos of up to {longest} seconds and `{model}` makes no clip "
            "that short; pick another model."
        ),
        {"longest": longest, "model": request.model.value},
    )


def _audio_rule(limits: GuildLimits, request: VideoRequest) -> Text | None:
    if request.generate_audio and not limits.allow_audio:
        return Text(N_("Generated sound is turned off on this server; turn audio off and try again."))
    return None


def _request_texts(request: VideoRequest) -> tuple[tuple[str, str | None], ...]:
    return ((N_("prompt"), request.prompt), (N_("negative prompt"), request.negative_prompt))


def blocked_word_in_request(limits: GuildLimits, request: VideoRequest) -> str | None:
    """The blocked word (as the moderator wrote it) in the prompt or negative prompt: for the mod log only."""
    for _field, text in _request_texts(request):
        word = find_blocked_word(text, limits.blocked_words) if text else None
        if word is not None:
            return word
    return None


def _blocked_word_rule(limits: GuildLimits, request: VideoRequest) -> Text | None:
    words = limits.blocked_words
    fields = [name for name, text in _request_texts(request) if text and find_blocked_word(text, words)]
    if not fields:
        return None
    where = Text(fields[0]) if len(fields) == 1 else Text(N_("prompt and negative prompt"))
    return Text(
        N_("Your {where} contains a word this server doesn't allow; rephrase it and try again."),
        {"where": where},
    )


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

    def refusal(self, cost: float) -> Text | None:
        """Why a job of `cost` credits does not fit, or None when it does."""
        if self.limit is None:
            return None
        spent = self.amount(cost)
        used_up = self.used >= self.limit - _TOLERANCE
        if not used_up and self.used + spent <= self.limit + _TOLERANCE:
            return None
        if self.whose in (_Whose.EVERYONE, _Whose.CEILING):
            return self._operator_refusal(spent, used_up)
        member = self.whose is _Whose.MEMBER
        values: dict[str, object] = {
            "limit": amount(self.limit, self.unit),
            "reset": discord_time(self.resets_at),
        }
        key = (member, self.period is _Period.DAY)
        if self.limit <= 0:
            return Text(_ZERO_LIMIT[key], values)
        if used_up:
            return Text(_USED_UP[key], values)
        values["left"] = amount(self.limit - self.used, self.unit)
        values["cost"] = amount(spent, self.unit)
        return Text(_TOO_LITTLE_LEFT[key], values)

    def _operator_refusal(self, spent: float, used_up: bool) -> Text:
        assert self.limit is not None
        key = (self.whose is _Whose.EVERYONE, self.period is _Period.DAY)
        values: dict[str, object] = {
            "limit": amount(self.limit, LimitUnit.CREDITS),
            "reset": discord_time(self.resets_at),
        }
        if self.limit <= 0:
            return Text(_OPERATOR_ZERO[key], values)
        if used_up:
            return Text(_OPERATOR_USED_UP[key], values)
        values["left"] = amount(self.limit - self.used, LimitUnit.CREDITS)
        values["cost"] = amount(spent, LimitUnit.CREDITS)
        return Text(_OPERATOR_TOO_LITTLE_LEFT[key], values)


# The quota refusals, whole sentences per (member's own?, daily?) so each language words them freely.
_ZERO_LIMIT = {
    (False, True): N_(
        "This server has a daily limit of {limit}, so no videos can be made for now; "
        "ask a moderator if that's unexpected."
    ),
    (False, False): N_(
        "This server has a monthly limit of {limit}, so no videos can be made for now; "
        "ask a moderator if that's unexpected."
    ),
    (True, True): N_(
        "You have a daily limit of {limit}, so no videos can be made for now; ask a moderator if that's "
        "unexpected."
    ),
    (True, False): N_(
        "You have a monthly limit of {limit}, so no videos can be made for now; "
        "ask a moderator if that's unexpected."
    ),
}
_USED_UP = {
    (False, True): N_(
        "This server has used all of its daily limit of {limit}. It resets {reset}; try again then."
    ),
    (False, False): N_(
        "This server has used all of its monthly limit of {limit}. It resets {reset}; try again then."
    ),
    (True, True): N_("You have used all of your daily limit of {limit}. It resets {reset}; try again then."),
    (True, False): N_(
        "You have used all of your monthly limit of {limit}. It resets {reset}; try again then."
    ),
}
_TOO_LITTLE_LEFT = {
    (False, True): N_(
        "This server has {left} left of its daily limit of {limit}, and this video costs {cost}. "
        "Pick a shorter or cheaper video, or try again after the reset {reset}."
    ),
    (False, False): N_(
        "This server has {left} left of its monthly limit of {limit}, and this video costs {cost}. "
        "Pick a shorter or cheaper video, or try again after the reset {reset}."
    ),
    (True, True): N_(
        "You have {left} left of your daily limit of {limit}, and this video costs {cost}. "
        "Pick a shorter or cheaper video, or try again after the reset {reset}."
    ),
    (True, False): N_(
        "You have {left} left of your monthly limit of {limit}, and this video costs {cost}. "
        "Pick a shorter or cheaper video, or try again after the reset {reset}."
    ),
}
# Keyed by (all servers?, daily?).
_OPERATOR_ZERO = {
    (True, True): N_(
        "The bot's operator set a daily budget of {limit} across all servers to 0, "
        "so no videos can be made for now."
    ),
    (True, False): N_(
        "The bot's operator set a monthly budget of {limit} across all servers to 0, "
        "so no videos can be made for now."
    ),
    (False, True): N_(
        "The bot's operator set a daily budget of {limit} on this server to 0, so no videos can be made "
        "for now."
    ),
    (False, False): N_(
        "The bot's operator set a monthly budget of {limit} on this server to 0, so no videos can be made "
        "for now."
    ),
}
_OPERATOR_USED_UP = {
    (True, True): N_(
        "The bot has used all of the daily budget of {limit} across all servers, set by the bot's operator. "
        "It resets {reset}; try again then."
    ),
    (True, False): N_(
        "The bot has used all of the monthly budget of {limit} across all servers, set by the bot's "
        "operator. "
        "It resets {reset}; try again then."
    ),
    (False, True): N_(
        "This server has used all of the daily budget of {limit} on this server, set by the bot's operator. "
        "It resets {reset}; try again then."
    ),
    (False, False): N_(
        "This server has used all of the monthly budget of {limit} on this server, set by the bot's "
        "operator. "
        "It resets {reset}; try again then."
    ),
}
_OPERATOR_TOO_LITTLE_LEFT = {
    (True, True): N_(
        "The bot has {left} left of the daily budget of {limit} across all servers, set by the bot's "
        "operator, and this video costs about {cost}. Pick a shorter or cheaper video, or try again "
        "after the reset {reset}."
    ),
    (True, False): N_(
        "The bot has {left} left of the monthly budget of {limit} across all servers, set by the bot's "
        "operator, and this video costs about {cost}. Pick a shorter or cheaper video, or try again "
        "after the reset {reset}."
    ),
    (False, True): N_(
        "This server has {left} left of the daily budget of {limit} on this server, set by the bot's "
        "operator, and this video costs about {cost}. Pick a shorter or cheaper video, or try again "
        "after the reset {reset}."
    ),
    (False, False): N_(
        "This server has {left} left of the monthly budget of {limit} on this server, set by the bot's "
        "operator, and this video costs about {cost}. Pick a shorter or cheaper video, or try again "
        "after the reset {reset}."
    ),
}


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


def _activity_refusal(limits: GuildLimits, usage: UsageSnapshot, now: float) -> Text | None:
    """Videos in progress and cooldown: the member-only limits exempt roles skip."""
    running_cap = limits.member_concurrent
    if running_cap is not None and usage.member_active_jobs >= running_cap:
        return Text(
            N_(
                "You already have {count} in progress and this server allows {cap} at a time; "
                "wait for one to finish, then try again."
            ),
            {"count": amount(usage.member_active_jobs, LimitUnit.VIDEOS), "cap": running_cap},
        )
    last = usage.member_last_job_at
    cooldown = limits.member_cooldown_seconds
    if cooldown > 0 and last is not None and now - last < cooldown:
        return Text(
            N_("This server asks members to wait {wait} between videos; you can start your next one {when}."),
            {"wait": Wait(cooldown), "when": discord_time(last + cooldown)},
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
        return Decision(
            allowed=False,
            reason=reason.render(),
            refusal=reason,
            cost=cost,
            allowances=_allowances(shown, cost=None),
        )
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
            whose=cap.whose.value,
            period=cap.period.value,
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
