"""A throwaway PostgreSQL cluster that can be restarted cleanly or crashed (pg_ctl).

For the fault and soak benchmarks: the machine's cluster is shared with other work, it must
never be restarted, and its memory would not be ours to measure. The cluster lives in a
temporary folder on a free port with trust authentication, is run as the ``postgres`` user when
we are root (PostgreSQL refuses root), and is deleted by ``stop()``. The server binaries are
the machine's (HEMKOLL_PG_BIN, by default Debian's PostgreSQL 15). Unlike the demo's
(``hemkoll.local_services.postgres``) the server is pg_ctl's daemon, so that ``restart_fast``
and ``crash_and_start`` are pg_ctl's own fast and immediate modes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from hemkoll.local_services.ports import free_port, wait_for_port
from hemkoll.store.migrate import migrate

PG_BIN = Path(os.environ.get("HEMKOLL_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEMPLATE = "hemkoll_template"
# initdb and a start after a crash (WAL replay) can take minutes on a loaded machine.
TOOL_TIMEOUT_S = 180
# pg_ctl -w waits this long for a start or stop to complete.
PG_CTL_WAIT_S = "120"
# After pg_ctl says it started, until the TCP port answers.
PORT_TIMEOUT_S = 60.0


class PostgresCluster:
    """``start()``, ``create_database(name)``, ``restart_fast()``, ``crash_and_start()``,
    ``stop()``; ``admin_url`` and ``url(dbname)`` as the ``postgres`` superuser."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="hemkoll-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port()
        self.admin_url = self.url("postgres")
        self.restarts: list[str] = []

    def _pg(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=TOOL_TIMEOUT_S)  # noqa: S603

    def start(self) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                 "--no-sync")  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.folder}'\nmax_connections = 200\n"
                "log_min_messages = warning\n"
            )
        self._ctl("start")
        return self

    def _ctl(self, action: str, mode: str | None = None) -> None:
        args = ["-D", str(self.data), "-l", str(self.log), "-w", "-t", PG_CTL_WAIT_S]
        if mode:
            args += ["-m", mode]
        self._pg("pg_ctl", *args, action)
        if action != "stop":
            wait_for_port("127.0.0.1", self.port, timeout=PORT_TIMEOUT_S)

    def restart_fast(self) -> None:
        """A clean restart: sessions are ended, a checkpoint is written, it comes back."""
        self._ctl("restart", "fast")
        self.restarts.append("fast")

    def crash_and_start(self) -> None:
        """pg_ctl -m immediate: every process quits without a checkpoint (as after a power cut
        or an OOM kill of the postmaster); the start replays the WAL."""
        self._ctl("stop", "immediate")
        self._ctl("start")
        self.restarts.append("immediate")

    @property
    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A migrated database (a copy of a template migrated once)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)
            ).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
                migrate(self.url(TEMPLATE))
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(TEMPLATE)
                )
            )
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._ctl("stop", "fast")
        shutil.rmtree(self.folder, ignore_errors=True)
