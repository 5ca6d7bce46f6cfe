"""`python -m bot` runs the bot; `python -m bot check` checks the set-up without starting it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import setup_logging
from bot.storage.base import Store

log = logging.getLogger("bot")


def _secrets(settings: Settings) -> list[str]:
    secrets = [settings.DISCORD_TOKEN.get_secret_value(), settings.ACEDATA_API_TOKEN.get_secret_value()]
    if settings.database_password:
        secrets.append(settings.database_password)
    return secrets


async def run_bot(settings: Settings) -> None:
    from bot.discord_app.endpoints import configure_discord_endpoints
    from bot.storage import open_store

    configure_discord_endpoints(settings.discord_api_base, settings.DISCORD_GATEWAY_URL)
    # The database first: a bad path or permission fails here, in one line, before logging in.
    store = await open_store(settings.DATABASE_PATH, database_url=settings.database_url)
    metrics_server = None
    if settings.METRICS_PORT is not None:
        from bot.metrics import Discord429Counter
        from bot.metrics_server import MetricsServer

        Discord429Counter.install()
        metrics_server = MetricsServer(store, host=settings.METRICS_HOST, port=settings.METRICS_PORT)
        try:
            await metrics_server.start()
        except OSError as exc:
            await store.close()
            raise MetricsUnavailable(
                f"Cannot serve metrics on {settings.METRICS_HOST}:{settings.METRICS_PORT}: "
                f"{exc.strerror or exc}. Check METRICS_HOST and METRICS_PORT."
            ) from exc
    try:
        await _serve(settings, store)
    finally:
        if metrics_server is not None:
            await metrics_server.stop()


class MetricsUnavailable(Exception):
    """The metrics port cannot be opened (in use, bad address)."""


async def _serve(settings: Settings, store: Store) -> None:
    from bot.discord_app.client import make_bot

    bot = make_bot(settings, store)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop() -> None:
        log.info("stop requested; shutting down cleanly")
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, request_stop)
    async with bot:
        runner = asyncio.create_task(bot.start(settings.DISCORD_TOKEN.get_secret_value()))
        stopper = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if runner in done:
            runner.result()  # re-raise a login failure or crash
        else:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


#: What each command does, for `--help`.
COMMANDS = {
    "run": "connect to Discord and serve /video and the other commands until stopped (the default)",
    "check": "check the settings, the Discord token, the AceData token and the database without "
    "starting the bot, then print the invite URL; exits non-zero when something is wrong",
    "migrate": "copy the SQLite database (DATABASE_PATH, or --from) into the PostgreSQL database given "
    "by --to postgresql://…, jobs in flight included, and verify the row counts; stop the bot first",
}


def _parser() -> argparse.ArgumentParser:
    epilog = "commands:\n" + "\n".join(f"  {name:<7} {text}" for name, text in COMMANDS.items())
    epilog += (
        "\n\nSettings come from the environment or a .env file in the current folder (see .env.example)."
    )
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Kling video bot for Discord: members type /video, the bot makes the video with "
        "Kling through AceData Cloud and posts it in the channel.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", default="run", choices=list(COMMANDS), help="what to do")
    parser.add_argument("--to", metavar="URL", help="migrate: the postgresql:// database to copy into")
    parser.add_argument("--from", dest="source", metavar="PATH", help="migrate: the SQLite file to copy")
    return parser


def _migrate(args: argparse.Namespace) -> int:
    """`python -m bot migrate --to postgresql://…`: needs no Discord or AceData token."""
    from pathlib import Path

    from bot.storage import StorageUnavailable
    from bot.storage.postgres import is_postgres_url, redact_url
    from bot.storage.transfer import TransferError, migrate_to_postgres

    if not args.to or not is_postgres_url(args.to):
        print("migrate needs --to postgresql://user:password@host:port/dbname", file=sys.stderr)
        return 2
    if args.source:
        source = Path(args.source)
    else:
        try:
            source = load_settings().DATABASE_PATH
        except ConfigError:  # the tokens are not needed here; the path may still come from the env
            source = Path(os.environ.get("DATABASE_PATH") or "data/bot.sqlite3")
    try:
        copied = asyncio.run(migrate_to_postgres(source, args.to))
    except (TransferError, StorageUnavailable) as exc:
        print(f"Migration failed: {exc}", file=sys.stderr)
        return 1
    for table in copied:
        print(f"✓ {table.table}: {table.rows} rows copied and verified")
    print(f"Copied {source} into {redact_url(args.to)}. Set DATABASE_URL to it and start the bot.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "migrate":
        return _migrate(args)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}. See .env.example for every setting.", file=sys.stderr)
        return 2
    setup_logging(settings.LOG_LEVEL, _secrets(settings))
    if args.command == "check":
        from bot.discord_app.setup_check import run_checks

        return asyncio.run(run_checks(settings))
    try:
        asyncio.run(run_bot(settings))
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        import discord

        from bot.storage import StorageUnavailable

        if isinstance(exc, MetricsUnavailable):
            print(f"Metrics error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, StorageUnavailable):
            setting = "DATABASE_URL" if settings.DATABASE_URL else "DATABASE_PATH"
            print(f"Database error: {exc}. Check {setting}.", file=sys.stderr)
            return 2
        if isinstance(exc, discord.LoginFailure):
            print(
                "Discord refused DISCORD_TOKEN: check the bot token in the Developer Portal.", file=sys.stderr
            )
            return 1
        log.exception("the bot stopped because of an unexpected error")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
