"""The bot process: one database handle, one HTTP client, one poller, cogs discovered at start."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import pkgutil
from typing import Any

import discord
import httpx
from discord.ext import commands

from bot.config import Settings
from bot.discord_app.error_handler import on_app_command_error
from bot.discord_app.i18n import CatalogTranslator
from bot.discord_app.input_guard import GuardedTree
from bot.discord_app.messenger import DiscordMessenger
from bot.discord_app.modlog import FanoutNotifier, ModLog
from bot.discord_app.send_queue import SendQueue, rate_limit_trace
from bot.discord_app.services import Services
from bot.jobs.callbacks import CallbackReceiver, CallbackTokens
from bot.jobs.circuit import Circuit
from bot.jobs.poller import Poller
from bot.jobs.runner import JobRunner
from bot.jobs.service import VideoService
from bot.kling.client import KlingClient
from bot.kling.simulated import SIMULATED_BASE_URL, SIMULATED_HOST, SimulatedAceData
from bot.metrics import MeteredTransport
from bot.quota.costs import load_cost_table
from bot.quota.models import OperatorBudget
from bot.storage.base import Store

log = logging.getLogger(__name__)

#: The package whose modules are the bot's extensions (cogs). Found by name, not imported here, so
#: the Discord side never depends on the cogs that depend on it.
EXTENSIONS_PACKAGE = "cogs"


def extension_names() -> list[str]:
    spec = importlib.util.find_spec(EXTENSIONS_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        raise RuntimeError(f"the {EXTENSIONS_PACKAGE!r} package is missing")
    return sorted(
        module.name
        for module in pkgutil.iter_modules(spec.submodule_search_locations, prefix=f"{EXTENSIONS_PACKAGE}.")
    )


def operator_budget(settings: Settings) -> OperatorBudget:
    return OperatorBudget(
        server_daily=settings.SERVER_DAILY_CREDITS,
        server_monthly=settings.SERVER_MONTHLY_CREDITS,
        global_daily=settings.GLOBAL_DAILY_CREDITS,
        global_monthly=settings.GLOBAL_MONTHLY_CREDITS,
    )


def make_bot(settings: Settings, store: Store) -> KlingBot:
    """The bot for this process: sharded (SHARD_COUNT, SHARD_IDS) or not."""
    shard_ids = settings.shard_ids
    if shard_ids is None:
        return KlingBot(settings, store)
    log.info("running shards %s of %d", ",".join(map(str, shard_ids)), settings.SHARD_COUNT)
    return ShardedKlingBot(settings, store, shard_ids=shard_ids, shard_count=settings.SHARD_COUNT)


class KlingBot(commands.Bot):
    store: Store
    http_client: httpx.AsyncClient
    kling: KlingClient
    poller: Poller
    circuit: Circuit
    services: Services
    callbacks: CallbackReceiver | None = None
    send_queue: SendQueue

    def __init__(self, settings: Settings, store: Store, **options: Any) -> None:
        # The queue every job message leaves through learns Discord's budgets from the answers to
        # every request discord.py sends (bot token and interaction webhooks share its session).
        self.send_queue = SendQueue()
        options.setdefault("http_trace", rate_limit_trace(self.send_queue))
        # Only the guilds intent: everything else arrives in interaction payloads.
        # No pings unless a message names whom it may ping (the member, when their video is ready):
        # replies quote member input. The guarded tree refuses DMs and undeclared choices first.
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents(guilds=True),
            help_command=None,
            # No message the bot sends pings anyone unless that send opts in (the result that
            # mentions its member does): echoed member input can never ping a role or @everyone.
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
            tree_cls=GuardedTree,
        )
        self.settings = settings
        self.store = store
        self.costs = load_cost_table(settings.CREDIT_COSTS_FILE)
        self.tree.error(on_app_command_error)

    async def setup_hook(self) -> None:
        settings = self.settings
        base_url = settings.acedata_base_url
        mounts: dict[str, httpx.AsyncBaseTransport] = {}
        if settings.SIMULATE_ACEDATA:
            # The simulated AceData answers in this process, for its own host only; the same client
            # downloads its videos. Discord and attachments still go over the network as usual.
            mounts[f"all://{SIMULATED_HOST}"] = SimulatedAceData()
            base_url = SIMULATED_BASE_URL
            log.warning(
                "SIMULATE_ACEDATA is on: AceData is simulated in this process; nothing is sent or paid"
            )
        self.http_client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=5, read=30, write=30, pool=5),
            follow_redirects=False,
            mounts=mounts,
            # Counts and times the AceData requests for /metrics; downloads pass unrecorded.
            transport=MeteredTransport(httpx.AsyncHTTPTransport(), hosts=[httpx.URL(base_url).host]),
        )
        self.kling = KlingClient(self.http_client, base_url=base_url, token=settings.ACEDATA_API_TOKEN)
        messenger = DiscordMessenger(
            self,
            self.store,
            handoff_after=settings.TOKEN_HANDOFF_AFTER_SECONDS,
            edit_interval=settings.PROGRESS_EDIT_INTERVAL_SECONDS,
            queue=self.send_queue,
        )
        modlog = ModLog(self, self.store, self.send_queue)
        # Out of balance or down: stop sending, alert once, probe with a free task query.
        self.circuit = Circuit(self.kling.check_token, probe_interval=settings.ACEDATA_PROBE_INTERVAL_SECONDS)
        self.kling.observer = self.circuit
        self.circuit.subscribe(modlog.circuit_changed)
        runner = JobRunner(
            store=self.store,
            kling=self.kling,
            http=self.http_client,
            notifier=FanoutNotifier(messenger, modlog),
            deadline_seconds=settings.JOB_DEADLINE_SECONDS,
            circuit=self.circuit,
        )
        video_service = VideoService(
            store=self.store,
            http=self.http_client,
            costs=self.costs,
            default_model=settings.DEFAULT_MODEL,
            budget=operator_budget(settings),
            allowed_guilds=settings.ALLOWED_GUILD_IDS,
            elements_enabled=settings.ENABLE_ELEMENT_LIST,
            circuit=self.circuit,
        )
        for warning in settings.spending_warnings():
            log.warning("BUDGET: %s", warning)
        self.services = Services(
            settings=settings,
            store=self.store,
            video_service=video_service,
            runner=runner,
            messenger=messenger,
            modlog=modlog,
        )
        self.poller = Poller(
            runner,
            base_interval=settings.POLL_INTERVAL_SECONDS,
            max_interval=settings.POLL_MAX_INTERVAL_SECONDS,
        )
        await self.tree.set_translator(CatalogTranslator())
        public_url = settings.callback_public_url
        if public_url is not None:
            self.callbacks = CallbackReceiver(
                store=self.store,
                tokens=CallbackTokens(settings.ACEDATA_API_TOKEN),
                public_url=public_url,
                on_hint=self.poller.poke,
                host=settings.CALLBACK_HOST,
                port=settings.CALLBACK_PORT,
            )
            await self.callbacks.start()
            runner.callback_url_for = self.callbacks.url_for
        for name in extension_names():
            await self.load_extension(name)
        # Resume here, not in on_ready: on_ready fires again after every gateway reconnect.
        await runner.resume()
        self.poller.start()
        if settings.SYNC_COMMANDS:
            await self.sync_commands()

    async def sync_commands(self) -> None:
        """Sync only when the command definitions changed: Discord caps command creates per day."""
        guild = discord.Object(self.settings.DEV_GUILD_ID) if self.settings.DEV_GUILD_ID else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        # The translated payload, so a changed catalog re-syncs as a changed description would.
        translator = self.tree.translator
        commands_here = self.tree.get_commands(guild=guild)
        payload = (
            [await command.get_translated_payload(self.tree, translator) for command in commands_here]
            if translator is not None
            else [command.to_dict(self.tree) for command in commands_here]
        )
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        marker = self.settings.DATABASE_PATH.with_name(
            f"{self.settings.DATABASE_PATH.name}.commands-{guild.id if guild else 'global'}"
        )
        if marker.exists() and marker.read_text().strip() == digest:
            log.info("application commands unchanged; not syncing")
            return
        synced = await self.tree.sync(guild=guild)
        marker.write_text(digest)
        log.info(
            "synced %d application commands %s", len(synced), f"to guild {guild.id}" if guild else "globally"
        )

    async def on_ready(self) -> None:
        log.info("ready as %s in %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        """Stop cleanly: jobs stay resumable, so nothing is marked failed on the way out."""
        if self.callbacks is not None:
            await self.callbacks.stop()
        if hasattr(self, "poller"):
            await self.poller.stop()
        if hasattr(self, "circuit"):
            await self.circuit.aclose()
        if hasattr(self, "services"):
            await self.services.runner.shutdown()
        if hasattr(self, "send_queue"):
            await self.send_queue.close()
        await super().close()
        if hasattr(self, "http_client"):
            await self.http_client.aclose()
        if hasattr(self, "store"):
            await self.store.close()


class ShardedKlingBot(KlingBot, commands.AutoShardedBot):
    """KlingBot on several gateway shards in one process (discord.py's AutoShardedClient)."""
