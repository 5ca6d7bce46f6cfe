"""Admission of a video request: every check that can refuse it, then one transaction that reserves
the quota and records the job. Nothing here sends a paid request; `JobRunner.kick` does, later.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from bot import media, media_video
from bot.jobs.circuit import Circuit
from bot.jobs.defaults import Preferences, allowed_by_server, server_preferences
from bot.jobs.orders import AttachmentRef, VideoOrder, build_request
from bot.jobs.runner import Clock
from bot.kling.models import Model, VideoRequest
from bot.quota.costs import CostTable
from bot.quota.models import Decision, GuildLimits, OperatorBudget, UsageSnapshot
from bot.quota.periods import next_resets, period_keys
from bot.quota.policy import evaluate, server_policy_refusal
from bot.refusals import N_, MemberRefusal, Text
from bot.storage.base import Admission, NewJob, Store

#: How long saved defaults are trusted from memory; a change made through the bot applies at once.
PREFERENCES_CACHE_SECONDS = 60.0


class Refused(MemberRefusal):
    """A request turned down before anything was spent. `str()` is what the member reads."""


NOT_ALLOWED_HERE = N_(
    "This bot isn't enabled on this server: its operator only allows it on some servers. "
    "Nothing was charged. Ask the server's owner to contact the bot's operator."
)


NO_ALLOWANCE = N_("You have no allowance left for this video right now.")


def _quota_refusal(decision: Decision) -> Refused:
    if decision.refusal is not None:
        return Refused.of(decision.refusal)
    return Refused(decision.reason or NO_ALLOWANCE)


@dataclass(frozen=True, slots=True)
class Quote:
    """What a request would cost and leave, read without reserving anything (for confirmation)."""

    limits: GuildLimits
    decision: Decision


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, where, and what the interaction allowed (all plain data from the payload)."""

    guild_id: int
    channel_id: int
    member_id: int
    role_ids: frozenset[int] = frozenset()
    is_moderator: bool = False
    interaction_id: int | None = None
    size_limit: int = 10 * 1024 * 1024
    #: For a thread, the channel it belongs to: the server's channel rule applies to that channel.
    parent_channel_id: int | None = None
    #: The member's Discord language (`ja`, `zh-CN`, `en-US`), kept on the job for its later messages.
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class Preflight:
    """What checking the attachments found that the member should know (not refusals)."""

    #: Shown in the member's language (`Text`), after admission.
    warnings: list[Text] = field(default_factory=list)
    #: The request with what was measured (the reference video's length), when one was given.
    request: VideoRequest | None = None


