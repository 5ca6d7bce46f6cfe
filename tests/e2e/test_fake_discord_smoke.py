"""The fake Discord against the real discord.py 2.7.1 client, before (and apart from) the bot itself.

The e2e tests run this module as a subprocess (``python -m tests.e2e.test_fake_discord_smoke``): a minimal
``commands.Bot`` with one slash command, a persistent button and a modal. The other tests talk to the fake
directly over HTTP and websocket.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.discord_app.endpoints import configure_discord_endpoints
from tests.e2e.fake_discord import BOT_PERMISSIONS, FakeDiscord
from tests.e2e.harness import REPO_ROOT, BotHarness, BotProcess

SMOKE_CLIENT = (sys.executable, "-m", "tests.e2e.test_fake_discord_smoke")
CALLBACK = "/interactions/{interaction_id}/{token}/callback"


class _UnusedAceData:
    """The smoke client never calls AceData; the harness still wants an address and a token."""

    base_url = "http://127.0.0.1:9"
    token = "unused-acedata-token"


@pytest.fixture
async def smoke(tmp_path: Path, fake_discord: FakeDiscord) -> AsyncIterator[tuple[BotHarness, BotProcess]]:
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=_UnusedAceData(), argv=SMOKE_CLIENT)
    try:
        process = await harness.start(timeout=15)
        yield harness, process
    finally:
        await harness.stop()
    assert harness.leaked_secrets() == [], "the smoke client printed a token"


def _channel_post(channel_id: int) -> Any:
    return lambda c: c.method == "POST" and c.path == f"/channels/{channel_id}/messages"


# --- against the real discord.py client ---------------------------------------------------------


@pytest.mark.e2e
async def test_client_logs_in_syncs_commands_and_sees_the_guild(
    fake_discord: FakeDiscord, smoke: tuple[BotHarness, BotProcess]
) -> None:
    _, process = smoke
    ready = await process.wait_for_line(r"SMOKE ready guild=(\d+) channels=(\S+) perms=(\d+)", timeout=10)
    assert int(ready[1]) == fake_discord.guild.id
    assert ready[2].split(",") == ["general", "mod-log"]
    assert int(ready[3]) == BOT_PERMISSIONS  # the bot member and its role came through GUILD_CREATE

    routes = [(c.method, c.route) for c in fake_discord.calls]
    assert routes[:2] == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
    assert ("PUT", "/applications/{application_id}/commands") in routes
    assert fake_discord.command_names() == {"global": ["echo"]}
    echo = fake_discord.commands[None][0]
    assert [o["name"] for o in echo["options"]] == ["text", "image", "pause"]
    assert fake_discord.unhandled == []

    connection = fake_discord.gateway_connections[0]
    assert connection.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert connection.identify is not None and connection.identify["intents"] == 1
    assert connection.received_ops[:2] == [1, 2]  # a heartbeat right after hello, then identify


@pytest.mark.e2e
async def test_slash_command_defers_reads_attachment_edits_uploads_and_dms(
    fake_discord: FakeDiscord, smoke: tuple[BotHarness, BotProcess]
) -> None:
    image = fake_discord.add_attachment(bytes(range(256)) * 5, "cat.bin")
    general = fake_discord.guild.text_channel
    fake_discord.rate_limit_next("POST", "/channels/{channel_id}/messages", retry_after=0.2)

    sent = await fake_discord.send_slash_command("echo", {"text": "hi", "image": image})

    callback = await sent.response()
    assert (callback.status, callback.json["type"]) == (200, 5)
    edit = await sent.original_edit()
    assert edit.status == 200
    assert edit.json["content"] == "echo: hi (1280 bytes)"
    assert edit.json["components"][0]["components"][0]["custom_id"] == "smoke:ping"
    assert sent.original_message is not None and sent.original_message["flags"] == 0  # no longer loading
    cdn = await fake_discord.wait_for(
        lambda c: c.path.startswith(f"/cdn/ephemeral-attachments/{general.id}/")
    )
    assert cdn.status == 200

    upload = await fake_discord.wait_for(lambda c: _channel_post(general.id)(c) and c.status == 200)
    assert [c.status for c in fake_discord.calls if _channel_post(general.id)(c)] == [
        429,
        200,
    ]  # waited, retried
    assert [(f.filename, f.size) for f in upload.files] == [("echo.bin", 1280)]
    stored = fake_discord.messages[int(upload.response["id"])]
    assert stored["attachments"][0]["size"] == 1280

    dm_channel = await fake_discord.wait_for(lambda c: c.route == "/users/@me/channels")
    assert int(dm_channel.json["recipient_id"]) == fake_discord.default_user.id
    dm = await fake_discord.wait_for(_channel_post(int(dm_channel.response["id"])))
    assert (dm.status, dm.json["content"]) == (200, "dm for hi")
    assert fake_discord.unhandled == []


@pytest.mark.e2e
async def test_button_opens_a_modal_whose_submit_gets_an_ephemeral_reply(
    fake_discord: FakeDiscord, smoke: tuple[BotHarness, BotProcess]
) -> None:
    sent = await fake_discord.send_slash_command("echo", {"text": "hi"})
    await sent.original_edit()
    assert sent.original_message is not None

    click = await fake_discord.send_component_click(sent.original_message, "smoke:ping")
    shown = await click.response()
    assert shown.json["type"] == 9 and shown.json["data"]["custom_id"] == "smoke:note-modal"

    submit = await fake_discord.send_modal_submit("smoke:note-modal", {"smoke:note": "hello"})
    reply = await submit.response()
    assert reply.json == {"type": 4, "data": reply.json["data"]}
    assert reply.json["data"]["content"] == "noted: hello"
    assert reply.json["data"]["flags"] == 64


@pytest.mark.e2e
async def test_expired_interaction_token_answers_401_50027(
    fake_discord: FakeDiscord, smoke: tuple[BotHarness, BotProcess]
) -> None:
    _, process = smoke
    sent = await fake_discord.send_slash_command("echo", {"text": "late", "pause": 1.0})
    await sent.response()
    fake_discord.expire_token(sent.token)

    edit = await sent.original_edit(timeout=10)
    assert (edit.status, edit.error_code) == (401, 50027)
    await process.wait_for_line(r"SMOKE edit failed status=401 code=50027")
    # The bot token still works for the channel.
    upload = await fake_discord.wait_for(_channel_post(fake_discord.guild.text_channel.id))
    assert upload.status == 200


@pytest.mark.e2e
async def test_client_resumes_and_gets_the_events_it_missed(
    fake_discord: FakeDiscord, smoke: tuple[BotHarness, BotProcess]
) -> None:
    await fake_discord.disconnect_bot()
    # Sent while the client is away: kept by the session and replayed on resume, as Discord does.
    sent = await fake_discord.send_slash_command("echo", {"text": "again"})
    resumed = await fake_discord.wait_for_resume()
    assert resumed.path == "/gateway-resume"
    assert (await sent.response()).json["type"] == 5
    assert sum(c.identified for c in fake_discord.gateway_connections) == 1


@pytest.mark.e2e
async def test_killed_client_restarts_and_identifies_again(
    fake_discord: FakeDiscord, smoke: tuple[BotHarness, BotProcess]
) -> None:
    harness, first = smoke
    await harness.restart(kill=True, timeout=15)
    assert first.returncode == -9
    assert sum(c.identified for c in fake_discord.gateway_connections) == 2
    sent = await fake_discord.send_slash_command("echo", {"text": "after restart"})
    edit = await sent.original_edit()
    assert edit.json["content"] == "echo: after restart (0 bytes)"


# --- the fake on its own --------------------------------------------------------------------------


@pytest.fixture
async def http(fake_discord: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bot {fake_discord.bot_token}"}
    async with aiohttp.ClientSession(base_url=fake_discord.api_base + "/", headers=headers) as session:
        yield session


async def _call(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, path.lstrip("/"), json=body) as response:
        return response.status, await response.json() if response.content_length != 0 else None


async def test_deleted_messages_answer_404_and_forbidden_channels_403(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    channel = fake_discord.guild.text_channel.id
    status, message = await _call(http, "POST", f"/channels/{channel}/messages", {"content": "hello"})
    assert status == 200 and message["author"]["id"] == str(fake_discord.bot_user.id)

    fake_discord.delete_message(int(message["id"]))
    status, error = await _call(
        http, "PATCH", f"/channels/{channel}/messages/{message['id']}", {"content": "x"}
    )
    assert (status, error["code"]) == (404, 10008)

    fake_discord.forbid_channel(channel)
    status, error = await _call(http, "POST", f"/channels/{channel}/messages", {"content": "hello"})
    assert (status, error["code"]) == (403, 50001)


async def test_message_bodies_over_discord_limits_get_400_50035(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    channel = fake_discord.guild.text_channel.id
    status, error = await _call(http, "POST", f"/channels/{channel}/messages", {"content": "x" * 2001})
    assert (status, error["code"]) == (400, 50035)
    assert "content" in error["errors"]
    status, error = await _call(http, "POST", f"/channels/{channel}/messages", {"content": ""})
    assert (status, error["code"]) == (400, 50006)


async def test_bot_routes_need_the_bot_token_and_failures_can_be_injected(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(fake_discord.api_base + "/users/@me") as response,
    ):
        assert response.status == 401
    fake_discord.fail_next("GET", "/users/@me", status=503)
    assert (await _call(http, "GET", "/users/@me"))[0] == 503
    assert (await _call(http, "GET", "/users/@me"))[0] == 200
    fake_discord.rate_limit_next("GET", "/users/@me", retry_after=0.5)
    async with http.get("users/@me") as response:
        assert (response.status, response.headers["Via"]) == (429, "1.1 google")
        assert (await response.json())["retry_after"] == 0.5
    assert (await _call(http, "GET", "/no/such/route"))[0] == 404
    assert [c.path for c in fake_discord.unhandled] == ["/no/such/route"]


async def test_gateway_speaks_zlib_stream_and_refuses_a_wrong_token(fake_discord: FakeDiscord) -> None:
    url = yarl.URL(fake_discord.gateway_url).with_query(v=10, encoding="json", compress="zlib-stream")
    inflate = zlib.decompressobj()
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        frame = await ws.receive(timeout=5)
        assert frame.type is aiohttp.WSMsgType.BINARY and frame.data.endswith(b"\x00\x00\xff\xff")
        hello = json.loads(inflate.decompress(frame.data))
        assert hello == {"op": 10, "d": {"heartbeat_interval": fake_discord.heartbeat_interval_ms}}
        await ws.send_str(json.dumps({"op": 1, "d": None}))
        assert json.loads(inflate.decompress((await ws.receive(timeout=5)).data)) == {"op": 11}
        await ws.send_str(json.dumps({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}}))
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4004


async def test_slash_commands_must_be_synced_before_a_member_can_run_them(fake_discord: FakeDiscord) -> None:
    with pytest.raises(LookupError, match="never synced"):
        await fake_discord.send_slash_command("video", {"prompt": "a cat"})


async def test_standalone_fake_prints_its_endpoints_and_answers_the_control_api(tmp_path: Path) -> None:
    fake = BotProcess(
        (sys.executable, "-m", "tests.e2e.fake_discord", "--port", "0"),
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"},
        cwd=tmp_path,
        log_path=tmp_path / "fake.log",
    )
    await fake.start()
    try:
        endpoints = json.loads((await fake.wait_for_line(r"^\{.*\}$"))[0])
        control = endpoints["control_url"]
        async with aiohttp.ClientSession() as session:
            async with session.get(control + "/state") as response:
                state = await response.json()
            assert state["commands"] == {} and state["identified"] == 0
            upload = session.post(control + "/attachments", params={"filename": "a.png"}, data=b"12345")
            async with upload as response:
                attachment = await response.json()
            async with session.get(attachment["url"]) as response:
                assert await response.read() == b"12345"
            async with session.post(control + "/slash", json={"name": "video"}) as response:
                assert response.status == 400 and "never synced" in (await response.json())["error"]
        assert endpoints["api_base"].endswith("/api/v10") and endpoints["gateway_url"].startswith(
            "ws://127.0.0.1:"
        )
    finally:
        assert await fake.terminate() == 0


def test_configure_discord_endpoints_points_discord_py_at_the_fake() -> None:
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    try:
        configure_discord_endpoints("http://127.0.0.1:1234/api/v10/", "ws://127.0.0.1:1234/gateway?v=9")
        assert Route.BASE == "http://127.0.0.1:1234/api/v10"
        assert Route("GET", "/users/@me").url == "http://127.0.0.1:1234/api/v10/users/@me"
        assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:1234/gateway"
        configure_discord_endpoints(None, None)
        assert Route.BASE == "http://127.0.0.1:1234/api/v10"
        with pytest.raises(ValueError, match="DISCORD_GATEWAY_URL"):
            configure_discord_endpoints(None, "http://127.0.0.1:1234/gateway")
        with pytest.raises(ValueError, match="DISCORD_API_BASE"):
            configure_discord_endpoints("127.0.0.1:1234", None)
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


# --- the minimal discord.py client the e2e tests above run ---------------------------------------


def run_smoke_client() -> None:
    configure_discord_endpoints(os.environ["DISCORD_API_BASE"], os.environ["DISCORD_GATEWAY_URL"])

    class NoteModal(discord.ui.Modal, title="Note"):
        note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(label="Note", custom_id="smoke:note")

        def __init__(self) -> None:
            super().__init__(custom_id="smoke:note-modal")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"noted: {self.note.value}", ephemeral=True)

    class PingView(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @discord.ui.button(label="Ping", custom_id="smoke:ping")
        async def ping(self, interaction: discord.Interaction, button: discord.ui.Button[PingView]) -> None:
            await interaction.response.send_modal(NoteModal())

    class SmokeBot(commands.Bot):
        async def setup_hook(self) -> None:
            self.add_view(PingView())
            await self.tree.sync()

        async def on_ready(self) -> None:
            guild = self.guilds[0]
            channels = ",".join(channel.name for channel in guild.text_channels)
            print(
                f"SMOKE ready guild={guild.id} channels={channels} perms={guild.me.guild_permissions.value}"
            )

    bot = SmokeBot(command_prefix=commands.when_mentioned, intents=discord.Intents(guilds=True))

    @bot.tree.command(name="echo", description="Echo text and an optional file back")
    @app_commands.describe(
        text="what to echo", image="a file to echo", pause="seconds to wait before editing"
    )
    async def echo(
        interaction: discord.Interaction,
        text: str,
        image: discord.Attachment | None = None,
        pause: float = 0.0,
    ) -> None:
        await interaction.response.defer(thinking=True)
        data = await image.read() if image is not None else b""
        await asyncio.sleep(pause)
        try:
            await interaction.edit_original_response(
                content=f"echo: {text} ({len(data)} bytes)", view=PingView()
            )
        except discord.HTTPException as exc:
            print(f"SMOKE edit failed status={exc.status} code={exc.code}")
        assert isinstance(interaction.channel, discord.TextChannel)
        upload = discord.File(io.BytesIO(data or b"empty"), filename="echo.bin")
        await interaction.channel.send(f"file for {text}", file=upload)
        await interaction.user.send(f"dm for {text}")

    asyncio.run(bot.start(os.environ["DISCORD_TOKEN"]))


if __name__ == "__main__":
    run_smoke_client()
