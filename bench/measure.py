"""From what the fakes recorded to per-job traces and one summary per run.

Everything here is pure: it reads the fake Discord's REST calls and the fake AceData's tasks and
requests after (or during) a run, so the numbers come from what crossed the wire, not from the bot.
"""

from __future__ import annotations

import bisect
import math
import re
import statistics
from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tests.e2e.fake_discord import RestCall
from tests.fakes.acedata import FakeTask, RecordedRequest

CALLBACK = "/interactions/{interaction_id}/{token}/callback"
WEBHOOK_MESSAGE = "/webhooks/{application_id}/{token}/messages/{message_id}"
CHANNEL_MESSAGE = "/channels/{channel_id}/messages/{message_id}"
CHANNEL_MESSAGES = "/channels/{channel_id}/messages"
CREATE_PATH = "/kling/videos"
QUERY_PATH = "/kling/tasks"
#: How AceData's own SDK waits for a task: one query every 3 seconds.
SDK_POLL_SECONDS = 3.0
#: The first second of a task is launch bookkeeping (state changes that are always shown at once).
_SETTLE_SECONDS = 1.0
_PROMPT = "benchmark video number {index}"
_PROMPT_INDEX = re.compile(r"benchmark video number (\d+)")
_MENTION = re.compile(r"<@!?(\d+)>")


#: The User-Agent of the per-task polling client the benchmark runs side by side with the bot.
BASELINE_AGENT = "bench-per-task-polling-client"


def is_baseline(request: RecordedRequest) -> bool:
    return request.headers.get("user-agent") == BASELINE_AGENT


@dataclass(frozen=True, slots=True)
class BaselineResult:
    """What the per-task polling client did: its requests (creates + queries) and, per task, how long
    after the task finished it saw it."""

    tasks: int
    requests: int
    seen_lags: list[float]


def is_prompt(prompt: str) -> bool:
    """Whether a task's prompt is one the benchmark sent through the bot."""
    return _PROMPT_INDEX.fullmatch(prompt) is not None


def prompt_for(index: int) -> str:
    """Every job gets its own prompt, so the fake AceData's task can be matched back to it."""
    return _PROMPT.format(index=index)


@dataclass(frozen=True, slots=True)
class Injected:
    """One /video the benchmark sent: when, with which interaction token, and its message (if any)."""

    index: int
    token: str
    injected_at: float  # wall clock, like RestCall.at
    message_id: int | None
    member_id: int | None = None  # who sent it: a result posted as a new message mentions them


@dataclass
class JobTrace:
    index: int
    injected_at: float
    ack_at: float | None = None
    ack_status: int | None = None
    task_created_at: float | None = None
    task_finished_at: float | None = None
    delivered_at: float | None = None
    edits: list[float] = field(default_factory=list)
    token_requests: list[float] = field(default_factory=list)  # callback, follow-ups and webhook edits

    @property
    def ack_latency(self) -> float | None:
        return None if self.ack_at is None else self.ack_at - self.injected_at

    @property
    def delivery_lag(self) -> float | None:
        if self.delivered_at is None or self.task_finished_at is None:
            return None
        return self.delivered_at - self.task_finished_at

    def rendering_edits(self) -> list[float]:
        """Progress edits while the task rendered, after the launch edits settled."""
        if self.task_created_at is None or self.task_finished_at is None:
            return []
        start = self.task_created_at + _SETTLE_SECONDS
        return [at for at in self.edits if start <= at <= self.task_finished_at]


def _is_edit(call: RestCall) -> bool:
    return call.method == "PATCH" and call.route in (WEBHOOK_MESSAGE, CHANNEL_MESSAGE)


def posted_result_for(call: RestCall) -> int | None:
    """The member a new channel message carrying a file was for (a result posted anew instead of
    edited into the job's message), from the mention it starts with."""
    if call.method != "POST" or call.route != CHANNEL_MESSAGES or not call.files or call.status != 200:
        return None
    content = call.json.get("content") if isinstance(call.json, dict) else None
    match = _MENTION.match(content or "")
    return int(match[1]) if match else None


def result_edit_of(call: RestCall, tokens: Container[str], messages: Mapping[str, str]) -> str | None:
    """The interaction token of the job whose message `call` edited with its video (a 200 PATCH
    carrying a file, through the job's interaction webhook or its channel message), else None.
    `messages` maps a job's message id to its token."""
    if call.method != "PATCH" or not call.files or call.status != 200:
        return None
    parts = call.path.split("/")
    return parts[3] if len(parts) > 3 and parts[3] in tokens else messages.get(parts[-1])


