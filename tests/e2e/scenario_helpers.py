"""Helpers shared by the end-to-end tests: Discord routes, waiting for a job's upload or refusal,
reading embeds and buttons, and running `/video` as a member."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord, FakeUser, RestCall, SentInteraction
from tests.e2e.harness import BotHarness
from tests.fakes.acedata import FakeAceData

CALLBACK = "/interactions/{interaction_id}/{token}/callback"
FOLLOWUP = "/webhooks/{application_id}/{token}"
WEBHOOK_MESSAGE = "/webhooks/{application_id}/{token}/messages/{message_id}"
CHANNEL_MESSAGE = "/channels/{channel_id}/messages/{message_id}"
CHANNEL_POST = "/channels/{channel_id}/messages"
CREATE_PATH = "/kling/videos"
JOB_BUTTON = re.compile(r"kling:(rerun|remix|extend|delete|cancel|next|stitch):([0-9a-f]{32})")
LINK_BUTTON = 5
# A job is "done" for the tests once the bot uploaded its video or showed its result; a render of
# 0.5 s with polls every 0.2 s takes about 2 s, so this leaves room for a slow CI machine.
JOB_TIMEOUT = 12.0


def walk_components(components: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for component in components:
        yield component
        yield from walk_components(component.get("components") or [])


def buttons(message_or_body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in walk_components(message_or_body.get("components") or []) if c.get("type") == 2]


def job_actions(message_or_body: Mapping[str, Any]) -> dict[str, str]:
    """Button action -> job id, from the custom ids `kling:<action>:<job id>`."""
    found = (JOB_BUTTON.fullmatch(b.get("custom_id") or "") for b in buttons(message_or_body))
    return {match[1]: match[2] for match in found if match}


def embed_text(body: Mapping[str, Any] | None) -> str:
    """Everything a member reads in a message body: content, embed titles, descriptions and fields."""
    if not body:
        return ""
    parts = [str(body.get("content") or "")]
    for embed in body.get("embeds") or []:
        parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        parts += [f"{f.get('name')}: {f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(parts)


def edits_of(sent: SentInteraction) -> Callable[[RestCall], bool]:
    """Edits of the job's message, through the interaction webhook or the channel route."""

    def matches(call: RestCall) -> bool:
        if call.method != "PATCH":
            return False
        if call.route == WEBHOOK_MESSAGE:
            return sent.token in call.path.split("/")
        message_id = sent.state.original_message_id
        return call.route == CHANNEL_MESSAGE and call.path.endswith(f"/messages/{message_id}")

    return matches


async def delivered_upload(fake: FakeDiscord, sent: SentInteraction, within: float = JOB_TIMEOUT) -> RestCall:
    """The successful edit of the job's message that carried the video file (an edit carrying only
    the frames kept on the message is not it)."""
    is_edit = edits_of(sent)

    def carries_video(call: RestCall) -> bool:
        return any(f.filename.endswith(".mp4") for f in call.files)

    return await fake.wait_for(lambda c: is_edit(c) and carries_video(c) and c.status == 200, within)


async def ephemeral_refusal(sent: SentInteraction, within: float = 8.0) -> str:
    """The text only the member sees: an ephemeral first answer, or an ephemeral follow-up."""

    def ephemeral(call: RestCall) -> bool:
        body = call.json or {}
        if call.route == CALLBACK:
            data = body.get("data") or {}
            return body.get("type") == 4 and bool(int(data.get("flags") or 0) & EPHEMERAL)
        return call.route == FOLLOWUP and bool(int(body.get("flags") or 0) & EPHEMERAL)

    call = await sent.wait_for_call(ephemeral, within)
    assert call.status == 200, f"the refusal itself failed: {call.status} {call.response}"
    body = call.json["data"] if call.route == CALLBACK else call.json
    text = str(body.get("content") or "")
    assert text.strip(), "an empty refusal"
    return text


