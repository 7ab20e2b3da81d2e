"""What the benchmark scripts share: databases, waiting, hemkoll's services as processes, CPU.

* ``fresh_database`` / ``drop_database``: a database of the run's own on the machine's
  PostgreSQL (HEMKOLL_TEST_ADMIN_URL, as the tests), migrated unless asked not to; ``rows`` and
  ``one`` query on a connection of their own, retried while the database restarts.
* ``wait_for`` / ``wait_for_log``: until a condition holds (or a text appears in a log so many
  times), checking on the way that the services are still running.
* ``Service``: ``python -m hemkoll <command>`` with an environment of the bench's
  (``service_env``), its output in a log of its own; started again after a kill. ``RunServices``:
  a run's services, each with its metrics on a port of its own (the dispatchers with their own
  MQTT client ids).
* ``start_broker``, ``end_run``: a run's own Mosquitto; stopping what a run started, and
  dropping its database.
* ``bench_args``: a bench's command line with ``--quick``, SIGTERM ending the run as Ctrl-C does;
  ``load_average``.
* ``cpu_seconds``, ``cpu_of``, ``machine_cpu``, ``snapshot``, ``backend_pids``: CPU accounting
  from /proc.
* ``percentile``, ``say``: figures and progress lines.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import numpy as np
import psycopg
from psycopg import sql

from hemkoll.local_services.mosquitto import LocalMosquitto
from hemkoll.local_services.ports import free_port
from hemkoll.store.migrate import migrate

ADMIN_URL = os.environ.get(
    "HEMKOLL_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# A condition waited for is looked at this often: a wait ends within a tenth of a second of
# its condition, and the looking (a query, a log read) costs the measured services nothing.
POLL_S = 0.1
# A database restart (the fault scenarios') takes seconds; a query is retried this long.
QUERY_RETRY_S = 60.0
# Each connection attempt while the database is away, and the pause between them.
CONNECT_TIMEOUT_S = 5
RECONNECT_S = 0.5
# SIGTERM: the services finish the batch in hand and stop within seconds; then SIGKILL.
SERVICE_STOP_TIMEOUT_S = 20.0
# A SIGKILLed process is reaped at once; this bounds the wait should the machine stall.
REAP_TIMEOUT_S = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Where the notifications say the care-team API is (they link to alerts there; never fetched).
PUBLIC_URL = "https://hemkoll.example"


# --- databases ----------------------------------------------------------------------------


def fresh_database(tag: str, *, migrated: bool = True) -> str:
    """A new database ``hemkoll_bench_<random>_<tag>`` on the machine's PostgreSQL."""
    name = f"hemkoll_bench_{uuid.uuid4().hex[:8]}_{tag}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)
    if migrated:
        migrate(url)
    return url


def drop_database(url: str, admin_url: str = ADMIN_URL) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