class VideoService:
    def __init__(
        self,
        *,
        store: Store,
        http: httpx.AsyncClient,
        costs: CostTable,
        default_model: Model,
        budget: OperatorBudget | None = None,
        allowed_guilds: frozenset[int] = frozenset(),
        elements_enabled: bool = False,
        clock: Clock = time.time,
        circuit: Circuit | None = None,
    ) -> None:
        self.circuit = circuit
        self.store = store
        self.http = http
        self.costs = costs
        self.default_model = default_model
        #: The operator's caps; None caps nothing (tests and tools that only care about limits).
        self.budget = budget or OperatorBudget()
        #: Servers the operator allows (`ALLOWED_GUILD_IDS`); empty = every server.
        self.allowed_guilds = allowed_guilds
        self.elements_enabled = elements_enabled
        self.clock = clock
        #: (guild, member) -> (their preferences over the server's, read at). Launching reads these
        #: before its 3-second acknowledgement, so a busy database must not be on that path each time.
        self._preferences: dict[tuple[int, int], tuple[Preferences, float]] = {}

    def guild_allowed(self, guild_id: int | None) -> bool:
        return guild_id is not None and (not self.allowed_guilds or guild_id in self.allowed_guilds)

    async def preferences_for(self, guild_id: int, member_id: int) -> Preferences:
        """The member's saved defaults over the server's, without what the server no longer allows."""
        key = (guild_id, member_id)
        cached = self._preferences.get(key)
        now = self.clock()
        if cached is not None and now - cached[1] < PREFERENCES_CACHE_SECONDS:
            return cached[0]
        limits = await self.store.get_limits(guild_id)
        mine = await self.store.get_member_defaults(guild_id, member_id)
        combined = allowed_by_server(mine.over(server_preferences(limits)), limits)
        if len(self._preferences) > 10_000:
            self._preferences.clear()
        self._preferences[key] = (combined, now)
        return combined

    def forget_preferences(self, guild_id: int, member_id: int | None = None) -> None:
        """Drop cached preferences after a change (one member's, or the whole server's)."""
        for key in [k for k in self._preferences if k[0] == guild_id and member_id in (None, k[1])]:
            self._preferences.pop(key, None)

    def build(self, order: VideoOrder, preferences: Preferences | None = None) -> VideoRequest:
        """Pure checks only (request rules, declared attachment sizes): safe before deferring."""
        request = build_request(
            order,
            default_model=self.default_model,
            preferences=preferences,
            elements_enabled=self.elements_enabled,
        )
        for label, ref in order.images:
            media.check_declared(ref.filename, ref.size, ref.content_type, label=label)
        if order.reference_video is not None:
            ref = order.reference_video
            media.check_video_reference(ref.filename, ref.size, ref.content_type)
        return request

    async def preflight(self, order: VideoOrder, request: VideoRequest | None = None) -> Preflight:
        """Download and decode every attachment; refuse what AceData would reject.

        With `request`, a reference video is read too and held to that model's limits; its length
        goes into the returned request, because a `base` edit is priced by it.
        """
        infos: dict[str, media.ImageInfo] = {}
        for label, ref in order.images:
            infos[label] = await self._inspect(label, ref)
        warnings: list[Text] = []
        if "start_image" in infos and "end_image" in infos:
            warning = media.check_frame_pair(infos["start_image"], infos["end_image"])
            if warning:
                warnings.append(warning)
        video = order.reference_video
        if request is not None and video is not None and request.video_list:
            info = await media_video.preflight_reference_video(
                self.http,
                url=video.url,
                name=video.filename,
                size=video.size,
                content_type=video.content_type,
                model=request.model,
            )
            request = request.model_copy(update={"input_video_seconds": round(info.seconds, 3)})
        return Preflight(warnings=warnings, request=request)

    async def _inspect(self, label: str, ref: AttachmentRef) -> media.ImageInfo:
        return await media.preflight_image(
            self.http,
            url=ref.url,
            name=ref.filename,
            size=ref.size,
            content_type=ref.content_type,
            label=label,
        )

    async def _rule_inputs(self, requester: Requester, request: VideoRequest) -> tuple[GuildLimits, float]:
        """The server's limits once its rules allow `request` here, and the request's cost."""
        if not self.guild_allowed(requester.guild_id):
            raise Refused(NOT_ALLOWED_HERE)
        outage = self.circuit.refusal() if self.circuit is not None else None
        if outage:
            raise Refused(outage)  # AceData is out of balance or down: nothing reserved, nothing sent
        limits = await self.store.get_limits(requester.guild_id)
        refusal = server_policy_refusal(
            limits,
            request,
            channel_id=requester.parent_channel_id or requester.channel_id,
            member_role_ids=requester.role_ids,
            is_moderator=requester.is_moderator,
        )
        if refusal is not None:
            raise Refused.of(refusal)
        return limits, self.costs.cost(request)

    def _decide(
        self, limits: GuildLimits, requester: Requester, cost: float, now: float
    ) -> Callable[[UsageSnapshot], Decision]:
        resets = next_resets(now, limits.timezone)
        global_resets = next_resets(now, "UTC")

        def rule(usage: UsageSnapshot) -> Decision:
            return evaluate(
                limits,
                usage,
                cost=cost,
                member_role_ids=requester.role_ids,
                now=now,
                resets=resets,
                budget=self.budget,
                global_resets=global_resets,
            )

        return rule

    async def quote(self, requester: Requester, request: VideoRequest) -> Quote:
        """The decision admission would take now, without reserving anything: for showing the cost
        and what it leaves before the member confirms. Raises Refused like `admit`."""
        limits, cost = await self._rule_inputs(requester, request)
        now = self.clock()
        day_key, month_key = period_keys(now, limits.timezone)
        global_day, global_month = period_keys(now, "UTC")
        usage = await self.store.usage_snapshot(
            requester.guild_id,
            requester.member_id,
            day_key,
            month_key,
            global_day_key=global_day,
            global_month_key=global_month,
        )
        decision = self._decide(limits, requester, cost, now)(usage)
        if not decision.allowed:
            raise _quota_refusal(decision)
        return Quote(limits=limits, decision=decision)

    async def admit(
        self,
        requester: Requester,
        request: VideoRequest,
        *,
        parent_job_id: str | None = None,
        story_parent_id: str | None = None,
    ) -> Admission:
        """Server rules, then ONE reservation against the server's, the member's and the operator's
        caps together, in the transaction that creates the job."""
        limits, cost = await self._rule_inputs(requester, request)
        now = self.clock()
        day_key, month_key = period_keys(now, limits.timezone)
        new = NewJob(
            id=uuid.uuid4().hex,
            interaction_id=requester.interaction_id,
            guild_id=requester.guild_id,
            channel_id=requester.channel_id,
            member_id=requester.member_id,
            request=request,
            cost=cost,
            size_limit=requester.size_limit,
            day_key=day_key,
            month_key=month_key,
            created_at=now,
            parent_job_id=parent_job_id,
            story_parent_id=story_parent_id,
            locale=requester.locale,
        )
        admission = await self.store.admit_job(
            new, self._decide(limits, requester, cost, now), global_caps=not self.budget.unlimited
        )
        if not admission.decision.allowed or admission.job is None:
            raise _quota_refusal(admission.decision)
        return admission