async def eventually(condition: Callable[[], bool], what: str, within: float = JOB_TIMEOUT) -> None:
    """For state the fakes expose without a waiting API (the fake AceData's tasks and requests)."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within:g}s waiting for {what}")
        await asyncio.sleep(0.05)


async def expire_after_launch(fake: FakeDiscord, sent: SentInteraction) -> None:
    """Expire the job's interaction token once launching is over (first edit and the ephemeral cost
    note), so from then on only the progress messenger holds it."""
    await sent.original_edit(lambda c: c.status == 200)
    await sent.wait_for_call(lambda c: c.route == FOLLOWUP)
    fake.expire_token(sent.token)


async def run_video(
    fake: FakeDiscord, options: Mapping[str, Any], *, user: FakeUser | None = None, **kwargs: Any
) -> SentInteraction:
    sent = await fake.send_slash_command("video", dict(options), user=user, **kwargs)
    ack = await sent.response()
    assert ack.status == 200, ack.response
    return sent


def uploaded_by_dm(fake: FakeDiscord) -> Callable[[RestCall], bool]:
    """A successful post of a video file into a member's DM channel."""

    def matches(call: RestCall) -> bool:
        return (
            call.method == "POST"
            and call.route == CHANNEL_POST
            and bool(call.files)
            and call.status == 200
            and fake.dm_channel_by_id(int(call.path.split("/")[-2])) is not None
        )

    return matches


async def video_sent_by_dm(fake: FakeDiscord, prompt: str) -> RestCall:
    """`/video` made by the default member, whose result then has no way back to the channel (the
    interaction token expired after launching, the channel refuses the bot): the upload by DM."""
    sent = await run_video(fake, {"prompt": prompt})
    await expire_after_launch(fake, sent)
    fake.forbid_channel(int(sent.payload["channel_id"]))
    return await fake.wait_for(uploaded_by_dm(fake), JOB_TIMEOUT)


def paid_creates(acedata: FakeAceData) -> int:
    return len(acedata.requests_to(CREATE_PATH))


async def command(
    fake: FakeDiscord, name: str, options: dict[str, Any], *, user: FakeUser, sub: str = ""
) -> SentInteraction:
    return await fake.send_slash_command(name, options, user=user, subcommand=[sub] if sub else [])


async def run_check(harness: BotHarness, **env: str) -> tuple[int, str]:
    environment = {**harness.environment(), **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        cwd=harness.workdir,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


def shard_of(guild_id: int, count: int = 2) -> int:
    """The shard Discord routes a guild's events to (its id's timestamp bits, modulo the count)."""
    return (guild_id >> 22) % count


@asynccontextmanager
async def sharded_bots(
    folder: Path, discord: FakeDiscord, acedata: FakeAceData, database_url: str, *, count: int = 2
) -> AsyncIterator[dict[int, BotHarness]]:
    """`count` real bot processes on one database, process N serving shard N of `count`; started
    on entry, stopped on exit, and (when the block passed) checked for leaked secrets."""
    processes: dict[int, BotHarness] = {}
    for shard in range(count):
        workdir = folder / f"process-{shard}"
        workdir.mkdir()
        processes[shard] = BotHarness(
            workdir,
            discord=discord,
            acedata=acedata,
            env={
                "DATABASE_URL": database_url,
                "SHARD_COUNT": str(count),
                "SHARD_IDS": str(shard),
                "DEV_GUILD_ID": "",  # global commands: the fake serves them in every guild
            },
        )
    try:
        for shard in range(count):
            await processes[shard].start()
        yield processes
    finally:
        for harness in processes.values():
            await harness.stop()
    for harness in processes.values():
        assert harness.leaked_secrets() == []


async def private_answer(sent: SentInteraction) -> dict[str, Any]:
    """The ephemeral body the command answered with (a follow-up or the edited deferred reply)."""
    call = await sent.wait_for_call(
        lambda c: (
            c.route in (FOLLOWUP, WEBHOOK_MESSAGE) and c.status == 200 and bool((c.json or {}).get("embeds"))
        ),
        10.0,
    )
    ack = await sent.response()
    assert int((ack.json.get("data") or {}).get("flags") or 0) & EPHEMERAL, "the answer should be private"
    body: dict[str, Any] = call.json
    return body