def rows(url: str, statement: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """A query on a connection of its own, retried while the database restarts."""
    deadline = time.monotonic() + QUERY_RETRY_S
    while True:
        try:
            with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                return conn.execute(statement, params or {}).fetchall()
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(RECONNECT_S)


def one(url: str, statement: str, params: dict[str, Any] | None = None) -> Any:
    """The first column of the first row (None if there is none)."""
    result = rows(url, statement, params)
    return result[0][0] if result else None


# --- hemkoll's services as processes --------------------------------------------------------


def service_env(database_url: str, mqtt_url: str, prefix: str, **settings: str) -> dict[str, str]:
    """The bench's environment with hemkoll's settings for a run: its database, its broker, its
    topic prefix and ingest's client id ``<prefix>-ingest``; each of ``settings`` as
    HEMKOLL_<NAME> (``log_level="INFO"``: HEMKOLL_LOG_LEVEL=INFO)."""
    return {
        **os.environ,
        "HEMKOLL_DATABASE_URL": database_url,
        "HEMKOLL_MQTT_URL": mqtt_url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": prefix,
        "HEMKOLL_MQTT_CLIENT_ID": f"{prefix}-ingest",
        **{f"HEMKOLL_{name.upper()}": value for name, value in settings.items()},
    }


class Service:
    """``python -m hemkoll <command> [args]``; started again after a kill, its log appended.

    The output goes to ``log_dir/<name>.log``, or with ``log_dir`` None to the bench's own.
    """

    def __init__(
        self,
        name: str,
        command: str,
        env: dict[str, str],
        log_dir: Path | None,
        args: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.command = command
        self.args = tuple(args)  # after the command (``serve --port 8123``)
        self.env = env
        self.log_path = None if log_dir is None else log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        # SIGTERM already sent to the current process: stop() does not send it again (a
        # service finishing its work treats one SIGTERM as the request; a second one landing
        # while it exits is noise at best).
        self.terminated = False

    def start(self) -> Service:
        command = [sys.executable, "-m", "hemkoll", self.command, *self.args]
        if self.log_path is None:
            self.process = subprocess.Popen(command, env=self.env)
        else:
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    command, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
        self.starts += 1
        self.terminated = False
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive:
            code = None if self.process is None else self.process.returncode
            raise RuntimeError(f"{self.name} exited with {code}:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=REAP_TIMEOUT_S)
        self.kills += 1

    def terminate(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self) -> int | None:
        """SIGTERM (unless terminate() sent it), then SIGKILL after a timeout; the exit status
        (None if it was killed)."""
        if self.process is None:
            return None
        if self.process.poll() is not None:
            return self.process.returncode
        if not self.terminated:
            self.process.send_signal(signal.SIGTERM)
            self.terminated = True
        try:
            return self.process.wait(timeout=SERVICE_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # Its last log lines say what it was still doing (the run's logs go with its
            # temporary directory).
            print(
                f"{self.name} did not stop in {SERVICE_STOP_TIMEOUT_S:.0f} s; killing it\n"
                f"{self.tail()}",
                file=sys.stderr,
                flush=True,
            )
            self.process.kill()
            self.process.wait(timeout=REAP_TIMEOUT_S)
            return None

    def tail(self, lines: int = 20) -> str:
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"  {self.name}| {line}" for line in text[-lines:])


def stop_services(services: Iterable[Service]) -> dict[str, int | None]:
    """SIGTERM to all at once (each finishes the work in hand), then each one's exit status."""
    services = list(services)
    for service in services:
        service.terminate()
    return {service.name: service.stop() for service in services}


@dataclass
class RunServices:
    """A run's services: each ``python -m hemkoll <command>`` with the run's environment
    (``service_env`` with the notifications' PUBLIC_URL and WARNING logs), its ``/metrics`` on
    a free port of its own (``ports``, by name), its log in ``work``; each started one is added
    to ``started`` (the caller's list, for ``stop_services``)."""

    env: dict[str, str]
    work: Path
    started: list[Service]
    ports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of_run(
        cls, database_url: str, mqtt_url: str, prefix: str, work: Path, started: list[Service]
    ) -> RunServices:
        env = service_env(
            database_url, mqtt_url, prefix, public_url=PUBLIC_URL, log_level="WARNING"
        )
        return cls(env, work, started)

    def start(self, name: str, command: str, **extra: str) -> Service:
        """``hemkoll <command>`` as ``name``, with ``extra`` (HEMKOLL_... = value) on top."""
        self.ports[name] = free_port()
        env = {**self.env, "HEMKOLL_METRICS_PORT": str(self.ports[name]), **extra}
        service = Service(name, command, env, self.work).start()
        self.started.append(service)
        return service

    def start_dispatchers(self, count: int, prefix: str) -> None:
        """``dispatch-0`` .. ``dispatch-<count - 1>``, each with an MQTT client id of its own
        (``<prefix>-dispatch-<k>``: the broker drops a client when another takes its id)."""
        for k in range(count):
            self.start(
                f"dispatch-{k}", "dispatch", HEMKOLL_DISPATCH_CLIENT_ID=f"{prefix}-dispatch-{k}"
            )


def start_broker(work: Path) -> LocalMosquitto:
    """A Mosquitto of the run's own with the project's limits, in ``work/broker``, started."""
    broker = LocalMosquitto(work / "broker")
    broker.start()
    return broker


class Stoppable(Protocol):
    def stop(self) -> None: ...


def end_run(url: str, services: Iterable[Service], *started: Stoppable | None) -> None:
    """A run's end, however it ends: its services stopped (``stop_services``), then each of
    ``started`` that was (a receiver, a broker) in order, and its database dropped."""
    stop_services(services)
    for thing in started:
        if thing is not None:
            thing.stop()
    drop_database(url)


# --- a bench's command line ---------------------------------------------------------------


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def bench_args(parser: argparse.ArgumentParser, quick: dict[str, Any]) -> argparse.Namespace:
    """The parsed command line with ``--quick`` (the last option: every one of ``quick`` set to
    its value). SIGTERM from then on ends the run as Ctrl-C does: everything started is stopped
    and the database dropped (the bench's ``finally``)."""
    parser.add_argument("--quick", action="store_true", help=f"small: {quick}")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminated)
    if args.quick:
        for name, value in quick.items():
            setattr(args, name, value)
    return args


def load_average() -> str:
    """The machine's load averages (1, 5, 15 minutes), as printed with a bench's figures."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- waiting ------------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    services: Iterable[Service] = (),
) -> None:
    """Until ``predicate()``; RuntimeError if one of ``services`` exits meanwhile."""
    services = list(services)
    deadline = time.monotonic() + timeout
    while not predicate():
        for service in services:
            service.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def wait_for_log(
    log: Path,
    text: str,
    timeout: float,
    what: str,
    *,
    count: int = 1,
    services: Iterable[Service] = (),
) -> None:
    """Until ``text`` stands ``count`` times in ``log`` (a broker's: "... as <client id> ...")."""

    def seen() -> bool:
        try:
            return log.read_text(errors="replace").count(text) >= count
        except FileNotFoundError:
            return False

    wait_for(seen, timeout, what, services=services)


# --- CPU ----------------------------------------------------------------------------------


def cpu_seconds(pid: int, task: int | None = None) -> float | None:
    """User + system CPU time a process (its threads included), or one of its threads, has used
    so far (/proc); None if it is gone."""
    path = Path(f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat")
    try:
        fields = path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_of(pids: Iterable[int]) -> float:
    """The CPU seconds of those of ``pids`` still running."""
    return sum(cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # user .. steal; guest time is counted in user already
    idle = values[3] + values[4]  # idle + iowait
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass
class CpuSnapshot:
    """When, the machine's (busy, total) CPU seconds, and each group's per-process seconds."""

    wall: float
    machine: tuple[float, float]
    processes: dict[str, dict[int, float]] = field(default_factory=dict)


def snapshot(groups: dict[str, list[int]]) -> CpuSnapshot:
    """The CPU seconds so far of the processes of each named group, and of the machine."""
    snap = CpuSnapshot(time.monotonic(), machine_cpu())
    for name, pids in groups.items():
        snap.processes[name] = {pid: cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None}
    return snap


def backend_pids(url: str) -> list[int]:
    """The server processes of the database's other connections (the services')."""
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(pid) for (pid,) in found]


# --- figures ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (NaN for no values)."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def say(text: str) -> None:
    """A progress line, with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)
