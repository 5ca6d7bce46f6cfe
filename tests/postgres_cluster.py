"""A throw-away PostgreSQL cluster for the tests: `initdb` into a temporary folder, `pg_ctl start` on
127.0.0.1 on a free port, one fresh database per test, `pg_ctl stop` at the end.

The server binaries are looked up on PATH, then in Debian's /usr/lib/postgresql/<version>/bin (or
the folder in PG_BIN). PostgreSQL refuses to run as root, so under root (CI) the cluster runs as
the `postgres` user that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

SERVER_USER = "postgres"
SKIP_REASON = (
    "PostgreSQL tests skipped: no PostgreSQL server binaries (initdb, pg_ctl) on PATH, in PG_BIN or in "
    "/usr/lib/postgresql/*/bin. Install them (Debian: apt-get install postgresql) to run them; "
    "under CI=true they fail instead of skipping."
)


def find_server_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, newest Debian version first, or None."""
    candidates: list[str] = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))

    def version(folder: str) -> int:
        name = Path(folder).parent.name
        return int(name) if name.isdigit() else 0

    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    candidates.extend(debian)
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresCluster:
    bin_dir: Path
    folder: Path
    port: int
    run_as: str | None  # a user name when the tests run as root

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )

    @classmethod
    def start(cls, bin_dir: Path) -> PostgresCluster:
        run_as = SERVER_USER if os.geteuid() == 0 else None
        folder = Path(tempfile.mkdtemp(prefix="kling-pg-"))
        if run_as is not None:
            entry = pwd.getpwnam(run_as)  # KeyError: no postgres user, the package is not installed
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        cluster = cls(bin_dir=bin_dir, folder=folder, port=free_port(), run_as=run_as)
        cluster._run(
            "initdb",
            "-D",
            str(cluster.data_dir),
            "-U",
            SERVER_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        cluster._start()
        return cluster

    def _start(self) -> None:
        # Durability is pointless for a throw-away cluster; speed is not.
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.folder}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l",
                  str(self.log_file), "-o", options)  # fmt: skip

    def pause(self) -> None:
        """Stop the server (fast shutdown: every client connection is cut), keeping its data."""
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w")

    def resume(self) -> None:
        """Start it again on the same port with the same data."""
        self._start()

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new, empty database for one test; its URL. Dropped afterwards (connections forced out)."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            with psycopg.connect(self.url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