def build_traces(
    injected: Sequence[Injected], calls: Iterable[RestCall], tasks: Iterable[FakeTask]
) -> list[JobTrace]:
    traces = {job.index: JobTrace(job.index, job.injected_at) for job in injected}
    by_token = {job.token: job.index for job in injected}
    by_message = {job.message_id: job.index for job in injected if job.message_id is not None}
    by_member = {job.member_id: job.index for job in injected if job.member_id is not None}
    for call in calls:
        member = posted_result_for(call)
        if member is not None and member in by_member:
            trace = traces[by_member[member]]
            trace.edits.append(call.at)
            if trace.delivered_at is None:
                trace.delivered_at = call.at
            continue
        parts = call.path.split("/")
        token_index = by_token.get(parts[3]) if len(parts) > 3 else None
        if token_index is not None:
            traces[token_index].token_requests.append(call.at)
        if call.route == CALLBACK:
            index = by_token.get(parts[3])
            if index is not None and traces[index].ack_at is None:
                traces[index].ack_at, traces[index].ack_status = call.at, call.status
        elif _is_edit(call):
            index = (
                by_token.get(parts[3]) if call.route == WEBHOOK_MESSAGE else by_message.get(int(parts[-1]))
            )
            if index is None:
                continue
            traces[index].edits.append(call.at)
            if call.files and call.status == 200 and traces[index].delivered_at is None:
                traces[index].delivered_at = call.at
    for task in tasks:
        match = _PROMPT_INDEX.fullmatch(str(task.request.get("prompt", "")))
        if match and int(match[1]) in traces:
            trace = traces[int(match[1])]
            trace.task_created_at, trace.task_finished_at = task.created_at, task.finished_at
    return [traces[job.index] for job in injected]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Inclusive percentile (``fraction`` in 0..1); None without data."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    cut = statistics.quantiles(values, n=1000, method="inclusive")
    return cut[min(len(cut) - 1, max(0, round(fraction * 1000) - 1))]


@dataclass(frozen=True, slots=True)
class Summary:
    jobs: int
    delivered: int
    ack_p50_ms: float | None
    ack_p99_ms: float | None
    ack_p99_last_tenth_ms: float | None
    ack_max_ms: float | None
    late_acks: int  # callbacks Discord refused (past 3 s) or never sent
    render_seconds: float | None
    acedata_creates: int
    acedata_queries: int
    acedata_downloads: int
    acedata_per_job: float | None
    sdk_baseline_per_job: float | None
    request_ratio: float | None
    query_ratio: float | None
    edits_per_job: float | None
    edits_per_job_minute: float | None
    rendering_edits_per_10s: float | None
    max_edits_per_10s: int | None
    max_token_requests_per_5s: int | None
    discord_requests_per_minute: float | None
    discord_429s: int
    delivery_lag_p50: float | None
    delivery_lag_p99: float | None
    delivery_lag_max: float | None
    cpu_seconds_per_job: float | None
    idle_rss_mb: float | None
    peak_rss_mb: float | None
    wall_seconds: float
    # The per-task polling client run side by side against the same fake (None when not run).
    baseline_per_job: float | None = None
    baseline_seen_p99: float | None = None
    measured_ratio: float | None = None
    # /video sent → its paid create reached AceData: how far the bot's admission lags behind.
    start_lag_p50: float | None = None
    start_lag_p99: float | None = None
    # Jobs not delivered when the run ended, by how far they got.
    never_started: int = 0
    still_rendering: int = 0
    finished_not_delivered: int = 0
    # Results posted as a new channel message (the edit bucket was used up) instead of edited in.
    results_posted_anew: int = 0
    # `uptime` load averages (1, 5, 15 min) when the run started and ended: the machine is shared.
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def most_within(times: Sequence[float], window: float) -> int:
    """The largest number of ``times`` inside any span of ``window`` seconds."""
    ordered = sorted(times)
    return max((bisect.bisect_right(ordered, at + window) - i for i, at in enumerate(ordered)), default=0)


