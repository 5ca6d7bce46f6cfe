"""Runs the bot (``python -m bot``) as a real subprocess against the fake Discord and the fake AceData.

``BotHarness`` builds the environment (fake endpoints, fake tokens, a database in a temporary folder, short
intervals), starts the process, captures its output, waits until it has identified on the fake gateway
(and synced its commands), and can kill -9 and restart it on the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from bot.config import Settings
from tests.e2e.fake_discord import FakeDiscord, RestCall

REPO_ROOT = Path(__file__).resolve().parents[2]
# Never inherited from the developer's shell: a real token must not leak in, nor a setting change a test.
_BOT_SETTINGS = frozenset(Settings.model_fields)
_SECRET_PREFIXES = ("DISCORD_", "ACEDATA_")


class AceDataServer(Protocol):
    """What the harness needs from tests/fakes/acedata.py's FakeAceData."""

    @property
    def base_url(self) -> str: ...

    @property
    def token(self) -> str: ...


async def maybe_await(value: object) -> None:
    """FakeAceData.start()/stop() may be plain or async methods."""
    if inspect.isawaitable(value):
        await value


class BotProcess:
    """One child process with its merged stdout/stderr kept in memory and in a log file."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.lines: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new_line = asyncio.Condition()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read_output())

    async def _read_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- started pid {self._process.pid} at {time.strftime('%H:%M:%S')}\n")
            while line := await self._process.stdout.readline():
                text = line.decode("utf-8", "replace").rstrip("\n")
                log.write(text + "\n")
                log.flush()
                async with self._new_line:
                    self.lines.append(text)
                    self._new_line.notify_all()
        async with self._new_line:
            self._new_line.notify_all()

    async def wait_for_line(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:  # noqa: ASYNC109
        """The first output line (so far or to come) matching the regular expression ``pattern``."""
        regex = re.compile(pattern)
        deadline = asyncio.get_running_loop().time() + timeout
        async with self._new_line:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                remaining = deadline - asyncio.get_running_loop().time()
                if self.returncode is not None and self._reader is not None and self._reader.done():
                    raise AssertionError(
                        f"process exited ({self.returncode}) before printing {pattern!r}:\n{self.tail()}"
                    )
                if remaining <= 0:
                    raise AssertionError(f"no line matching {pattern!r} after {timeout:g}s:\n{self.tail()}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_line.wait(), min(remaining, 0.5))

    async def wait(self) -> int:
        """Until the process exits by itself; its exit code."""
        assert self._process is not None, "the process was never started"
        return await self._process.wait()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.lines[-lines:])

    async def kill(self) -> int:
        """SIGKILL: no shutdown code runs, as when a container is killed."""
        return await self._end(signal.SIGKILL, grace=5.0)

    async def terminate(self, timeout: float = 10.0) -> int:  # noqa: ASYNC109
        """SIGTERM and wait for a clean exit; SIGKILL if it takes longer than ``timeout``."""
        return await self._end(signal.SIGTERM, grace=timeout)

    async def _end(self, sig: signal.Signals, *, grace: float) -> int:
        process = self._process
        assert process is not None, "the process was never started"
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._reader is not None:
            await self._reader
        assert process.returncode is not None
        return process.returncode


def _is_command_sync(call: RestCall) -> bool:
    return call.method == "PUT" and call.route.endswith("/commands")


class BotHarness:
    """The bot as a subprocess wired to the fakes. ``start()``, drive the fakes, ``kill()``/``restart()``."""

    def __init__(
        self,
        workdir: Path,
        *,
        discord: FakeDiscord,
        acedata: AceDataServer,
        env: Mapping[str, str] | None = None,
        argv: Sequence[str] = (sys.executable, "-m", "bot"),
    ) -> None:
        self.workdir = workdir
        self.discord = discord
        self.acedata = acedata
        self.extra_env = dict(env or {})
        self.argv = list(argv)
        self.database_path = workdir / "bot.sqlite3"
        self.log_path = workdir / "bot.log"
        self.process: BotProcess | None = None
        self.runs: list[BotProcess] = []

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _BOT_SETTINGS and not k.startswith(_SECRET_PREFIXES)
        }
        env.update(
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            PYTHONUNBUFFERED="1",
            DISCORD_TOKEN=self.discord.bot_token,
            DISCORD_API_BASE=self.discord.api_base,
            DISCORD_GATEWAY_URL=self.discord.gateway_url,
            DEV_GUILD_ID=str(self.discord.guild.id),
            ACEDATA_API_TOKEN=self.acedata.token,
            ACEDATA_BASE_URL=self.acedata.base_url,
            DATABASE_PATH=str(self.database_path),
            LOG_LEVEL="INFO",
            POLL_INTERVAL_SECONDS="0.2",
            POLL_MAX_INTERVAL_SECONDS="0.5",
            TOKEN_HANDOFF_AFTER_SECONDS="5",
            PROGRESS_EDIT_INTERVAL_SECONDS="0",
            JOB_DEADLINE_SECONDS="30",
            # Room for every scenario; the budget tests set their own caps.
            SERVER_DAILY_CREDITS="100000",
            SERVER_MONTHLY_CREDITS="100000",
            GLOBAL_DAILY_CREDITS="100000",
            GLOBAL_MONTHLY_CREDITS="100000",
        )
        env.update(self.extra_env)
        return env

    async def start(
        self,
        *,
        wait_ready: bool = True,
        expect_sync: bool = True,
        timeout: float = 20.0,  # noqa: ASYNC109
    ) -> BotProcess:
        """Start the bot; by default wait until it has synced its commands and identified on the fake."""
        if self.process is not None and self.process.returncode is None:
            raise RuntimeError("the bot is already running: kill() or stop() it first")
        identified_before = sum(c.identified for c in self.discord.gateway_connections)
        mark = self.discord.mark()
        # The working folder is the temporary one so a developer's .env is never read.
        self.process = BotProcess(self.argv, env=self.environment(), cwd=self.workdir, log_path=self.log_path)
        self.runs.append(self.process)
        await self.process.start()
        if wait_ready:
            await self._wait_ready(identified_before + 1, mark, expect_sync=expect_sync, within=timeout)
        return self.process

    async def _wait_ready(self, identify_count: int, mark: int, *, expect_sync: bool, within: float) -> None:
        process = self.process
        assert process is not None

        async def ready() -> None:
            if expect_sync:  # commands sync in setup_hook, before the gateway connects
                await self.discord.wait_for(_is_command_sync, within, since=mark)
            await self.discord.wait_for_identify(identify_count, within)

        readiness = asyncio.ensure_future(ready())
        exit_ = asyncio.ensure_future(process.wait())
        await asyncio.wait({readiness, exit_}, return_when=asyncio.FIRST_COMPLETED)
        exit_.cancel()
        if not readiness.done():
            readiness.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await readiness
            raise AssertionError(
                f"the bot exited with {process.returncode} before it was ready:\n{process.tail()}"
            )
        try:
            readiness.result()
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nbot output:\n{process.tail()}") from None

    async def kill(self) -> int:
        """kill -9 the running bot."""
        assert self.process is not None, "the bot was never started"
        return await self.process.kill()

    async def restart(self, *, kill: bool = True, timeout: float = 20.0) -> BotProcess:  # noqa: ASYNC109
        """Kill -9 (or stop cleanly with ``kill=False``) and start again on the same database."""
        if self.process is not None and self.process.returncode is None:
            await (self.kill() if kill else self.process.terminate())
        # Same commands as before, so the bot rightly skips the sync: wait for the gateway only.
        return await self.start(expect_sync=False, timeout=timeout)

    async def stop(self) -> None:
        """SIGTERM, falling back to SIGKILL; safe to call when nothing runs."""
        if self.process is not None and self.process.returncode is None:
            await self.process.terminate()

    def output(self) -> str:
        """Everything every run of the bot printed."""
        return "\n".join(run.output for run in self.runs)

    def leaked_secrets(self) -> list[str]:
        """Which secrets appear in the bot's output (names, never the values)."""
        secrets = {"DISCORD_TOKEN": self.discord.bot_token, "ACEDATA_API_TOKEN": self.acedata.token}
        secrets.update({f"interaction token {i}": t for i, t in enumerate(self.discord.interaction_tokens())})
        output = self.output()
        return [name for name, value in secrets.items() if value and value in output]
