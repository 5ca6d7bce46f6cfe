"""`python -m bot` runs the bot; `python -m bot check` checks the set-up without starting it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import setup_logging

log = logging.getLogger("bot")


def _secrets(settings: Settings) -> list[str]:
    return [settings.DISCORD_TOKEN.get_secret_value(), settings.ACEDATA_API_TOKEN.get_secret_value()]


async def run_bot(settings: Settings) -> None:
    from bot.discord_app.client import KlingBot
    from bot.discord_app.endpoints import configure_discord_endpoints
    from bot.storage import open_store

    configure_discord_endpoints(settings.discord_api_base, settings.DISCORD_GATEWAY_URL)
    # The database first: a bad path or permission fails here, in one line, before logging in.
    store = await open_store(settings.DATABASE_PATH)
    bot = KlingBot(settings, store)
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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

        if isinstance(exc, StorageUnavailable):
            print(f"Database error: {exc}. Check DATABASE_PATH.", file=sys.stderr)
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