def summarize(
    traces: Sequence[JobTrace],
    calls: Sequence[RestCall],
    acedata_requests: Sequence[RecordedRequest],
    *,
    cpu_seconds: float | None,
    idle_rss: int | None,
    peak_rss: int | None,
    wall_seconds: float,
    per_task: BaselineResult | None = None,
) -> Summary:
    delivered = [t for t in traces if t.delivered_at is not None]
    latencies = [t.ack_latency for t in traces if t.ack_latency is not None and t.ack_status == 200]
    last_tenth = traces[len(traces) - max(1, len(traces) // 10) :]
    last_latencies = [t.ack_latency for t in last_tenth if t.ack_latency is not None and t.ack_status == 200]
    renders = [
        t.task_finished_at - t.task_created_at for t in delivered if t.task_finished_at and t.task_created_at
    ]
    render = _mean(renders)

    counts = Counter(request.path for request in acedata_requests if not is_baseline(request))
    api_requests = counts.get(CREATE_PATH, 0) + counts.get(QUERY_PATH, 0)
    per_job = api_requests / len(delivered) if delivered else None
    baseline_queries = math.ceil(render / SDK_POLL_SECONDS) if render is not None else None
    baseline = 1 + baseline_queries if baseline_queries is not None else None
    queries_per_job = counts.get(QUERY_PATH, 0) / len(delivered) if delivered else None

    lifetimes = [(t, t.delivered_at - t.injected_at) for t in delivered if t.delivered_at is not None]
    rendering = [(t.rendering_edits(), t) for t in delivered]
    rendering_rates = [
        len(edits) / ((t.task_finished_at or 0) - (t.task_created_at or 0) - _SETTLE_SECONDS) * 10
        for edits, t in rendering
        if t.task_finished_at
        and t.task_created_at
        and t.task_finished_at - t.task_created_at > 2 * _SETTLE_SECONDS
    ]
    span = (max(c.at for c in calls) - min(c.at for c in calls)) / 60 if len(calls) > 1 else None
    lags = [t.delivery_lag for t in delivered if t.delivery_lag is not None]
    start_lags = [t.task_created_at - t.injected_at for t in traces if t.task_created_at is not None]
    missing = [t for t in traces if t.delivered_at is None]
    return Summary(
        jobs=len(traces),
        delivered=len(delivered),
        ack_p50_ms=_ms(percentile(latencies, 0.50)),
        ack_p99_ms=_ms(percentile(latencies, 0.99)),
        ack_p99_last_tenth_ms=_ms(percentile(last_latencies, 0.99)),
        ack_max_ms=_ms(max(latencies, default=None)),
        late_acks=len(traces) - len(latencies),
        render_seconds=render,
        acedata_creates=counts.get(CREATE_PATH, 0),
        acedata_queries=counts.get(QUERY_PATH, 0),
        acedata_downloads=sum(n for path, n in counts.items() if path.startswith("/files/")),
        acedata_per_job=per_job,
        sdk_baseline_per_job=baseline,
        request_ratio=baseline / per_job if baseline and per_job else None,
        query_ratio=baseline_queries / queries_per_job if baseline_queries and queries_per_job else None,
        edits_per_job=_mean([len(t.edits) for t in delivered]),
        edits_per_job_minute=_mean([len(t.edits) / (life / 60) for t, life in lifetimes if life > 0]),
        rendering_edits_per_10s=_mean(rendering_rates),
        max_edits_per_10s=max((most_within(t.edits, 10.0) for t in delivered), default=None),
        max_token_requests_per_5s=max((most_within(t.token_requests, 5.0) for t in traces), default=None),
        discord_requests_per_minute=len(calls) / span if span else None,
        discord_429s=sum(1 for c in calls if c.status == 429),
        delivery_lag_p50=percentile(lags, 0.50),
        delivery_lag_p99=percentile(lags, 0.99),
        delivery_lag_max=max(lags, default=None),
        cpu_seconds_per_job=cpu_seconds / len(traces) if cpu_seconds is not None and traces else None,
        idle_rss_mb=idle_rss / 2**20 if idle_rss is not None else None,
        peak_rss_mb=peak_rss / 2**20 if peak_rss is not None else None,
        wall_seconds=wall_seconds,
        baseline_per_job=per_task.requests / per_task.tasks if per_task and per_task.tasks else None,
        baseline_seen_p99=percentile(per_task.seen_lags, 0.99) if per_task else None,
        measured_ratio=(
            per_task.requests / per_task.tasks / per_job if per_task and per_task.tasks and per_job else None
        ),
        start_lag_p50=percentile(start_lags, 0.50),
        start_lag_p99=percentile(start_lags, 0.99),
        never_started=sum(1 for t in missing if t.task_created_at is None),
        still_rendering=sum(1 for t in missing if t.task_created_at and t.task_finished_at is None),
        finished_not_delivered=sum(1 for t in missing if t.task_finished_at is not None),
        results_posted_anew=sum(1 for c in calls if posted_result_for(c) is not None),
    )
