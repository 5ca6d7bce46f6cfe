"""A fake Discord (REST + gateway websocket) on 127.0.0.1 that the real discord.py client runs against.

In a test: ``async with FakeDiscord() as fake:`` then give the client ``fake.api_base`` and
``fake.gateway_url`` (see bot/discord_endpoints.py), wait for ``fake.wait_for_identify()`` and drive it
with ``send_slash_command`` / ``send_component_click`` / ``send_modal_submit``. Every REST call is recorded
(``fake.calls``) and can be awaited with ``fake.wait_for``. Standalone, for the benchmark:
``python -m tests.e2e.fake_discord --port N`` with the control API under ``/_control`` (see ``ControlApi``).

It answers like Discord where the bot can tell the difference: snowflakes carry the real time (discord.py
derives ``Interaction.created_at`` from them), interaction callbacks are refused after 3 seconds or twice,
interaction tokens die after 15 minutes (401 50027), ephemeral messages cannot be reached through channel
routes, message bodies over Discord's limits get 400 50035, and the gateway speaks zlib-stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import io
import json
import mimetypes
import re
import secrets
import signal
import time
import urllib.parse
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import BodyPartReader, WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
DEFAULT_BOT_TOKEN = "fake-discord-bot-token"
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # what Discord allows in a server without boosts
EPHEMERAL = 1 << 6
LOADING = 1 << 7
GUILDS_INTENT = 1 << 0
T = TypeVar("T")


class Permission(enum.IntFlag):
    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40


# Discord sends this for administrators: every permission bit that exists today.
ALL_PERMISSIONS = (1 << 51) - 1
MEMBER_PERMISSIONS = int(
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.ADD_REACTIONS
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.SEND_MESSAGES_IN_THREADS
)
BOT_PERMISSIONS = MEMBER_PERMISSIONS | int(Permission.MANAGE_MESSAGES)
CHANNEL_ACCESS = int(
    Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES | Permission.EMBED_LINKS | Permission.ATTACH_FILES
)

# Which callback types Discord accepts for each interaction type.
_CALLBACKS_ALLOWED = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
_OPTION_TYPES = {"string": 3, "integer": 4, "boolean": 5, "user": 6, "number": 10, "attachment": 11}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class Snowflakes:
    """Discord ids: milliseconds since 2015 in the high bits, so ids sort by time and carry it."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        value = ((time.time_ns() // 1_000_000 - DISCORD_EPOCH_MS) << 22) | (1 << 17)
        self._last = max(value, self._last + 1)
        return self._last


# --- the world the bot sees ---------------------------------------------------------------------


@dataclass
class FakeUser:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
            "tags": {"bot_id": str(self.bot_id)} if self.bot_id else {},
        }


@dataclass
class FakeChannel:
    id: int
    name: str
    guild_id: int | None
    type: int = 0  # 0 text, 1 DM
    position: int = 0
    recipient: FakeUser | None = None

    def payload(self) -> dict[str, Any]:
        if self.type == 1:
            assert self.recipient is not None
            recipients = [self.recipient.payload()]
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": recipients,
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass
class FakeMember:
    user: FakeUser
    role_ids: list[int]
    joined_at: str = field(default_factory=_now_iso)

    def payload(self, *, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user.payload(),
            "roles": [str(role_id) for role_id in self.role_ids],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: list[FakeRole]
    channels: list[FakeChannel]
    members: dict[int, FakeMember]
    joined_at: str = field(default_factory=_now_iso)
    #: The server's "Community" language (Server Settings → Community), sent in GUILD_CREATE and as
    #: every interaction's `guild_locale`; set it before the bot connects.
    preferred_locale: str = "en-US"

    @property
    def text_channel(self) -> FakeChannel:
        return self.channels[0]

    def channel(self, name: str) -> FakeChannel:
        return next(channel for channel in self.channels if channel.name == name)

    def permissions_of(self, member: FakeMember) -> int:
        if member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        value = 0
        for role in self.roles:
            if role.id == self.id or role.id in member.role_ids:  # the @everyone role has the guild's id
                value |= role.permissions
        return ALL_PERMISSIONS if value & Permission.ADMINISTRATOR else value

    def create_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "features": [],
            "application_id": None,
            "system_channel_id": str(self.text_channel.id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.preferred_locale,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "joined_at": self.joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(self.members),
            "roles": [role.payload() for role in self.roles],
            "channels": [{k: v for k, v in c.payload().items() if k != "guild_id"} for c in self.channels],
            "members": [member.payload() for member in self.members.values()],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


@dataclass
class FakeAttachment:
    """A file on the fake CDN: one a member uploads with a command, or one the bot uploaded."""

    id: int
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    url: str
    width: int | None = None
    height: int | None = None
    ephemeral: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.width is not None:
            data["width"], data["height"] = self.width, self.height
        if self.ephemeral:
            data["ephemeral"] = True
        return data


@dataclass(frozen=True)
class UploadedFile:
    field_name: str
    filename: str
    size: int
    data: bytes = field(repr=False)


@dataclass
class RestCall:
    """One request the client made. ``path`` and ``route`` have the /api/v10 prefix removed."""

    index: int
    method: str
    path: str
    route: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    at: float
    status: int = 0
    response: Any = None
    #: The X-RateLimit-* headers of the answer (only with rate limits modelled).
    rate_limit_headers: dict[str, str] = field(default_factory=dict)

    @property
    def error_code(self) -> int | None:
        return self.response.get("code") if isinstance(self.response, dict) and self.status >= 400 else None

    def summary(self) -> dict[str, Any]:
        """JSON-ready, without file bytes (for the control API and failure messages)."""
        return {
            "index": self.index,
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "query": self.query,
            "json": self.json,
            "files": [{"filename": f.filename, "size": f.size} for f in self.files],
            "at": self.at,
            "status": self.status,
            "error_code": self.error_code,
        }


# The call a request is recorded as: made by the middleware, completed by the handler.
CALL = web.RequestKey("call", RestCall)


@dataclass
class GatewayConnection:
    """One websocket the client opened, and what it did with it."""

    path: str
    query: dict[str, str]
    opened_at: float
    identified: bool = False
    resumed: bool = False
    closed: bool = False
    received_ops: list[int] = field(default_factory=list)
    identify: dict[str, Any] | None = None
    ws: web.WebSocketResponse | None = field(default=None, repr=False)
    compressor: Any = field(default=None, repr=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)


@dataclass
class GatewaySession:
    session_id: str
    seq: int = 0
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)
    connection: GatewayConnection | None = None
    #: (shard id, shard count) from IDENTIFY; (0, 1) when the client did not shard.
    shard: tuple[int, int] = (0, 1)

    def serves(self, guild_id: int | None) -> bool:
        """Discord's rule: a guild's events go to shard (guild_id >> 22) % shard_count; DMs to shard 0."""
        shard_id, count = self.shard
        return (0 if guild_id is None else (guild_id >> 22) % count) == shard_id


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    payload: dict[str, Any]
    channel_id: int
    created: float  # monotonic
    source_message_id: int | None = None  # the message whose component was used
    callback_type: int | None = None
    original_message_id: int | None = None
    expired: bool = False


class DiscordError(Exception):
    """Answered as Discord's JSON error body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
        is_global: bool = False,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors
        self.retry_after = retry_after
        self.is_global = is_global
        self.extra_headers = dict(extra_headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        if self.retry_after is not None:
            body.update(retry_after=self.retry_after, **{"global": self.is_global})
        return body

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return dict(self.extra_headers)
        # discord.py only waits and retries a 429 that came through Discord's proxy (a Via header).
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(self.retry_after))),
            "X-RateLimit-Scope": "global" if self.is_global else "user",
        }
        if self.is_global:
            headers["X-RateLimit-Global"] = "true"
        return headers | self.extra_headers


def _invalid_form(problems: Mapping[str, str]) -> DiscordError:
    errors: dict[str, Any] = {}
    for path, message in problems.items():
        node = errors
        for part in path.split("."):
            node = node.setdefault(part, {})
        node["_errors"] = [{"code": "BASE_TYPE_INVALID", "message": message}]
    return DiscordError(400, 50035, "Invalid Form Body", errors)


def _too_long(problems: dict[str, str], path: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        problems[path] = f"Must be {limit} or fewer in length."


def message_body_problems(body: Mapping[str, Any]) -> dict[str, str]:
    """The limits Discord enforces on a message body that a bot can realistically trip over."""
    problems: dict[str, str] = {}
    _too_long(problems, "content", body.get("content"), 2000)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for i, embed in enumerate(embeds):
        limits = {"title": 256, "description": 4096}
        for key, limit in limits.items():
            _too_long(problems, f"embeds.{i}.{key}", embed.get(key), limit)
        footer, author = embed.get("footer") or {}, embed.get("author") or {}
        texts = [embed.get("title"), embed.get("description"), footer.get("text"), author.get("name")]
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems[f"embeds.{i}.fields"] = "Must be 25 or fewer in length."
        for j, embed_field in enumerate(fields):
            _too_long(problems, f"embeds.{i}.fields.{j}.name", embed_field.get("name"), 256)
            _too_long(problems, f"embeds.{i}.fields.{j}.value", embed_field.get("value"), 1024)
            texts += [embed_field.get("name"), embed_field.get("value")]
        total += sum(len(text) for text in texts if isinstance(text, str))
    if total > 6000:
        problems["embeds"] = "Embed size exceeds maximum size of 6000"
    # Components v2 messages (flag 1 << 15) may have up to 40 top-level components, classic ones 5 rows.
    max_rows = 40 if int(body.get("flags") or 0) & (1 << 15) else 5
    problems.update(_component_problems(body.get("components") or [], "components", max_rows=max_rows))
    return problems


def _component_problems(rows: Sequence[Mapping[str, Any]], path: str, *, max_rows: int) -> dict[str, str]:
    problems: dict[str, str] = {}
    if len(rows) > max_rows:
        problems[path] = f"Must be {max_rows} or fewer in length."
    seen: set[str] = set()
    for i, row in enumerate(rows):
        children = row.get("components") or ([row["component"]] if "component" in row else [])
        if row.get("type") == 1 and len(children) > 5:
            problems[f"{path}.{i}.components"] = "Must be 5 or fewer in length."
        for j, item in enumerate(children):
            where = f"{path}.{i}.components.{j}"
            custom_id = item.get("custom_id")
            _too_long(problems, f"{where}.custom_id", custom_id, 100)
            _too_long(problems, f"{where}.label", item.get("label"), 80)
            if item.get("type") == 2 and (item.get("style") == 5) != (custom_id is None):
                problems[where] = (
                    "A link button needs a url and no custom_id; other buttons need a custom_id."
                )
            if custom_id is not None:
                if custom_id in seen:
                    problems[f"{where}.custom_id"] = "Component custom id cannot be duplicated"
                seen.add(custom_id)
    return problems


def _modal_problems(data: Mapping[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for key, limit in (("title", 45), ("custom_id", 100)):
        if not data.get(key):
            problems[key] = "This field is required"
        _too_long(problems, key, data.get(key), limit)
    rows = data.get("components") or []
    if not rows:
        problems["components"] = "This field is required"
    problems.update(_component_problems(rows, "components", max_rows=5))
    return problems


# --- the server ---------------------------------------------------------------------------------


@dataclass
class RateLimits:
    """Discord's rate limits as the fake models them (opt-in: ``FakeDiscord(rate_limits=RateLimits())``).

    Fixed windows that start with a bucket's first request, as Discord's do: every bot-token request
    shares the global bucket; creating, editing and deleting messages also take from a bucket per
    route and channel; an interaction webhook (follow-ups and edits with the interaction token) has one bucket
    per token and does not count toward the global limit. Answers carry real ``X-RateLimit-*``
    headers; a request over a limit gets a 429 that discord.py waits out and retries.
    """

    global_limit: int = 50
    global_per: float = 1.0
    channel_limit: int = 5
    channel_per: float = 5.0
    webhook_limit: int = 5
    webhook_per: float = 2.0
    #: As Discord: creating (POST), editing (PATCH) and deleting (DELETE) messages in one channel are
    #: separate routes, each with its own bucket of ``channel_limit`` per ``channel_per``. True puts the
    #: three in one bucket per channel (one ``X-RateLimit-Bucket``), the stricter model of earlier runs.
    shared_channel_bucket: bool = False


@dataclass
class _Bucket:
    name: str  # what X-RateLimit-Bucket says: the same for every channel, like Discord's hashes
    limit: int
    per: float
    remaining: int = 0
    reset_at: float = 0.0  # monotonic

    def take(self, now: float) -> bool:
        if now >= self.reset_at:
            self.remaining, self.reset_at = self.limit, now + self.per
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True

    def headers(self, now: float) -> dict[str, str]:
        reset_after = max(0.0, self.reset_at - now)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self.name,
        }


_CHANNEL_MESSAGE_ROUTES = ("/channels/{channel_id}/messages", "/channels/{channel_id}/messages/{message_id}")


class FakeDiscord:
    """Discord's REST API, gateway and CDN for one bot, on 127.0.0.1."""

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        heartbeat_interval_ms: int = 41250,
        callback_deadline_seconds: float | None = 3.0,
        token_lifetime_seconds: float = 900.0,
        upload_limit_bytes: int = DEFAULT_UPLOAD_LIMIT,
        human_delay_seconds: float = 0.25,
        nonce_window_seconds: float = 300.0,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self._bot_token = bot_token
        self.host, self.port = host, port
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.callback_deadline_seconds = callback_deadline_seconds
        self.token_lifetime_seconds = token_lifetime_seconds
        self.upload_limit_bytes = upload_limit_bytes
        # discord.py registers a view or modal only after Discord answered the request showing it; a member
        # is never that fast, so clicks and submits wait this long after what they act on last changed.
        self.human_delay_seconds = human_delay_seconds
        self.ids = Snowflakes()
        # A message create repeating a recent nonce with enforce_nonce gets the first message back.
        self.nonce_window_seconds = nonce_window_seconds
        self.rate_limits = rate_limits
        self._buckets: dict[str, _Bucket] = {}
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}  # (channel, nonce) -> (message, at)
        # (which calls, how many more, how long their answer waits: None until `stop`)
        self._holds: list[tuple[Callable[[RestCall], bool], list[int], float | None]] = []
        self._released = asyncio.Event()

        self.application_id = self.ids.next()
        self.bot_user = FakeUser(self.application_id, "Kling Test Bot", bot=True)
        self.owner = FakeUser(self.ids.next(), "server-owner")
        self.users: dict[int, FakeUser] = {u.id: u for u in (self.bot_user, self.owner)}
        self.guilds: list[FakeGuild] = []
        self.guild = self.add_guild("Fake Server")
        self.default_user = self.add_member(self.guild, "tester")

        self.calls: list[RestCall] = []
        self.unhandled: list[RestCall] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # guild id (None: global) -> commands
        self.messages: dict[int, dict[str, Any]] = {}
        self.deleted_messages: set[int] = set()
        self.forbidden_channels: set[int] = set()
        self.dm_blocked_users: set[int] = set()
        self.dm_channels: dict[int, FakeChannel] = {}  # by recipient id
        self.modals: dict[str, tuple[dict[str, Any], _Interaction]] = {}  # last modal shown, by custom_id
        self._changed_at: dict[int | str, float] = {}  # message id or modal custom_id -> monotonic time
        self.attachments: dict[int, FakeAttachment] = {}
        self.gateway_connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.current_session: GatewaySession | None = None
        self.shard_sessions: dict[tuple[int, int], GatewaySession] = {}  # latest session of each shard
        self._interactions: dict[str, _Interaction] = {}  # by token
        self._command_ids: dict[tuple[int | None, str], int] = {}
        self._failures: list[tuple[Callable[[RestCall], bool], DiscordError, list[int]]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def bot_token(self) -> str:
        return self._bot_token

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway-resume"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=200 * 1024 * 1024)
        self._add_routes(app)
        ControlApi(self).add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._released.set()
        for connection in self.gateway_connections:
            if connection.ws is not None and not connection.ws.closed:
                await connection.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- building the world ----------------------------------------------------------------------
    def add_guild(self, name: str) -> FakeGuild:
        """A server the bot is in, with a text channel, a mod-log channel and the bot's own role."""
        guild_id = self.ids.next()
        everyone = FakeRole(guild_id, "@everyone", MEMBER_PERMISSIONS)
        bot_role = FakeRole(
            self.ids.next(), self.bot_user.username, BOT_PERMISSIONS, 1, True, self.bot_user.id
        )
        channels = [
            FakeChannel(self.ids.next(), "general", guild_id),
            FakeChannel(self.ids.next(), "mod-log", guild_id, position=1),
        ]
        members = {
            self.bot_user.id: FakeMember(self.bot_user, [bot_role.id]),
            self.owner.id: FakeMember(self.owner, []),
        }
        guild = FakeGuild(guild_id, name, self.owner.id, [everyone, bot_role], channels, members)
        self.guilds.append(guild)
        return guild

    def add_member(self, guild: FakeGuild, username: str, *, user_id: int | None = None) -> FakeUser:
        user = self.users.get(user_id) if user_id is not None else None
        if user is None:
            user = FakeUser(user_id or self.ids.next(), username, global_name=username.title())
            self.users[user.id] = user
        guild.members.setdefault(user.id, FakeMember(user, []))
        return user

    def add_role(self, guild: FakeGuild, name: str, permissions: int = 0) -> FakeRole:
        """A role in ``guild`` (before the bot starts, or it won't be in the bot's cache)."""
        role = FakeRole(self.ids.next(), name, permissions, position=len(guild.roles))
        guild.roles.append(role)
        return role

    def add_channel(self, guild: FakeGuild, name: str, *, type: int = 0) -> FakeChannel:
        """A channel in ``guild`` (0 text, 4 category, 15 forum…), before the bot starts."""
        channel = FakeChannel(self.ids.next(), name, guild.id, type=type, position=len(guild.channels))
        guild.channels.append(channel)
        return channel

    def add_attachment(
        self, data: bytes, filename: str, content_type: str | None = None, *, channel_id: int | None = None
    ) -> FakeAttachment:
        """Bytes on the fake CDN, as a member's upload to a slash command (an ephemeral attachment)."""
        return self._store_attachment(
            data, filename, content_type, channel_id or self.guild.text_channel.id, True
        )

    def _store_attachment(
        self, data: bytes, filename: str, content_type: str | None, channel_id: int, ephemeral: bool
    ) -> FakeAttachment:
        attachment_id = self.ids.next()
        kind = "ephemeral-attachments" if ephemeral else "attachments"
        signature = f"ex={secrets.token_hex(4)}&is={secrets.token_hex(4)}&hm={secrets.token_hex(32)}&"
        url = f"{self.base_url}/cdn/{kind}/{channel_id}/{attachment_id}/{filename}?{signature}"
        content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        attachment = FakeAttachment(attachment_id, filename, content_type, data, url, ephemeral=ephemeral)
        if content_type.startswith("image/"):
            attachment.width, attachment.height = _image_size(data)
        self.attachments[attachment_id] = attachment
        return attachment

    def expire_attachment_links(self) -> None:
        """Like Discord's CDN a day later: every signed attachment URL handed out so far stops working
        (404), and messages fetched again (or carried by a later interaction) show freshly signed URLs."""
        for attachment in self.attachments.values():
            base = attachment.url.split("?", 1)[0]
            signature = f"ex={secrets.token_hex(4)}&is={secrets.token_hex(4)}&hm={secrets.token_hex(32)}&"
            attachment.url = f"{base}?{signature}"
        for message in self.messages.values():
            for entry in message.get("attachments") or []:
                current = self.attachments.get(int(entry["id"]))
                if current is not None:
                    entry["url"] = entry["proxy_url"] = current.url

    # --- failure switches ------------------------------------------------------------------------
    def expire_token(self, token: str) -> None:
        """Every later webhook call with this interaction token gets 401 50027."""
        self._interaction(token).expired = True

    def delete_message(self, message_id: int) -> None:
        """As if a moderator deleted it: later edits and fetches get 404 10008."""
        self.deleted_messages.add(message_id)

    def forbid_channel(self, channel_id: int) -> None:
        """The bot loses access to the channel: channel routes answer 403 50001."""
        self.forbidden_channels.add(channel_id)

    def block_dms(self, user_id: int) -> None:
        """The member does not accept DMs: sending to their DM channel answers 403 50007."""
        self.dm_blocked_users.add(user_id)

    def fail_next(
        self, method: str, route: str, *, status: int = 500, code: int = 0, message: str = "", times: int = 1
    ) -> None:
        """Answer the next ``times`` calls to ``route`` ("/channels/{channel_id}/messages") with an error."""
        error = DiscordError(status, code, message or f"{status}: injected failure")
        self._failures.append((lambda c: c.method == method and c.route == route, error, [times]))

    def rate_limit_next(self, method: str, route: str, *, retry_after: float = 0.2, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``route`` with a 429 that discord.py waits out and retries."""
        error = DiscordError(429, 0, "You are being rate limited.", retry_after=retry_after)
        self._failures.append((lambda c: c.method == method and c.route == route, error, [times]))

    def hold_next(self, method: str, route: str, *, times: int = 1) -> None:
        """Carry out the next ``times`` calls to ``route`` but never answer them (until ``stop``), as
        when the bot dies after Discord acted on a request and before the answer reached it."""
        self._holds.append((lambda c: c.method == method and c.route == route, [times], None))

    def hold_next_where(
        self, matches: Callable[[RestCall], bool], *, times: int = 1, seconds: float | None = None
    ) -> None:
        """As `hold_next`, for the next calls `matches` picks (say, only the edit carrying a file);
        with `seconds`, their answers only come that late (a slow network) instead of never."""
        self._holds.append((matches, [times], seconds))

    # --- waiting ---------------------------------------------------------------------------------
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # Waits take a plain ``timeout`` (hence noqa: ASYNC109): tests read better than with asyncio.timeout.
    async def _wait_until(self, probe: Callable[[], T | None], timeout: float, what: Callable[[], str]) -> T:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        async with self._changed:
            while True:
                found = probe()
                if found is not None:
                    return found
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout:g}s waiting for {what()}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_for(
        self,
        predicate: Callable[[RestCall], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> RestCall:
        """The first recorded call (index >= since) matching ``predicate``, waiting for it if needed."""

        def probe() -> RestCall | None:
            return next((call for call in self.calls[since:] if predicate(call)), None)

        return await self._wait_until(
            probe, timeout, lambda: f"a matching call; recent calls: {self.describe_calls()}"
        )

    def mark(self) -> int:
        """Pass as ``since=`` to only look at calls made from now on."""
        return len(self.calls)

    def describe_calls(self, last: int = 12) -> str:
        return "; ".join(f"{c.method} {c.path} -> {c.status}" for c in self.calls[-last:]) or "none"

    def find_calls(
        self, method: str | None = None, route: str | None = None, *, since: int = 0
    ) -> list[RestCall]:
        return [
            call
            for call in self.calls[since:]
            if (method is None or call.method == method) and (route is None or call.route == route)
        ]

    async def wait_for_identify(self, count: int = 1, timeout: float = 10.0) -> GatewayConnection:  # noqa: ASYNC109
        """Wait until the client has identified ``count`` times in all; the connection of the last one."""

        def probe() -> GatewayConnection | None:
            identified = [c for c in self.gateway_connections if c.identified]
            return identified[count - 1] if len(identified) >= count else None

        return await self._wait_until(probe, timeout, lambda: f"identify number {count}")

    async def wait_for_resume(self, count: int = 1, timeout: float = 10.0) -> GatewayConnection:  # noqa: ASYNC109
        def probe() -> GatewayConnection | None:
            resumed = [c for c in self.gateway_connections if c.resumed]
            return resumed[count - 1] if len(resumed) >= count else None

        return await self._wait_until(probe, timeout, lambda: f"resume number {count}")

    # --- gateway ---------------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = GatewayConnection(request.path, dict(request.query), time.time(), ws=ws)
        # discord.py asks for zlib-stream (or zstd-stream when a zstd module is installed). zlib-stream is one
        # deflate stream per connection, each message ending in a sync flush. Anything else gets plain text
        # frames, which discord.py reads whatever it asked for.
        if request.query.get("compress") == "zlib-stream":
            connection.compressor = zlib.compressobj()
        self.gateway_connections.append(connection)
        await self._send(connection, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    break
                frame = json.loads(message.data)
                connection.received_ops.append(frame.get("op"))
                await self._on_frame(connection, frame)
        finally:
            connection.closed = True
            for session in self.sessions.values():
                if session.connection is connection:
                    session.connection = None
            await self._notify()
        return ws

    async def _send(self, connection: GatewayConnection, frame: Mapping[str, Any]) -> None:
        ws = connection.ws
        if ws is None or ws.closed:
            return
        text = _json_dumps(frame)
        async with connection.lock:  # a zlib stream must go out in the order it was compressed
            with contextlib.suppress(ConnectionError):
                if connection.compressor is None:
                    await ws.send_str(text)
                else:
                    data = connection.compressor.compress(text.encode()) + connection.compressor.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                    await ws.send_bytes(data)

    async def _on_frame(self, connection: GatewayConnection, frame: Mapping[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await self._send(connection, {"op": 11})
        elif op == 2:
            await self._identify(connection, data or {})
        elif op == 6:
            await self._resume(connection, data or {})
        elif op == 8:
            await self._request_members(connection, data or {})
        elif op not in (3, 4):  # presence and voice state updates need no answer
            assert connection.ws is not None
            await connection.ws.close(code=4001, message=b"Unknown opcode")

    async def _identify(self, connection: GatewayConnection, data: Mapping[str, Any]) -> None:
        assert connection.ws is not None
        if data.get("token") != self._bot_token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = GatewaySession(secrets.token_hex(16))
        if isinstance(data.get("shard"), list) and len(data["shard"]) == 2:
            session.shard = (int(data["shard"][0]), int(data["shard"][1]))
        self.sessions[session.session_id] = self.current_session = session
        self.shard_sessions[session.shard] = session
        session.connection = connection
        connection.identify = {k: v for k, v in data.items() if k != "token"}
        ready: dict[str, Any] = {
            "v": 10,
            "user": self.bot_user.payload() | {"verified": True, "mfa_enabled": False, "email": None},
            "guilds": [
                {"id": str(guild.id), "unavailable": True}
                for guild in self.guilds
                if session.serves(guild.id)
            ],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": 1 << 23},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["rotterdam"],
            "user_settings": {},
            "auth": {},
            "_trace": ['["fake-discord",{"micros":0}]'],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self.dispatch("READY", ready, session=session)
        if int(data.get("intents", 0)) & GUILDS_INTENT:
            for guild in self.guilds:
                if session.serves(guild.id):
                    await self.dispatch("GUILD_CREATE", guild.create_payload(), session=session)
        connection.identified = True
        await self._notify()

    async def _resume(self, connection: GatewayConnection, data: Mapping[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self._bot_token or int(data.get("seq") or 0) > session.seq:
            await self._send(connection, {"op": 9, "d": False})
            return
        session.connection = connection
        self.current_session = session
        self.shard_sessions[session.shard] = session
        for frame in session.history:
            if frame["s"] > int(data.get("seq") or 0):
                await self._send(connection, frame)
        await self.dispatch("RESUMED", {"_trace": ['["fake-discord",{"micros":0}]']}, session=session)
        connection.resumed = True
        await self._notify()

    async def _request_members(self, connection: GatewayConnection, data: Mapping[str, Any]) -> None:
        guild = next((g for g in self.guilds if str(g.id) == str(data.get("guild_id"))), None)
        if guild is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [member.payload() for member in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if "nonce" in data:
            chunk["nonce"] = data["nonce"]
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def dispatch(
        self, event: str, data: Mapping[str, Any], *, session: GatewaySession | None = None
    ) -> None:
        """Send a gateway event. While the client is away it is kept and replayed when it resumes.

        Without `session`, an event about a guild goes to the session of the guild's shard (when a
        sharded client identified for it), anything else to the latest session."""
        if session is None and data.get("guild_id") is not None:
            session = self.session_for_guild(int(data["guild_id"]))
        session = session or self.current_session
        if session is None:
            raise RuntimeError("the client has not identified on the fake gateway yet")
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.history.append(frame)
        if session.connection is not None:
            await self._send(session.connection, frame)

    def session_for_guild(self, guild_id: int) -> GatewaySession | None:
        """The latest session of the shard that serves this guild, if one identified."""
        for session in reversed(list(self.shard_sessions.values())):
            if session.shard[1] > 1 and session.serves(guild_id):
                return session
        return None

    async def disconnect_bot(self, code: int = 4000) -> None:
        """Close the client's websocket with a code it may resume after (as Discord does at times)."""
        session = self.current_session
        if session is not None and session.connection is not None and session.connection.ws is not None:
            await session.connection.ws.close(code=code, message=b"fake-discord closed the connection")

    async def invalidate_session(self) -> None:
        """Op 9 (not resumable): the client must identify again."""
        session = self.current_session
        if session is not None and session.connection is not None:
            self.sessions.pop(session.session_id, None)
            await self._send(session.connection, {"op": 9, "d": False})

    # --- injecting interactions ------------------------------------------------------------------
    async def send_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
        dm: bool = False,
        subcommand: Sequence[str] = (),
        permissions: int | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        require_synced: bool = True,
        focused: str | None = None,
    ) -> SentInteraction:
        """A member runs ``/name`` (with ``subcommand`` names, if any). Attachment options take a
        ``FakeAttachment`` from ``add_attachment``. With ``focused`` it is an autocomplete request instead."""
        guild = None if dm else guild or self.guild
        command = self._synced_command(name, guild)
        if command is None and require_synced:
            raise LookupError(f"/{name} was never synced to the fake Discord: {self.command_names()}")
        schema = command or {"options": []}
        for part in subcommand:
            schema = next((o for o in schema.get("options", []) if o["name"] == part), {"options": []})
        resolved: dict[str, dict[str, Any]] = {}
        built = [
            self._option(schema, key, value, resolved, focused) for key, value in (options or {}).items()
        ]
        for part in reversed(subcommand):
            built = [{"name": part, "type": 1, "options": built}]
        data: dict[str, Any] = {
            "id": command["id"] if command else str(self.ids.next()),
            "name": name,
            "type": 1,
            "options": built,
        }
        if command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return await self._send_interaction(
            4 if focused else 2,
            data,
            user=user,
            guild=guild,
            channel=channel,
            permissions=permissions,
            app_permissions=app_permissions,
            locale=locale,
            attachment_size_limit=attachment_size_limit,
        )

    def _option(
        self,
        schema: Mapping[str, Any],
        key: str,
        value: Any,
        resolved: dict[str, dict[str, Any]],
        focused: str | None,
    ) -> dict[str, Any]:
        declared = next((o for o in schema.get("options", []) if o["name"] == key), None)
        option_type = declared["type"] if declared else _infer_option_type(value)
        option: dict[str, Any] = {"name": key, "type": option_type}
        if option_type == 11:
            if not isinstance(value, FakeAttachment):
                raise TypeError(f"option {key!r} is an attachment: pass fake.add_attachment(...)")
            resolved.setdefault("attachments", {})[str(value.id)] = value.payload()
            option["value"] = str(value.id)
        elif option_type == 6:
            user = value if isinstance(value, FakeUser) else self.users[int(value)]
            resolved.setdefault("users", {})[str(user.id)] = user.payload()
            option["value"] = str(user.id)
        elif option_type in (7, 8):
            wanted = str(getattr(value, "id", value))
            guild = next((g for g in self.guilds if any(str(c.id) == wanted for c in g.channels)), None)
            guild = guild or next((g for g in self.guilds if any(str(r.id) == wanted for r in g.roles)), None)
            if guild is None:
                raise LookupError(f"option {key!r}: no channel or role {wanted} in any server")
            kind = {"type": 8 if option_type == 7 else 6, "custom_id": key, "max_values": 1}
            for group, items in _select_resolved(kind, [wanted], guild).items():
                resolved.setdefault(group, {}).update(items)
            option["value"] = wanted
        elif option_type in (3, 4, 5, 10):
            option["value"] = {3: str, 4: int, 5: bool, 10: float}[option_type](value)
        else:
            raise TypeError(f"option {key!r} has type {option_type}, which the fake does not build")
        if focused == key:
            option["focused"] = True
        return option

    async def send_component_click(
        self,
        message: int | Mapping[str, Any],
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        user: FakeUser | None = None,
        permissions: int | None = None,
        app_permissions: int | None = None,
        forged: bool = False,
        locale: str = "en-US",
    ) -> SentInteraction:
        """A member clicks a button (or picks ``values`` in a select) on a message the bot sent, with
        their Discord client in ``locale``.

        ``forged``: a hostile client sends ``custom_id`` as if it sat on ``message`` (a button of
        another message replayed), which Discord's own client never does."""
        message_id = int(message if isinstance(message, int) else message["id"])
        stored = self._visible_message(message_id, channel_id=None, allow_ephemeral=True)
        await self._like_a_member(message_id)
        clickable = _walk_components(stored.get("components") or [])
        component = next((c for c in clickable if c.get("custom_id") == custom_id), None)
        if component is None and forged:
            component = {"type": 2, "custom_id": custom_id}
        if component is None:
            raise LookupError(f"message {message_id} has no component {custom_id!r}")
        if component.get("disabled"):
            raise LookupError(f"component {custom_id!r} is disabled: a member cannot use it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        channel_id = int(stored["channel_id"])
        guild = next((g for g in self.guilds if any(c.id == channel_id for c in g.channels)), None)
        if component["type"] != 2:
            chosen = [str(getattr(value, "id", value)) for value in values or []]
            data["values"] = chosen
            resolved = _select_resolved(component, chosen, guild)
            if resolved:
                data["resolved"] = resolved
        channel = next((c for c in guild.channels if c.id == channel_id), None) if guild else None
        return await self._send_interaction(
            3,
            data,
            user=user,
            guild=guild,
            channel=channel or self.dm_channel_by_id(channel_id),
            permissions=permissions,
            app_permissions=app_permissions,
            message=stored,
            locale=locale,
        )

    async def send_modal_submit(
        self,
        custom_id: str,
        fields: Mapping[str, str],
        *,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
    ) -> SentInteraction:
        """A member submits the modal last shown with this custom_id; ``fields`` by input custom_id (an
        input left out keeps its pre-filled text).

        ``guild``: a hostile client replays the submission from another server (its first channel)."""
        if custom_id not in self.modals:
            raise LookupError(f"the bot never showed a modal {custom_id!r}: {sorted(self.modals)}")
        modal, origin = self.modals[custom_id]
        await self._like_a_member(custom_id)
        unknown = set(fields) - {c.get("custom_id") for c in _walk_components(modal.get("components") or [])}
        if unknown:
            raise LookupError(f"modal {custom_id!r} has no inputs {sorted(unknown)}")
        components = []
        for row in modal.get("components") or []:
            if row.get("type") == 18:  # a label wrapping one input (components v2 modals)
                components.append({"type": 18, "component": _submitted(row["component"], fields)})
            else:
                inputs = [_submitted(c, fields) for c in row.get("components", [])]
                components.append({"type": 1, "components": inputs})
        source = self.messages.get(origin.source_message_id or 0)
        payload = origin.payload
        channel = self._channel(origin.channel_id)
        if guild is not None:
            channel = guild.text_channel
        else:
            guild = next((g for g in self.guilds if str(g.id) == payload.get("guild_id")), None)
        return await self._send_interaction(
            5,
            {"custom_id": custom_id, "components": components},
            user=user,
            guild=guild,
            channel=channel,
            message=source,
            dm=guild is None,
            # The member who opened the form submits it, from the same Discord client.
            locale=str(payload.get("locale") or "en-US"),
        )

    async def _send_interaction(
        self,
        interaction_type: int,
        data: dict[str, Any],
        *,
        user: FakeUser | None,
        guild: FakeGuild | None,
        channel: FakeChannel | None,
        permissions: int | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        message: Mapping[str, Any] | None = None,
        dm: bool = False,
    ) -> SentInteraction:
        user = user or self.default_user
        interaction_id = self.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(120)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": attachment_size_limit or self.upload_limit_bytes,
        }
        if guild is not None and not dm:
            channel = channel or guild.text_channel
            member = guild.members.get(user.id) or FakeMember(user, [])
            guild.members.setdefault(user.id, member)
            member_permissions = guild.permissions_of(member) if permissions is None else permissions
            if app_permissions is None:
                app_permissions = guild.permissions_of(guild.members[self.bot_user.id])
                if channel.id in self.forbidden_channels:
                    app_permissions &= ~CHANNEL_ACCESS
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                guild_locale=guild.preferred_locale,
                member=member.payload(permissions=member_permissions),
                app_permissions=str(app_permissions),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            channel = channel if channel is not None and channel.type == 1 else self._dm_channel(user)
            payload.update(
                user=user.payload(),
                app_permissions=str(app_permissions if app_permissions is not None else BOT_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        payload["channel_id"] = str(channel.id)
        payload["channel"] = channel.payload() | {
            "permissions": payload.get("member", {}).get("permissions", "0")
        }
        if message is not None:
            payload["message"] = dict(message)
        state = _Interaction(interaction_id, token, interaction_type, payload, channel.id, time.monotonic())
        if message is not None:
            state.source_message_id = int(message["id"])
        self._interactions[token] = state
        await self.dispatch("INTERACTION_CREATE", payload)
        return SentInteraction(self, state)

    async def _like_a_member(self, key: int | str) -> None:
        changed = self._changed_at.get(key)
        if changed is not None:
            await asyncio.sleep(max(0.0, changed + self.human_delay_seconds - time.monotonic()))

    # --- lookups ---------------------------------------------------------------------------------
    def interaction_tokens(self) -> list[str]:
        return list(self._interactions)

    def command_names(self) -> dict[str, list[str]]:
        return {str(scope or "global"): [c["name"] for c in cmds] for scope, cmds in self.commands.items()}

    def _synced_command(self, name: str, guild: FakeGuild | None) -> dict[str, Any] | None:
        scopes = ([guild.id] if guild else []) + [None]
        for scope in scopes:
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        return None

    def _interaction(self, token: str) -> _Interaction:
        try:
            return self._interactions[token]
        except KeyError:
            raise KeyError("no interaction with that token was sent by this fake") from None

    def _dm_channel(self, user: FakeUser) -> FakeChannel:
        if user.id not in self.dm_channels:
            self.dm_channels[user.id] = FakeChannel(self.ids.next(), "", None, type=1, recipient=user)
        return self.dm_channels[user.id]

    def dm_channel_by_id(self, channel_id: int) -> FakeChannel | None:
        return next((c for c in self.dm_channels.values() if c.id == channel_id), None)

    def _channel(self, channel_id: int) -> FakeChannel:
        for guild in self.guilds:
            for channel in guild.channels:
                if channel.id == channel_id:
                    return channel
        dm = self.dm_channel_by_id(channel_id)
        if dm is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return dm

    def _writable_channel(self, channel_id: int) -> FakeChannel:
        channel = self._channel(channel_id)
        if channel_id in self.forbidden_channels:
            raise DiscordError(403, 50001, "Missing Access")
        if channel.recipient is not None and channel.recipient.id in self.dm_blocked_users:
            raise DiscordError(403, 50007, "Cannot send messages to this user")
        return channel

    def _visible_message(
        self, message_id: int, *, channel_id: int | None, allow_ephemeral: bool
    ) -> dict[str, Any]:
        message = self.messages.get(message_id)
        hidden = message is None or message_id in self.deleted_messages
        if message is not None and not allow_ephemeral and int(message.get("flags", 0)) & EPHEMERAL:
            hidden = True  # ephemeral messages only exist for the interaction webhook
        if hidden or (
            channel_id is not None and message is not None and int(message["channel_id"]) != channel_id
        ):
            raise DiscordError(404, 10008, "Unknown Message")
        assert message is not None
        return message

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if int(m["channel_id"]) == channel_id]

    # --- messages --------------------------------------------------------------------------------
    def _new_message(
        self,
        channel_id: int,
        body: Mapping[str, Any],
        files: list[UploadedFile],
        *,
        interaction: _Interaction | None,
        placeholder: bool = False,
    ) -> dict[str, Any]:
        message_id = self.ids.next()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "author": self.bot_user.payload(),
            "content": "",
            "embeds": [],
            "components": [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(body.get("tts", False)),
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "flags": 0,
        }
        if interaction is not None:
            user = interaction.payload.get("member", {}).get("user") or interaction.payload.get("user")
            message.update(
                webhook_id=str(self.application_id),
                application_id=str(self.application_id),
                type=20 if interaction.type == 2 else 0,
                interaction_metadata={
                    "id": str(interaction.id),
                    "type": interaction.type,
                    "user": user,
                    "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
                },
            )
        self._apply_edit(message, body, files, creating=True, allow_empty=placeholder)
        self.messages[message_id] = message
        self._changed_at[message_id] = time.monotonic()
        return message

    def _apply_edit(
        self,
        message: dict[str, Any],
        body: Mapping[str, Any],
        files: list[UploadedFile],
        *,
        creating: bool = False,
        allow_empty: bool = False,
    ) -> None:
        problems = message_body_problems(body)
        if problems:
            raise _invalid_form(problems)
        too_big = [f.filename for f in files if f.size > self.upload_limit_bytes]
        if too_big:
            raise DiscordError(413, 40005, "Request entity too large")
        for key in ("content", "embeds", "components"):
            if key in body and body[key] is not None:
                message[key] = body[key]
        if "flags" in body and body["flags"] is not None:
            keep = int(message["flags"]) & (EPHEMERAL | LOADING) if not creating else 0
            message["flags"] = keep | int(body["flags"])
        message["embeds"] = [{"type": "rich", **embed} for embed in message["embeds"]]
        message["mentions"] = [
            self.users[int(uid)].payload()
            for uid in re.findall(r"<@!?(\d+)>", message["content"])
            if int(uid) in self.users
        ]
        new_files = {i: f for i, f in enumerate(files)}
        kept: list[dict[str, Any]] = []
        if "attachments" in body and body["attachments"] is not None:
            existing = {a["id"]: a for a in message["attachments"]}
            for entry in body["attachments"]:
                if str(entry.get("id")) in existing:
                    kept.append(existing[str(entry["id"])])
        elif not creating:
            kept = list(message["attachments"])
        for uploaded in new_files.values():
            stored = self._store_attachment(
                uploaded.data, uploaded.filename, None, int(message["channel_id"]), False
            )
            kept.append(stored.payload())
        message["attachments"] = kept
        if (
            creating
            and not allow_empty
            and not (message["content"] or message["embeds"] or message["components"] or kept)
        ):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        if not creating:
            message["edited_timestamp"] = _now_iso()
            self._changed_at[int(message["id"])] = time.monotonic()

    # --- HTTP plumbing ---------------------------------------------------------------------------
    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not (request.path.startswith(API_PREFIX) or request.path.startswith("/cdn/")):
            return await handler(request)
        body, files = await _read_body(request)
        route_info = request.match_info.route.resource
        route = route_info.canonical if route_info is not None else "<unhandled>"
        prefix = API_PREFIX if request.path.startswith(API_PREFIX) else ""
        call = RestCall(
            len(self.calls),
            request.method,
            request.path.removeprefix(prefix),
            route.removeprefix(prefix),
            dict(request.query),
            body,
            files,
            time.time(),
        )
        request[CALL] = call
        limit_headers: dict[str, str] = {}
        try:
            self._check_injected_failure(call)
            needs_bot_token = request.path.startswith(API_PREFIX) and not _is_webhook_route(call.route)
            if needs_bot_token and request.headers.get("Authorization") != f"Bot {self._bot_token}":
                raise DiscordError(401, 0, "401: Unauthorized")
            if prefix and self.rate_limits is not None:
                limit_headers = self._take_rate_limit(call, request.match_info)
                call.rate_limit_headers = limit_headers
            response = await handler(request)
            response.headers.update(limit_headers)
        except DiscordError as error:
            call.status, call.response = error.status, error.body()
            if error.status == 429:
                call.rate_limit_headers = error.headers()
            response = _discord_json(call.response, error.status, error.headers())
        except web.HTTPException as exc:  # no such route (404) or method (405)
            call.status, call.response = exc.status, {"message": f"{exc.status}: {exc.reason}", "code": 0}
            call.route = "<unhandled>"
            self.unhandled.append(call)
            response = _discord_json(call.response, exc.status)
        if not call.status:
            call.status = response.status
        self.calls.append(call)
        await self._notify()
        held, seconds = self._take_hold(call)
        if held:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), seconds)
        return response

    def _bucket(self, key: str, name: str, limit: int, per: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(name, limit, per)
        return bucket

    def _take_rate_limit(self, call: RestCall, params: Mapping[str, str]) -> dict[str, str]:
        """Count the call against its buckets; a 429 (raised) when one is empty, else its headers."""
        limits = self.rate_limits
        assert limits is not None
        now = time.monotonic()
        route_bucket: _Bucket | None = None
        if call.route.startswith("/interactions/"):
            return {}  # the callback: its own generous limit, not modelled
        if call.route.startswith("/webhooks/{application_id}/{token}"):
            route_bucket = self._bucket(
                f"webhook:{params.get('token')}", "webhook", limits.webhook_limit, limits.webhook_per
            )
        else:
            if call.route in _CHANNEL_MESSAGE_ROUTES and call.method in ("POST", "PATCH", "DELETE"):
                # Discord keys a bucket by route (method + path) and major parameter: creating, editing
                # and deleting messages in one channel are three buckets (unless told to share one).
                name = "channel-messages"
                if not limits.shared_channel_bucket and call.method != "PATCH":
                    name = f"channel-messages-{call.method.lower()}"
                route_bucket = self._bucket(
                    f"{name}:{params.get('channel_id')}", name, limits.channel_limit, limits.channel_per
                )
            global_bucket = self._bucket("global", "global", limits.global_limit, limits.global_per)
            if not global_bucket.take(now):
                retry = max(0.001, global_bucket.reset_at - now)
                raise DiscordError(
                    429, 0, "You are being rate limited.", retry_after=round(retry, 3), is_global=True
                )
        if route_bucket is None:
            return {}
        if not route_bucket.take(now):
            retry = max(0.001, route_bucket.reset_at - now)
            raise DiscordError(
                429,
                0,
                "You are being rate limited.",
                retry_after=round(retry, 3),
                extra_headers=route_bucket.headers(now),
            )
        return route_bucket.headers(now)

    def _take_hold(self, call: RestCall) -> tuple[bool, float | None]:
        for matches, remaining, seconds in self._holds:
            if remaining[0] > 0 and matches(call):
                remaining[0] -= 1
                return True, seconds
        return False, None

    def _check_injected_failure(self, call: RestCall) -> None:
        for entry in self._failures:
            matches, error, remaining = entry
            if remaining[0] > 0 and matches(call):
                remaining[0] -= 1
                raise error

    @staticmethod
    def _reply(request: web.Request, body: Any, status: int = 200) -> web.Response:
        call: RestCall = request[CALL]
        call.status, call.response = status, body
        if body is None:
            return web.Response(status=204)
        return _discord_json(body, status)

    def _add_routes(self, app: web.Application) -> None:
        p = API_PREFIX
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway-resume", self._gateway)
        app.router.add_get("/cdn/{kind}/{scope}/{attachment_id}/{filename}", self._cdn)
        routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/users/{user_id}", self._get_user),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._put_commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{application_id}/{token}", self._followup),
            ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", self._webhook_message),
            ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", self._webhook_message),
            ("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", self._webhook_message),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._post_message),
            ("POST", "/channels/{channel_id}/typing", self._typing),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._channel_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._channel_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._channel_message),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._react),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, p + path, handler)

    # --- REST handlers ---------------------------------------------------------------------------
    async def _get_me(self, request: web.Request) -> web.Response:
        return self._reply(
            request, self.bot_user.payload() | {"verified": True, "mfa_enabled": False, "locale": "en-US"}
        )

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.users.get(int(request.match_info["user_id"]))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return self._reply(request, user.payload())

    async def _create_dm(self, request: web.Request) -> web.Response:
        call: RestCall = request[CALL]
        user = self.users.get(int((call.json or {}).get("recipient_id", 0)))
        if user is None:
            raise DiscordError(400, 50035, "Invalid Form Body")
        return self._reply(request, self._dm_channel(user).payload())

    async def _get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return self._reply(request, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_application(self, request: web.Request) -> web.Response:
        owner = self.owner.payload()
        return self._reply(
            request,
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot": self.bot_user.payload(),
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": secrets.token_hex(32),
                "owner": owner,
                "team": None,
                "flags": 1 << 23,
                "tags": [],
                "rpc_origins": [],
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "approximate_guild_count": len(self.guilds),
                "install_params": None,
                "integration_types_config": {"0": {}},
                "custom_install_url": None,
            },
        )

    def _scope(self, request: web.Request) -> int | None:
        if int(request.match_info["application_id"]) != self.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None and not any(g.id == int(guild_id) for g in self.guilds):
            raise DiscordError(403, 50001, "Missing Access")
        return int(guild_id) if guild_id is not None else None

    async def _get_commands(self, request: web.Request) -> web.Response:
        return self._reply(request, self.commands.get(self._scope(request), []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        commands = request[CALL].json
        if not isinstance(commands, list):
            raise _invalid_form({"_": "Expected an array of commands"})
        problems = {
            f"{i}.name": "Invalid command name"
            for i, command in enumerate(commands)
            if not re.fullmatch(r"[-_\w]{1,32}", command.get("name", ""))
            or command["name"] != command["name"].lower()
        }
        if problems:
            raise _invalid_form(problems)
        stored = []
        for command in commands:
            command_id = self._command_ids.setdefault((scope, command["name"]), self.ids.next())
            defaults = {"type": 1, "options": [], "default_member_permissions": None, "nsfw": False}
            entry = defaults | command
            entry.update(
                id=str(command_id), application_id=str(self.application_id), version=str(self.ids.next())
            )
            if scope is not None:
                entry["guild_id"] = str(scope)
            else:
                entry.setdefault("dm_permission", True)
            stored.append(entry)
        self.commands[scope] = stored
        return self._reply(request, stored)

    async def _callback(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        state = self._interactions.get(token)
        if state is None or str(state.id) != request.match_info["interaction_id"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        late = (
            self.callback_deadline_seconds is not None
            and time.monotonic() - state.created > self.callback_deadline_seconds
        )
        if late or state.expired:
            raise DiscordError(404, 10062, "Unknown interaction")
        if state.callback_type is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        call: RestCall = request[CALL]
        body = call.json or {}
        callback_type = int(body.get("type", 0))
        if callback_type not in _CALLBACKS_ALLOWED.get(state.type, set()):
            raise _invalid_form({"type": f"Callback type {callback_type} is not valid for this interaction"})
        data = body.get("data") or {}
        message: dict[str, Any] | None = None
        if callback_type == 9:
            problems = _modal_problems(data)
            if problems:
                raise _invalid_form({f"data.{k}": v for k, v in problems.items()})
            self.modals[data["custom_id"]] = (data, state)
            self._changed_at[data["custom_id"]] = time.monotonic()
        elif callback_type in (4, 5):
            flags = int(data.get("flags") or 0) & EPHEMERAL
            content = data if callback_type == 4 else {"content": "", "flags": flags}
            message = self._new_message(
                state.channel_id, content, call.files, interaction=state, placeholder=callback_type == 5
            )
            if callback_type == 5:
                message["flags"] = flags | LOADING
            state.original_message_id = int(message["id"])
        elif callback_type in (6, 7):
            if state.source_message_id is None:
                raise _invalid_form({"type": "There is no message to update for this interaction"})
            state.original_message_id = state.source_message_id
            if callback_type == 7:
                message = self._visible_message(
                    state.source_message_id, channel_id=None, allow_ephemeral=True
                )
                self._apply_edit(message, data, call.files)
        state.callback_type = callback_type
        interaction: dict[str, Any] = {"id": str(state.id), "type": state.type}
        if message is not None:
            interaction.update(
                response_message_id=message["id"],
                response_message_loading=callback_type == 5,
                response_message_ephemeral=bool(int(message["flags"]) & EPHEMERAL),
            )
        response: dict[str, Any] = {"interaction": interaction}
        if message is not None or callback_type in (6, 8):
            response["resource"] = {"type": callback_type} | ({"message": message} if message else {})
        return self._reply(request, response)

    def _webhook_interaction(self, request: web.Request) -> _Interaction:
        if request.match_info["application_id"] != str(self.application_id):
            raise DiscordError(404, 10015, "Unknown Webhook")
        state = self._interactions.get(request.match_info["token"])
        lifetime_over = state is not None and time.monotonic() - state.created > self.token_lifetime_seconds
        if state is None or state.expired or lifetime_over:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if state.callback_type is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        return state

    async def _followup(self, request: web.Request) -> web.Response:
        state = self._webhook_interaction(request)
        call: RestCall = request[CALL]
        message = self._new_message(state.channel_id, call.json or {}, call.files, interaction=state)
        wait = request.query.get("wait", "false").lower() in ("1", "true")
        return self._reply(request, message if wait else None)

    async def _webhook_message(self, request: web.Request) -> web.Response:
        state = self._webhook_interaction(request)
        raw_id = request.match_info["message_id"]
        message_id = state.original_message_id if raw_id == "@original" else int(raw_id)
        if message_id is None:
            raise DiscordError(404, 10008, "Unknown Message")
        message = self._visible_message(message_id, channel_id=None, allow_ephemeral=True)
        if message.get("webhook_id") != str(self.application_id) and message_id != state.source_message_id:
            raise DiscordError(404, 10008, "Unknown Message")  # a webhook only reaches its own messages
        return await self._message_action(request, message)

    async def _message_action(self, request: web.Request, message: dict[str, Any]) -> web.Response:
        call: RestCall = request[CALL]
        if request.method == "DELETE":
            self.deleted_messages.add(int(message["id"]))
            return self._reply(request, None)
        if request.method == "PATCH":
            self._apply_edit(message, call.json or {}, call.files)
            message["flags"] = int(message["flags"]) & ~LOADING
        return self._reply(request, message)

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        channel = self._channel(channel_id)
        if channel_id in self.forbidden_channels:
            raise DiscordError(403, 50001, "Missing Access")
        return self._reply(request, channel.payload())

    async def _post_message(self, request: web.Request) -> web.Response:
        channel = self._writable_channel(int(request.match_info["channel_id"]))
        call: RestCall = request[CALL]
        body = call.json or {}
        if int(body.get("flags") or 0) & EPHEMERAL:
            raise _invalid_form({"flags": "Only interaction responses can be ephemeral"})
        nonce = body.get("nonce")
        if nonce is not None:
            nonce = str(nonce)
            if len(nonce) > 25:
                raise _invalid_form({"nonce": "Must be 25 or fewer in length."})
            earlier = self._nonces.get((channel.id, nonce))
            if (
                body.get("enforce_nonce")
                and earlier is not None
                and time.monotonic() - earlier[1] < self.nonce_window_seconds
                and earlier[0] in self.messages
            ):
                return self._reply(request, self.messages[earlier[0]])  # no second message
        message = self._new_message(channel.id, body, call.files, interaction=None)
        if nonce is not None:
            message["nonce"] = nonce
            self._nonces[(channel.id, nonce)] = (int(message["id"]), time.monotonic())
        return self._reply(request, message)

    async def _typing(self, request: web.Request) -> web.Response:
        self._writable_channel(int(request.match_info["channel_id"]))
        return self._reply(request, None)

    async def _channel_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        if request.method == "GET":
            self._channel(channel_id)
            if channel_id in self.forbidden_channels:
                raise DiscordError(403, 50001, "Missing Access")
        else:
            self._writable_channel(channel_id)
        message = self._visible_message(
            int(request.match_info["message_id"]), channel_id=channel_id, allow_ephemeral=False
        )
        if request.method == "PATCH" and message["author"]["id"] != str(self.bot_user.id):
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        return await self._message_action(request, message)

    async def _react(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        self._writable_channel(channel_id)
        self._visible_message(
            int(request.match_info["message_id"]), channel_id=channel_id, allow_ephemeral=False
        )
        return self._reply(request, None)

    async def _get_guild(self, request: web.Request) -> web.Response:
        guild = next((g for g in self.guilds if g.id == int(request.match_info["guild_id"])), None)
        if guild is None:
            raise DiscordError(403, 50001, "Missing Access")
        payload = guild.create_payload()
        for key in (
            "channels",
            "members",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
        ):
            payload.pop(key, None)
        return self._reply(request, payload)

    async def _get_member(self, request: web.Request) -> web.Response:
        guild = next((g for g in self.guilds if g.id == int(request.match_info["guild_id"])), None)
        member = guild.members.get(int(request.match_info["user_id"])) if guild else None
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return self._reply(request, member.payload())

    async def _cdn(self, request: web.Request) -> web.Response:
        attachment = self.attachments.get(int(request.match_info["attachment_id"]))
        signed = dict(urllib.parse.parse_qsl(attachment.url.split("?", 1)[1])) if attachment else {}
        if (
            attachment is None
            or attachment.filename != request.match_info["filename"]
            or request.query.get("hm") != signed.get("hm")  # an expired (or forged) signature
        ):
            request[CALL].status = 404
            return web.Response(status=404, text="This content is no longer available.")
        request[CALL].status = 200
        return web.Response(body=attachment.data, content_type=attachment.content_type)


@dataclass
class SentInteraction:
    """An interaction the fake sent; await what the bot did with it."""

    fake: FakeDiscord = field(repr=False)
    state: _Interaction = field(repr=False)

    @property
    def id(self) -> int:
        return self.state.id

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def payload(self) -> dict[str, Any]:
        return self.state.payload

    def _mine(self, call: RestCall) -> bool:
        return self.state.token in call.path.split("/")

    @property
    def calls(self) -> list[RestCall]:
        """Every callback and webhook call made with this interaction's token."""
        return [call for call in self.fake.calls if self._mine(call)]

    async def wait_for_call(
        self,
        predicate: Callable[[RestCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> RestCall:
        return await self.fake.wait_for(
            lambda c: self._mine(c) and (predicate is None or predicate(c)), timeout, since=since
        )

    async def response(self, timeout: float = 5.0) -> RestCall:  # noqa: ASYNC109
        """The callback (POST .../callback): ``response.json["type"]`` is 4, 5, 6, 7, 8 or 9."""
        return await self.wait_for_call(
            lambda c: c.route == "/interactions/{interaction_id}/{token}/callback", timeout
        )

    async def original_edit(
        self,
        predicate: Callable[[RestCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RestCall:
        """The first PATCH of @original (matching ``predicate``, if given)."""

        def wanted(call: RestCall) -> bool:
            return (
                call.method == "PATCH"
                and call.path.endswith("/messages/@original")
                and (predicate is None or predicate(call))
            )

        return await self.wait_for_call(wanted, timeout)

    @property
    def original_message(self) -> dict[str, Any] | None:
        message_id = self.state.original_message_id
        return self.fake.messages.get(message_id) if message_id is not None else None


# --- the control API (for the benchmark and other processes) -----------------------------------


class ControlApi:
    """JSON routes under /_control that drive a fake running in another process.

    POST /_control/attachments?filename=F[&content_type=T]  body: the bytes -> {"id", "url", "size"}
    POST /_control/slash {"name", "options": {k: v | {"attachment_id": id}}, "user_id"?, "channel_id"?}
                          -> {"interaction_id", "token"}
    POST /_control/click {"message_id", "custom_id", "values"?, "user_id"?} -> {"interaction_id", "token"}
    POST /_control/modal {"custom_id", "fields", "user_id"?} -> {"interaction_id", "token"}
    POST /_control/expire-token {"token"}; /delete-message {"message_id"}; /forbid-channel {"channel_id"}
    POST /_control/disconnect (the gateway, resumable)
    GET  /_control/state -> ids, synced commands and gateway state;  GET /_control/calls?since=N
    GET  /_control/messages/{message_id}
    """

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def add_routes(self, app: web.Application) -> None:
        routes = {
            ("GET", "/state"): self.state,
            ("GET", "/calls"): self.calls,
            ("GET", "/messages/{message_id}"): self.message,
            ("POST", "/attachments"): self.attachment,
            ("POST", "/slash"): self.slash,
            ("POST", "/click"): self.click,
            ("POST", "/modal"): self.modal,
            ("POST", "/expire-token"): self.expire_token,
            ("POST", "/delete-message"): self.delete_message,
            ("POST", "/forbid-channel"): self.forbid_channel,
            ("POST", "/disconnect"): self.disconnect,
        }
        for (method, path), handler in routes.items():
            app.router.add_route(method, "/_control" + path, self._guarded(handler))

    @staticmethod
    def _guarded(
        handler: Callable[[web.Request], Awaitable[Any]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            try:
                return web.json_response(await handler(request))
            except (LookupError, TypeError, ValueError, RuntimeError) as exc:
                return web.json_response({"error": str(exc)}, status=400)

        return run

    def _user(self, body: Mapping[str, Any]) -> FakeUser | None:
        if body.get("user_id") is None:
            return None
        user_id = int(body["user_id"])
        return self.fake.add_member(self.fake.guild, f"member-{user_id}", user_id=user_id)

    @staticmethod
    def _handle(sent: SentInteraction) -> dict[str, Any]:
        return {"interaction_id": str(sent.id), "token": sent.token}

    async def state(self, request: web.Request) -> dict[str, Any]:
        fake = self.fake
        return {
            "application_id": str(fake.application_id),
            "guild_id": str(fake.guild.id),
            "channel_ids": [str(c.id) for c in fake.guild.channels],
            "commands": fake.command_names(),
            "identified": sum(c.identified for c in fake.gateway_connections),
            "resumed": sum(c.resumed for c in fake.gateway_connections),
            "connected": bool(fake.current_session and fake.current_session.connection),
            "calls": len(fake.calls),
        }

    async def calls(self, request: web.Request) -> list[dict[str, Any]]:
        return [call.summary() for call in self.fake.calls[int(request.query.get("since", 0)) :]]

    async def message(self, request: web.Request) -> dict[str, Any]:
        message = self.fake.messages.get(int(request.match_info["message_id"]))
        if message is None:
            raise LookupError("no such message")
        return message

    async def attachment(self, request: web.Request) -> dict[str, Any]:
        stored = self.fake.add_attachment(
            await request.read(), request.query["filename"], request.query.get("content_type")
        )
        return stored.payload()

    async def slash(self, request: web.Request) -> dict[str, Any]:
        body = await request.json()
        options = {
            key: self.fake.attachments[int(value["attachment_id"])] if isinstance(value, dict) else value
            for key, value in (body.get("options") or {}).items()
        }
        channel = self.fake._channel(int(body["channel_id"])) if body.get("channel_id") else None
        sent = await self.fake.send_slash_command(
            body["name"], options, user=self._user(body), channel=channel
        )
        return self._handle(sent)

    async def click(self, request: web.Request) -> dict[str, Any]:
        body = await request.json()
        sent = await self.fake.send_component_click(
            int(body["message_id"]), body["custom_id"], values=body.get("values"), user=self._user(body)
        )
        return self._handle(sent)

    async def modal(self, request: web.Request) -> dict[str, Any]:
        body = await request.json()
        sent = await self.fake.send_modal_submit(body["custom_id"], body["fields"], user=self._user(body))
        return self._handle(sent)

    async def expire_token(self, request: web.Request) -> dict[str, Any]:
        self.fake.expire_token((await request.json())["token"])
        return {}

    async def delete_message(self, request: web.Request) -> dict[str, Any]:
        self.fake.delete_message(int((await request.json())["message_id"]))
        return {}

    async def forbid_channel(self, request: web.Request) -> dict[str, Any]:
        self.fake.forbid_channel(int((await request.json())["channel_id"]))
        return {}

    async def disconnect(self, request: web.Request) -> dict[str, Any]:
        await self.fake.disconnect_bot()
        return {}


# --- helpers ------------------------------------------------------------------------------------


def _discord_json(body: Any, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim and treats anything else as text.
    headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=_json_dumps(body).encode(), status=status, headers=headers)


def _is_webhook_route(route: str) -> bool:
    # Interaction callbacks and webhook executions authenticate with the token in the URL, not a bot token.
    return route.startswith("/webhooks/{application_id}/{token}") or route.startswith("/interactions/")


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    if request.content_type == "multipart/form-data":
        body: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            data = await part.read(decode=False)
            if part.name == "payload_json":
                body = json.loads(data)
            elif part.filename is not None:
                files.append(UploadedFile(part.name, part.filename, len(data), bytes(data)))
        return body, files
    if request.can_read_body and request.content_type == "application/json":
        return await request.json(), []
    return None, []


def _infer_option_type(value: Any) -> int:
    if isinstance(value, FakeAttachment):
        return _OPTION_TYPES["attachment"]
    if isinstance(value, FakeUser):
        return _OPTION_TYPES["user"]
    if isinstance(value, bool):
        return _OPTION_TYPES["boolean"]
    if isinstance(value, int):
        return _OPTION_TYPES["integer"]
    if isinstance(value, float):
        return _OPTION_TYPES["number"]
    return _OPTION_TYPES["string"]


_SELECT_KINDS = {5: ("users",), 6: ("roles",), 7: ("users", "roles"), 8: ("channels",)}


def _select_resolved(
    component: Mapping[str, Any], chosen: Sequence[str], guild: FakeGuild | None
) -> dict[str, dict[str, Any]]:
    """Check ``chosen`` as Discord's client would let a member pick it, and build the ``resolved`` data
    Discord sends with user, role, mentionable and channel selects (discord.py reads values from it)."""
    low, high = int(component.get("min_values", 1)), int(component.get("max_values", 1))
    if not low <= len(chosen) <= high:
        raise ValueError(
            f"select {component.get('custom_id')!r} takes {low} to {high} values, not {len(chosen)}"
        )
    if component["type"] == 3:
        offered = {option["value"] for option in component.get("options") or []}
        unknown = set(chosen) - offered
        if unknown:
            raise ValueError(f"select {component.get('custom_id')!r} offers no {sorted(unknown)}")
        return {}
    kinds = _SELECT_KINDS.get(int(component["type"]), ())
    if not kinds or guild is None:
        return {}
    resolved: dict[str, dict[str, Any]] = {}
    for value in chosen:
        channel = next((c for c in guild.channels if str(c.id) == value), None)
        role = next((r for r in guild.roles if str(r.id) == value), None)
        member = guild.members.get(int(value)) if value.isdigit() else None
        if "channels" in kinds and channel is not None:
            allowed_types = component.get("channel_types")
            if allowed_types and channel.type not in allowed_types:
                raise ValueError(
                    f"channel {value} is of type {channel.type}, which this select does not offer"
                )
            payload = channel.payload() | {"permissions": str(ALL_PERMISSIONS)}
            resolved.setdefault("channels", {})[value] = payload
        elif "roles" in kinds and role is not None:
            resolved.setdefault("roles", {})[value] = role.payload()
        elif "users" in kinds and member is not None:
            resolved.setdefault("users", {})[value] = member.user.payload()
        else:
            raise ValueError(
                f"nothing in the server with id {value} fits select {component.get('custom_id')!r}"
            )
    return resolved


def _submitted(component: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    # A field the member leaves alone is sent with the text it was pre-filled with, as Discord does.
    value = fields.get(component["custom_id"], component.get("value") or "")
    return {"type": component["type"], "custom_id": component["custom_id"], "value": value}


def _walk_components(components: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        if "component" in component:
            yield from _walk_components([component["component"]])
        if "accessory" in component:
            yield from _walk_components([component["accessory"]])


def _image_size(data: bytes) -> tuple[int | None, int | None]:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # not an image Pillow reads: Discord then sends no dimensions either
        return None, None


# --- standalone ---------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeDiscord(
        bot_token=args.token,
        port=args.port,
        callback_deadline_seconds=args.callback_deadline or None,
        token_lifetime_seconds=args.token_lifetime,
    )
    await fake.start()
    endpoints = {
        "api_base": fake.api_base,
        "gateway_url": fake.gateway_url,
        "control_url": fake.base_url + "/_control",
    }
    print(json.dumps(endpoints), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.fake_discord", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--token", default=DEFAULT_BOT_TOKEN, help="the bot token the fake accepts")
    parser.add_argument("--callback-deadline", type=float, default=3.0, help="seconds; 0 turns the check off")
    parser.add_argument(
        "--token-lifetime", type=float, default=900.0, help="interaction token lifetime, seconds"
    )
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
