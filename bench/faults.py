"""Fault scenarios end to end, with real processes: nothing lost, nothing sent twice.

    .venv/bin/python bench/faults.py [--scenarios all] [--outage 600] [--json out.json]
    .venv/bin/python bench/faults.py --quick          # the short version CI runs

Every scenario starts from nothing and runs everything as deployed, each a process of its own:

  PostgreSQL  a cluster of the bench's own (initdb + pg_ctl from /usr/lib/postgresql/15/bin, as
              the ``postgres`` user when run as root) on a free port, a fresh database per
              scenario; the machine's cluster is never touched (other work uses it).
  Mosquitto   deploy/mosquitto/mosquitto.conf itself, with its ports and paths moved into the
              scenario's folder (tests/deploy/mosquitto_support.render: any other change to the
              file fails the render): TLS listener, no anonymous access, the password and ACL
              files written by ``hemkoll broker-auth`` from the registry, persistence with
              autosave_on_changes, and the queue limits of conf.d.
  services    ``python -m hemkoll ingest``, ``rules`` and ``dispatch`` with HEMKOLL_* settings,
              logging to the scenario's folder.
  devices     the simulator's publisher (hemkoll.simulator.publisher): each device connects
              with its own enrolment credentials (the ACL applies), publishes at QoS 1 and
              resends a message until ingest's feedback names it (docs/protocol.md; every
              --resend-after seconds here, doubling).
  centre      the simulator's WebhookReceiver (in this process): verifies every Standard
              Webhooks signature, records each delivery and counts a repeated webhook-id as a
              duplicate without processing it. The centre's care-team and escalation endpoints
              both point at it (with their two secrets); escalate_after is --escalate-after.

Each scenario streams in-range readings (weight; blood pressure and pulse; SpO2 and pulse) from
--devices patients at --rate messages/s, and "probe" patients each send one answer of severe
breathlessness (score 3), which opens a red alert at once (the preset's breathlessness_at_rest);
nobody acknowledges, so each red alert is also escalated after --escalate-after seconds. Then:

  ingest-kill       SIGKILL of ingest --kills times while the stream runs, restarted each time.
  broker-restart    Mosquitto stopped cleanly (SIGTERM) and restarted mid-stream, then killed
                    with SIGKILL and restarted, on the same persistence files.
  postgres-restart  the cluster restarted (pg_ctl -m fast) the moment ingest has a transaction
                    open, then crashed (pg_ctl -m immediate) and started again (crash recovery).
  endpoint          the centre's endpoint down for --outage seconds (the receiver stopped), then
                    slow (--slow-delay s, within the dispatcher's 10 s read timeout, then
                    --slow-timeout-delay s, beyond it), then answering 500, then 429 with
                    Retry-After: --retry-after, each for --phase seconds, then normal again;
                    probes every --probe-every seconds throughout.
  dispatcher-kill   the dispatcher SIGKILLed at the moment the receiver records a delivery,
                    before its answer (so the send happened and is never recorded), --kills-on-
                    record times, then --kills-in-flight times while a send is held open by the
                    receiver's slow mode; restarted each time. Its leases run out after 60 s
                    (LEASE_S) and another claim sends again with the same webhook-id.

Afterwards (once the devices have feedback for everything, every probe has its alert, every red
alert is escalated and no notification is pending, or --settle-timeout) it prints per scenario:

  readings    distinct readings published, rows stored, missing, extra (stored but never
              published), values that differ; rows per (device, metric, measured_at) beyond
              one (0 by the primary key, checked anyway); readings the store saw again and
              counted as duplicates (feedback), messages the devices resent; dead letters.
  alerts      alerts opened, probe patients with exactly one alert, alerts whose care-team
              webhook reached the centre, red alerts escalated and escalation webhooks received,
              half-escalated (escalated_at, the 'escalated' event and the escalation
              notification not all three or none), red alerts overdue and not escalated.
  webhooks    notifications by channel and state (pending, expired or gone at the end fail),
              deliveries at the receiver, distinct webhook-ids, deliveries beyond the first per
              webhook-id (the sender's retries, deduped by the receiver), webhook-ids per
              (alert, event) (must be 1: a notification is never sent under two ids), signatures
              refused, ids received that the database does not have delivered.
  services    starts, and whether each is alive at the end; patient references or the canary
              string every payload carries (an unknown field, ignored by ingest) found in any
              service's or the broker's log (must be 0).

Every figure above marked as "must" is checked; the exit status is 1 if any check fails. With
--fast-forward (which --quick sets) the bench does what time would: it makes pending webhook
retries due at once after the endpoint recovers (notifications.retry_pending_now, what the API
does when an administrator saves the centre's endpoint) and expires the leases a killed
dispatcher held (instead of waiting LEASE_S); without it the real retry schedule runs (5 s, 5
min, 30 min, ... : after a 10-minute outage the last notification arrives up to ~36 minutes after
it began).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]
# The deployed broker configuration is rendered by the same code the deployment tests use.
sys.path.insert(0, str(REPO))

from hemkoll.api.notify.dispatcher import LEASE_S  # noqa: E402
from hemkoll.ingest.local_broker import free_port, wait_for_port  # noqa: E402
from hemkoll.simulator.plan import PlannedMessage  # noqa: E402
from hemkoll.simulator.publisher import (  # noqa: E402
    PlanPublisher,
    PublisherConfig,
    PublishReport,
)
from hemkoll.simulator.receiver import Delivery, Mode, WebhookReceiver  # noqa: E402
from hemkoll.store import notifications as notification_store  # noqa: E402
from hemkoll.store.connect import connect  # noqa: E402
from hemkoll.store.devices import enrol_device  # noqa: E402
from hemkoll.store.health_centres import new_signing_secret  # noqa: E402
from hemkoll.store.migrate import migrate  # noqa: E402
from hemkoll.store.sql import query  # noqa: E402
from tests.deploy.mosquitto_support import (  # noqa: E402
    SYSTEMD_CONF,
    Broker,
    Tls,
    render,
    tls_material,
)

log = logging.getLogger("faults")

PG_BIN = Path(os.environ.get("HEMKOLL_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVICE_USER = "hemkoll-service"
CENTRE = "Faults VC"
ESCALATION_CONTACT = "On-call home-care nurse"
SCENARIOS = ("ingest-kill", "broker-restart", "postgres-restart", "endpoint", "dispatcher-kill")
# A string every payload carries in a field ingest ignores; no log may ever contain it.
CANARY = f"canary-{uuid.uuid4().hex[:12]}"
# Stream sessions: one message each, (metric, unit, value) per reading; values well inside the
# heart-failure preset's limits so that the stream alone opens nothing.
SESSIONS: tuple[tuple[tuple[str, str, float], ...], ...] = (
    (("body_weight", "kg", 80.0),),
    (
        ("systolic_bp", "mm[Hg]", 128.0),
        ("diastolic_bp", "mm[Hg]", 78.0),
        ("heart_rate", "/min", 70),
    ),
    (("spo2", "%", 97.0), ("heart_rate", "/min", 71.0)),
)
SERVICE_STOP_TIMEOUT_S = 20.0
POLL_S = 0.2


# --- small helpers ------------------------------------------------------------------------


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def rows(url: str, statement: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """A query on a connection of its own, retried while the database restarts."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                return conn.execute(statement, params or {}).fetchall()  # type: ignore[arg-type]
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def one(url: str, statement: str, params: dict[str, Any] | None = None) -> Any:
    result = rows(url, statement, params)
    return result[0][0] if result else None


# --- PostgreSQL of our own ------------------------------------------------------------------


class OwnPostgres:
    """A cluster in a temporary folder on a free port, run as ``postgres`` when we are root."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="hemkoll-faults-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.restarts: list[str] = []

    def _pg(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=180)

    def start(self) -> OwnPostgres:
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
        args = ["-D", str(self.data), "-l", str(self.log), "-w", "-t", "120"]
        if mode:
            args += ["-m", mode]
        self._pg("pg_ctl", *args, action)
        if action != "stop":
            wait_for_port("127.0.0.1", self.port, timeout=60)

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

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A migrated database (a copy of a template migrated once)."""
        template = "hemkoll_faults_template"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (template,)
            ).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
                migrate(self.url(template))
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._ctl("stop", "fast")
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the services as processes ------------------------------------------------------------


class Service:
    """``python -m hemkoll <command>``; started again after a kill, its log appended."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self._log: IO[bytes] | None = None

    def start(self) -> Service:
        if self._log is None:
            self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hemkoll", self.command],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.kills += 1

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a timeout; the exit status (None if it was killed)."""
        code = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout=SERVICE_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop in {SERVICE_STOP_TIMEOUT_S:.0f} s; killing it")
                self.process.kill()
                self.process.wait(timeout=10)
        elif self.process is not None:
            code = self.process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"  {self.name}| {line}" for line in text[-lines:])


# --- one scenario's world -----------------------------------------------------------------


@dataclass(frozen=True)
class Patient:
    reference: str
    patient_id: str
    device_id: str
    password: str
    probe: bool

    @property
    def key(self) -> str:
        return f"{self.reference}/gateway"


@dataclass
class Published:
    """What the plan publishes: every reading's identity and value, and when probes go."""

    readings: dict[tuple[str, str, str], float] = field(default_factory=dict)
    messages: int = 0
    probe_times: list[float] = field(default_factory=list)


@dataclass
class World:
    name: str
    args: argparse.Namespace
    folder: Path
    pg: OwnPostgres
    tls: Tls
    url: str = ""
    prefix: str = ""
    service_password: str = ""
    broker: Broker | None = None
    receiver: WebhookReceiver | None = None
    services: dict[str, Service] = field(default_factory=dict)
    patients: list[Patient] = field(default_factory=list)
    centre_id: str = ""
    published: Published = field(default_factory=Published)
    devices: PlanPublisher | None = None
    report: PublishReport | None = None
    publisher_error: BaseException | None = None
    stop_publishing: threading.Event = field(default_factory=threading.Event)
    faults: dict[str, Any] = field(default_factory=dict)
    on_delivery: Callable[[Delivery], None] | None = None
    started_wall: float = 0.0

    @property
    def ingest(self) -> Service:
        return self.services["ingest"]

    @property
    def dispatcher(self) -> Service:
        return self.services["dispatch"]

    @property
    def probes(self) -> list[Patient]:
        return [p for p in self.patients if p.probe]

    def env(self, **extra: str) -> dict[str, str]:
        assert self.broker is not None
        return {
            **os.environ,
            "HEMKOLL_DATABASE_URL": self.url,
            "HEMKOLL_MQTT_URL": f"mqtt://{SERVICE_USER}:{self.service_password}@127.0.0.1:"
            f"{self.broker.plain_port}",
            "HEMKOLL_MQTT_TOPIC_PREFIX": self.prefix,
            "HEMKOLL_MQTT_CLIENT_ID": f"{self.prefix}-ingest",
            "HEMKOLL_DISPATCH_CLIENT_ID": f"{self.prefix}-dispatch",
            "HEMKOLL_PUBLIC_URL": "https://hemkoll.example",
            "HEMKOLL_LOG_LEVEL": self.args.log_level,
            **extra,
        }


def build_world(
    name: str, args: argparse.Namespace, pg: OwnPostgres, tls: Tls, workdir: Path, *, probes: int
) -> World:
    tag = uuid.uuid4().hex[:6]
    world = World(name, args, workdir / name, pg, tls)
    world.folder.mkdir(parents=True)
    world.prefix = f"faults-{tag}"
    world.service_password = uuid.uuid4().hex
    world.url = pg.create_database(f"hemkoll_faults_{name.replace('-', '_')}_{tag}")
    care_secret, escalation_secret = new_signing_secret(), new_signing_secret()
    with connect(world.url) as conn:
        for i in range(args.devices + probes):
            probe = i >= args.devices
            reference = f"FLT{tag}-{'P' if probe else 'S'}{i:04d}"
            e = enrol_device(
                conn, health_centre_name=CENTRE, patient_reference=reference, device_kind="gateway"
            )
            world.patients.append(
                Patient(reference, str(e.patient.id), str(e.device.id), e.mqtt_password, probe)
            )
            world.centre_id = str(e.health_centre.id)
        conn.execute("UPDATE devices SET enrolled_at = now() - interval '1 day'")
        conn.commit()
    # The centre's endpoints are known once the receiver has its port.
    world.receiver = WebhookReceiver(
        [care_secret, escalation_secret], on_notification=lambda d: _delivered(world, d)
    )
    world.receiver.start()
    with connect(world.url) as conn:
        conn.execute(
            "UPDATE health_centres SET notification_url = %s, signing_secret = %s,"
            " escalation_url = %s, escalation_signing_secret = %s, escalation_contact = %s,"
            " escalate_after = make_interval(secs => %s)",
            (
                world.receiver.url,
                care_secret,
                world.receiver.url,
                escalation_secret,
                ESCALATION_CONTACT,
                args.escalate_after,
            ),
        )
        conn.commit()
    start_broker(world)
    for service in ("ingest", "rules", "dispatch"):
        world.services[service] = Service(service, service, world.env(), world.folder).start()
    wait_for_ingest_session(world)
    return world


def _delivered(world: World, delivery: Delivery) -> None:
    if world.on_delivery is not None:
        world.on_delivery(delivery)


def start_broker(world: World) -> None:
    """deploy/mosquitto/mosquitto.conf with ports and paths moved; the registry's users."""
    auth = world.folder / "auth"
    passwd, acl = auth / "passwd", auth / "acl"
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": world.url,
        "HEMKOLL_MQTT_URL": f"mqtt://{SERVICE_USER}:{world.service_password}@127.0.0.1:1883",
        "HEMKOLL_MQTT_TOPIC_PREFIX": world.prefix,
    }
    subprocess.run(
        [sys.executable, "-m", "hemkoll", "broker-auth", "--password-file", str(passwd),
         "--acl-file", str(acl)],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    tls_port, plain_port = Broker.ports()
    config = render(
        SYSTEMD_CONF,
        world.folder / "broker",
        tls_port=tls_port,
        plain_port=plain_port,
        tls=world.tls,
        passwd=passwd,
        acl=acl,
    )
    world.broker = Broker(config, tls_port, plain_port).start()


def wait_for_ingest_session(world: World, connections: int = 1) -> None:
    """Until the broker has seen ingest connect ``connections`` times (then its SUBSCRIBE)."""
    assert world.broker is not None
    broker = world.broker
    client_id = f"{world.prefix}-ingest"
    wait_for(
        lambda: broker.log_text().count(f" as {client_id} ") >= connections,
        60,
        "ingest to connect to the broker",
    )
    time.sleep(0.2)


# --- the stream ---------------------------------------------------------------------------


def reading(metric: str, unit: str, value: float, at: datetime) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": value,
        "unit": unit,
        "measured_at": at.isoformat(timespec="milliseconds"),
    }


def build_plan(
    world: World, duration_s: float, rate: float, probe_offsets: Sequence[float], seed: int
) -> list[PlannedMessage]:
    """Every device says hello in the first two seconds (so that its connection is up before
    any fault), then the stream at ``rate`` messages/s and the probes at their offsets."""
    rng = random.Random(seed)
    start = datetime.now(UTC) + timedelta(seconds=1)
    stream = [p for p in world.patients if not p.probe]
    probes = world.probes
    plan: list[tuple[float, Patient, str, list[dict[str, Any]]]] = []
    for k, patient in enumerate(world.patients):
        at = 2.0 * k / len(world.patients)
        metric = ("symptom_breathlessness", "{score}", 0) if patient.probe else SESSIONS[0][0]
        plan.append((at, patient, "hello", [reading(*metric, start + timedelta(seconds=at))]))
    count = int(duration_s * rate)
    for n in range(count):
        at = 2.0 + n / rate
        patient = stream[n % len(stream)]
        session = SESSIONS[(n // len(stream)) % len(SESSIONS)]
        when = start + timedelta(seconds=at)
        items = [
            reading(metric, unit, round(value + rng.uniform(-2, 2), 1), when)
            for metric, unit, value in session
        ]
        plan.append((at, patient, f"s{n}", items))
    for probe, offset in zip(probes, probe_offsets, strict=True):
        when = start + timedelta(seconds=offset)
        items = [reading("symptom_breathlessness", "{score}", 3, when)]
        plan.append((offset, probe, "probe", items))
    plan.sort(key=lambda item: item[0])
    out = []
    for at, patient, name, items in plan:
        msg_id = f"{name}-{uuid.uuid4().hex[:8]}"
        for item in items:
            world.published.readings[(patient.device_id, item["metric"], item["measured_at"])] = (
                float(item["value"])
            )
        world.published.messages += 1
        if name == "probe":
            world.published.probe_times.append(world.started_wall + at)
        payload = orjson.dumps({"msg_id": msg_id, "note": CANARY, "readings": items})
        out.append(
            PlannedMessage(
                publish_at=start + timedelta(seconds=at),
                device_key=patient.key,
                patient=patient.reference,
                device_kind="gateway",
                msg_id=msg_id,
                payload=payload,
                reading_count=len(items),
                backlog=False,
                duplicate=False,
                fault=None,
                expected_rejection=None,
                rejected_index=None,
            )
        )
    return out


def start_publisher(world: World, plan: list[PlannedMessage]) -> threading.Thread:
    """The devices publish ``plan`` on the wall clock (each message at its publish_at), resend
    what gets no feedback, and drain; the report is kept on ``world``."""
    assert world.broker is not None
    config = PublisherConfig(
        host="127.0.0.1",
        port=world.broker.plain_port,
        topic_prefix=world.prefix,
        resend_after_s=world.args.resend_after,
        drain_timeout_s=world.args.drain_timeout,
        show_progress=False,
    )
    credentials = {p.key: (p.device_id, p.password) for p in world.patients}
    devices = PlanPublisher(credentials, config, stop=world.stop_publishing)
    world.devices = devices

    def run() -> None:
        started = time.monotonic()
        try:
            for message in plan:
                wait = (message.publish_at - datetime.now(UTC)).total_seconds()
                if not devices.wait_until(time.monotonic() + wait):
                    break
                devices.publish(message)
            devices.drain(config.drain_timeout_s)
            world.report = devices.report(time.monotonic() - started)
        except BaseException as exc:
            world.publisher_error = exc
            raise

    thread = threading.Thread(target=run, name=f"devices-{world.name}", daemon=True)
    thread.start()
    return thread


def probe_offsets(count: int, first: float, every: float) -> list[float]:
    return [first + k * every for k in range(count)]


# --- waiting for the end, and the figures -------------------------------------------------


def settle(world: World, publisher: threading.Thread, timeout_s: float) -> float:
    """Until the devices have feedback for everything, every probe has its alert, every red
    alert is escalated (when escalation falls due within the run) and no notification is
    pending; how long it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    publisher.join(timeout=max(deadline - time.monotonic(), 1))
    if world.publisher_error is not None:
        raise RuntimeError("the devices' publisher failed") from world.publisher_error
    probe_ids = [p.patient_id for p in world.probes]
    last_note = time.monotonic()
    while time.monotonic() < deadline:
        keep_services_up(world)
        alerted, unescalated, pending, next_at = rows(
            world.url,
            """
            SELECT
              (SELECT count(DISTINCT patient_id) FROM alerts
                WHERE patient_id = ANY(%(probes)s::uuid[])),
              (SELECT count(*) FROM alerts WHERE severity = 'red' AND escalated_at IS NULL),
              (SELECT count(*) FROM notifications WHERE state = 'pending'),
              (SELECT to_char(min(next_attempt_at), 'HH24:MI:SS') FROM notifications
                WHERE state = 'pending')
            """,
            {"probes": probe_ids},
        )[0]
        if not expects_escalation(world.args):
            unescalated = 0
        if alerted == len(probe_ids) and unescalated == 0 and pending == 0:
            return time.monotonic() - started
        if time.monotonic() - last_note > 60:
            last_note = time.monotonic()
            say(
                f"  settling: {alerted}/{len(probe_ids)} probes alerted, {unescalated} red "
                f"alerts not yet escalated, {pending} notifications pending (next attempt "
                f"{next_at or '-'} UTC)"
            )
        time.sleep(0.3)
    say(f"  settle timeout after {timeout_s:.0f} s")
    return time.monotonic() - started


def expects_escalation(args: argparse.Namespace) -> bool:
    """Escalation is awaited and checked when it falls due within a run (5 minutes)."""
    return bool(args.escalate_after <= 300)


def keep_services_up(world: World) -> None:
    for service in world.services.values():
        if not service.alive:
            raise RuntimeError(f"{service.name} died on its own:\n{service.tail()}")


def figures(world: World, settle_s: float) -> dict[str, Any]:
    assert world.receiver is not None
    device_ids = [p.device_id for p in world.patients]
    stored = {
        (str(d), m, at.astimezone(UTC).isoformat(timespec="milliseconds")): v
        for d, m, at, v in rows(
            world.url,
            "SELECT device_id, metric, measured_at, value FROM readings"
            " WHERE device_id = ANY(%(d)s::uuid[])",
            {"d": device_ids},
        )
    }
    published = {
        (d, m, datetime.fromisoformat(at).astimezone(UTC).isoformat(timespec="milliseconds")): v
        for (d, m, at), v in world.published.readings.items()
    }
    missing = published.keys() - stored.keys()
    extra = stored.keys() - published.keys()
    differ = sum(1 for k in published.keys() & stored.keys() if stored[k] != published[k])
    rows_beyond_one = one(
        world.url,
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM readings"
        " GROUP BY device_id, metric, measured_at HAVING count(*) > 1) AS d",
    )
    dead_letters = rows(world.url, "SELECT reason_code, count(*) FROM dead_letters GROUP BY 1")
    report = world.report
    readings = {
        "messages_published": world.published.messages,
        "readings_published": len(published),
        "readings_stored": len(stored),
        "missing": len(missing),
        "extra": len(extra),
        "values_differ": differ,
        "rows_beyond_one_per_reading": int(rows_beyond_one),
        "readings_seen_again_deduped": report.duplicates if report else None,
        "messages_resent_by_devices": report.resent if report else None,
        "messages_without_feedback": len(report.unacknowledged) if report else None,
        "dead_letters": dict(dead_letters),
    }

    # Alerts and escalation, from the database.
    alert_rows = rows(
        world.url,
        """
        SELECT a.id::text, a.patient_id::text, a.severity, a.escalated_at IS NOT NULL,
               EXISTS (SELECT 1 FROM alert_events e
                        WHERE e.alert_id = a.id AND e.kind = 'escalated'),
               (SELECT count(*) FROM notifications n
                 WHERE n.alert_id = a.id AND n.channel = 'escalation')
        FROM alerts AS a
        """,
    )
    overdue = one(
        world.url,
        "SELECT count(*) FROM alerts a JOIN patients p ON p.id = a.patient_id"
        " JOIN health_centres hc ON hc.id = p.health_centre_id"
        " WHERE a.state = 'open' AND a.severity = 'red' AND a.escalated_at IS NULL"
        " AND a.severity_since + hc.escalate_after < now() - interval '45 seconds'",
    )
    half = [
        a for a in alert_rows if not (a[3] == a[4] == (a[5] > 0)) or a[5] > 1
    ]  # escalated_at, the event and exactly one notification: all or none
    per_probe = Counter(a[1] for a in alert_rows)
    probes_with_one = sum(1 for p in world.probes if per_probe.get(p.patient_id) == 1)

    # Webhooks: the outbox against what the centre received.
    notification_rows = rows(
        world.url,
        "SELECT id::text, alert_id::text, channel, event, state FROM notifications",
    )
    states = Counter(f"{channel}:{state}" for _, _, channel, _, state in notification_rows)
    webhook_rows = [r for r in notification_rows if r[2] != "device"]
    delivered_ids = {r[0] for r in webhook_rows if r[4] == "delivered"}
    recorder = world.receiver.recorder
    stats = recorder.stats()
    firsts = recorder.notifications()
    received_ids = {d.webhook_id for d in firsts}
    ids_per_event = Counter((d.alert_id, d.event_type) for d in firsts)
    notified_alerts = {d.alert_id for d in firsts if d.event_type == "alert.opened"}
    escalations_received = {d.alert_id for d in firsts if d.event_type == "alert.escalated"}
    red = [a for a in alert_rows if a[2] == "red"]
    alerts = {
        "alerts": len(alert_rows),
        "probe_patients": len(world.probes),
        "probe_patients_with_one_alert": probes_with_one,
        "alerts_notified_at_centre": len({a[0] for a in alert_rows} & notified_alerts),
        "red_alerts": len(red),
        "escalation_expected": expects_escalation(world.args),
        "red_alerts_escalated": sum(1 for a in red if a[3]),
        "escalations_received_at_centre": len({a[0] for a in red} & escalations_received),
        "half_escalated": len(half),
        "overdue_not_escalated": int(overdue),
    }
    webhooks = {
        "notifications_by_channel_and_state": dict(sorted(states.items())),
        "deliveries_at_centre": stats.deliveries,
        "distinct_webhook_ids_at_centre": stats.notifications,
        "deliveries_beyond_first_deduped": stats.duplicates,
        "max_webhook_ids_per_alert_event": max(ids_per_event.values(), default=0),
        "signatures_refused": dict(stats.rejected),
        "answers_by_status": {str(k): v for k, v in sorted(stats.statuses.items())},
        "received_not_delivered_in_db": len(received_ids - delivered_ids),
        "delivered_in_db_not_received": len(delivered_ids - received_ids),
    }
    services = {
        name: {"starts": s.starts, "kills": s.kills, "alive_at_end": s.alive}
        for name, s in world.services.items()
    }
    leaks = scan_logs(world)
    return {
        "scenario": world.name,
        "faults": world.faults,
        "settle_s": round(settle_s, 1),
        "readings": readings,
        "alerts": alerts,
        "webhooks": webhooks,
        "services": services,
        "log_leaks": leaks,
    }


def scan_logs(world: World) -> dict[str, int]:
    """Patient references and the payload canary in the services' and the broker's logs."""
    needles = [CANARY, *(p.reference for p in world.patients)]
    hits: dict[str, int] = {}
    logs = [s.log_path for s in world.services.values()]
    if world.broker is not None:
        logs.append(world.broker.log)
    for path in logs:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        count = sum(text.count(needle) for needle in needles)
        if count:
            hits[path.name] = count
    return hits


def checks(result: dict[str, Any]) -> list[str]:
    """The guarantees; each failed one as a sentence."""
    r, a, w = result["readings"], result["alerts"], result["webhooks"]
    failed = []

    def must(ok: bool, text: str) -> None:
        if not ok:
            failed.append(text)

    must(r["readings_stored"] == r["readings_published"], "stored != published")
    must(r["missing"] == 0, f"{r['missing']} readings missing")
    must(r["extra"] == 0, f"{r['extra']} readings stored that were never published")
    must(r["values_differ"] == 0, f"{r['values_differ']} stored values differ")
    must(r["rows_beyond_one_per_reading"] == 0, "a reading stored twice")
    must(not r["dead_letters"], f"dead letters: {r['dead_letters']}")
    must(r["messages_without_feedback"] == 0, "messages without feedback at the end")
    must(
        a["probe_patients_with_one_alert"] == a["probe_patients"],
        "a probe patient without exactly one alert",
    )
    must(a["alerts_notified_at_centre"] == a["alerts"], "an alert the centre was never told of")
    if a["escalation_expected"]:
        must(a["red_alerts_escalated"] == a["red_alerts"], "a red alert not escalated")
    must(
        a["escalations_received_at_centre"] == a["red_alerts_escalated"],
        "an escalation the escalation contact never received",
    )
    must(a["half_escalated"] == 0, f"{a['half_escalated']} alerts half-escalated")
    must(a["overdue_not_escalated"] == 0, "red alerts overdue and not escalated")
    bad_states = {
        k: v
        for k, v in w["notifications_by_channel_and_state"].items()
        if not k.endswith(":delivered")
    }
    must(not bad_states, f"notifications not delivered: {bad_states}")
    must(w["max_webhook_ids_per_alert_event"] <= 1, "one alert event sent under two webhook-ids")
    must(not w["signatures_refused"], f"signatures refused: {w['signatures_refused']}")
    must(w["received_not_delivered_in_db"] == 0, "received, but not delivered in the database")
    must(w["delivered_in_db_not_received"] == 0, "delivered in the database, never received")
    for name, s in result["services"].items():
        must(s["alive_at_end"], f"{name} not running at the end")
    must(not result["log_leaks"], f"patient data in logs: {result['log_leaks']}")
    for extra in result.get("extra_checks", []):
        failed.append(extra)
    return failed


def teardown(world: World) -> dict[str, int | None]:
    world.stop_publishing.set()
    if world.devices is not None:
        # paho's loop_stop takes up to a second per device: not on the bench's time.
        threading.Thread(target=world.devices.close, name="devices-close", daemon=True).start()
    for service in world.services.values():
        service.terminate()  # all at once; each finishes the work in hand
    codes = {}
    for name, service in world.services.items():
        t = time.monotonic()
        codes[name] = service.stop()
        log.info("stopped %s in %.1f s", name, time.monotonic() - t)
    t = time.monotonic()
    if world.receiver is not None:
        world.receiver.stop()
    log.info("stopped receiver in %.1f s", time.monotonic() - t)
    t = time.monotonic()
    if world.broker is not None:
        world.broker.stop()
    log.info("stopped broker in %.1f s", time.monotonic() - t)
    return codes


# --- scenarios ----------------------------------------------------------------------------


def scenario_ingest_kill(world: World) -> threading.Thread:
    args = world.args
    duration = max(args.stream, args.kills * 4.0 + 6)
    offsets = probe_offsets(args.probes, 4.0, (duration - 4.0) / max(args.probes, 1))
    plan = build_plan(world, duration, args.rate, offsets, args.seed)
    publisher = start_publisher(world, plan)
    rng = random.Random(args.seed)
    time.sleep(4.0)  # every device has said hello
    mid_stream = 0
    ingest = world.ingest
    connections = 1
    how: Counter[str] = Counter()
    for k in range(args.kills):
        # In turn: right after its first commit since it (re)started, which holds what the
        # broker queued during the restart (so that the kill lands before all of that batch's
        # acknowledgements and feedback have gone out, and the broker hands the committed
        # messages over again); right after it connected; anywhere in the stream.
        if k % 3 != 0:
            time.sleep(rng.uniform(1.0, 2.5))
        if k % 3 == 0 and kill_right_after_commit(world):
            how["right after a commit"] += 1
        else:
            if k % 3 == 1:
                time.sleep(rng.uniform(0.0, 0.2))  # (it has just connected)
            ingest.kill()
            how["anywhere in the stream"] += 1
        if publisher.is_alive():
            mid_stream += 1
        ingest.start()
        connections += 1
        wait_for_ingest_session(world, connections)
    world.faults = {"ingest_sigkills": ingest.kills, "while_streaming": mid_stream, **how}
    return publisher


def kill_right_after_commit(world: World, timeout_s: float = 5.0) -> bool:
    """SIGKILL ingest the moment its connection has committed a batch (polled); False if no
    commit was seen in time (then it is not killed here)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(world.url, autocommit=True) as conn:
        backend = None
        in_batch = False
        while time.monotonic() < deadline:
            if backend is None:
                # Ingest's connection is the one that writes the staging table.
                found = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query ILIKE '%%staging%%' AND pid <> pg_backend_pid() LIMIT 1"
                ).fetchone()
                backend = found[0] if found else None
                continue
            row = conn.execute(
                "SELECT state, query FROM pg_stat_activity WHERE pid = %s", (backend,)
            ).fetchone()
            if row is None:
                return False
            state, text = row
            if state != "idle":
                in_batch = True
            elif in_batch and text == "COMMIT":
                world.ingest.kill()
                return True
    return False


def scenario_broker_restart(world: World) -> threading.Thread:
    args = world.args
    duration = max(args.stream, 20.0)
    offsets = probe_offsets(args.probes, 4.0, (duration - 4.0) / max(args.probes, 1))
    plan = build_plan(world, duration, args.rate, offsets, args.seed)
    publisher = start_publisher(world, plan)
    assert world.broker is not None
    broker = world.broker
    time.sleep(duration * 0.3)
    broker.stop()  # SIGTERM: Mosquitto saves its persistence file on the way out
    time.sleep(args.broker_down)
    broker.start()
    time.sleep(duration * 0.3)
    broker.kill9()  # no save: what persistence wrote on the last autosave is what comes back
    time.sleep(args.broker_down)
    broker.start()
    world.faults = {
        "broker_restarts": {"clean (SIGTERM)": 1, "kill -9": 1},
        "down_s_each": args.broker_down,
        "while_streaming": publisher.is_alive(),
    }
    return publisher


def ingest_transaction_open(world: World) -> bool:
    """Whether ingest's connection is inside a transaction (a batch being written)."""
    state = one(
        world.url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        " AND query ILIKE '%%staging%%'",
    )
    return bool(state)


def scenario_postgres_restart(world: World) -> threading.Thread:
    args = world.args
    duration = max(args.stream, 20.0)
    offsets = probe_offsets(args.probes, 4.0, (duration - 4.0) / max(args.probes, 1))
    plan = build_plan(world, duration, args.rate, offsets, args.seed)
    publisher = start_publisher(world, plan)
    caught = []
    for action in (world.pg.restart_fast, world.pg.crash_and_start):
        time.sleep(duration * 0.3)
        deadline = time.monotonic() + 10
        hit = False
        while time.monotonic() < deadline and not (hit := ingest_transaction_open(world)):
            time.sleep(0.005)
        caught.append(hit)
        action()
    world.faults = {
        "postgres_restarts": list(world.pg.restarts[-2:]),
        "ingest_transaction_open_at_restart": caught,
        "while_streaming": publisher.is_alive(),
    }
    return publisher


def scenario_endpoint(world: World) -> threading.Thread:
    args = world.args
    assert world.receiver is not None
    receiver = world.receiver
    warm = args.warm
    phases: list[tuple[str, float, Mode | None]] = [
        ("down", args.outage, None),
        (f"slow {args.slow_delay:g} s", args.phase / 2, Mode.slow(args.slow_delay)),
        (f"slow {args.slow_timeout_delay:g} s", args.phase / 2, Mode.slow(args.slow_timeout_delay)),
        ("500", args.phase, Mode.fail(500)),
        (f"429 Retry-After {args.retry_after}", args.phase, Mode.throttle(args.retry_after)),
    ]
    duration = warm + sum(p[1] for p in phases) + args.tail
    count = int((duration - 4) // args.probe_every)
    offsets = probe_offsets(count, 4.0, args.probe_every)
    # Probes beyond those enrolled are not sent (build_world enrolled enough).
    plan = build_plan(world, duration, args.endpoint_rate, offsets[: len(world.probes)], args.seed)
    publisher = start_publisher(world, plan)
    time.sleep(warm)
    timeline = []
    for name, seconds, mode in phases:
        began = time.time()
        if mode is None:
            receiver.stop()
        else:
            if not receiver.running:
                receiver.start()
            receiver.set_mode(mode)
        say(f"  endpoint {name} for {seconds:.0f} s")
        time.sleep(seconds)
        timeline.append({"phase": name, "seconds": round(time.time() - began)})
    if not receiver.running:
        receiver.start()
    receiver.set_mode(Mode.normal())
    world.faults = {"phases": timeline, "recovered_at": time.time()}
    if args.fast_forward:
        # What an administrator's saving of the endpoint does (the API calls this): pending
        # webhooks due now instead of at their next step. After the last Retry-After has run
        # out, so that the 429s are answered by the schedule itself.
        time.sleep(args.retry_after + 1)
        with connect(world.url) as conn:
            nudged = notification_store.retry_pending_now(conn, uuid.UUID(world.centre_id))
        world.faults["fast_forward_retried_now"] = nudged
        world.faults["fast_forward_at"] = time.time()
    return publisher


def endpoint_extra(world: World) -> tuple[dict[str, Any], list[str]]:
    """Retry-After honoured; when the last webhook arrived after the endpoint recovered."""
    gaps = rows(
        world.url,
        """
        SELECT extract(epoch FROM nxt.started_at - a.started_at)::float8 - a.duration_ms / 1e3
        FROM notification_attempts AS a
        JOIN LATERAL (SELECT b.started_at FROM notification_attempts AS b
                      WHERE b.notification_id = a.notification_id AND b.attempt > a.attempt
                      ORDER BY b.attempt LIMIT 1) AS nxt ON true
        WHERE a.status_code = 429
          AND nxt.started_at < to_timestamp(%(nudged)s)
        """,
        {"nudged": float(world.faults.get("fast_forward_at", 4e9))},
    )
    throttled = [g[0] for g in gaps]
    last = one(
        world.url,
        "SELECT extract(epoch FROM max(delivered_at))::float8 FROM notifications"
        " WHERE channel <> 'device'",
    )
    recovered = float(world.faults.get("recovered_at", 0))
    attempts = rows(
        world.url,
        "SELECT coalesce(status_code::text, 'no answer'), count(*) FROM notification_attempts"
        " a JOIN notifications n ON n.id = a.notification_id WHERE n.channel <> 'device'"
        " GROUP BY 1 ORDER BY 1",
    )
    extra = {
        "webhook_attempts_by_answer": dict(attempts),
        "answers_429": len(throttled),
        "min_s_from_429_to_next_attempt": round(min(throttled), 1) if throttled else None,
        "retry_after_s": world.args.retry_after,
        "last_webhook_s_after_recovery": round(last - recovered, 1) if last else None,
    }
    failed = []
    if throttled and min(throttled) < world.args.retry_after - 1:
        failed.append("a 429's Retry-After was not honoured")
    if not throttled:
        failed.append("no attempt was answered 429 (the phase was too short?)")
    return extra, failed


def scenario_dispatcher_kill(world: World) -> threading.Thread:
    args = world.args
    assert world.receiver is not None
    receiver = world.receiver
    kills: list[dict[str, Any]] = []
    lock = threading.Lock()
    dispatcher = world.dispatcher

    def kill_on_record(delivery: Delivery) -> None:
        # On the receiver's event loop, after the delivery is recorded and before the answer
        # is written: the dispatcher has sent it and will never record it.
        with lock:
            if len(kills) >= args.kills_on_record or delivery.duplicate or not dispatcher.alive:
                return
            os.kill(dispatcher.pid, signal.SIGKILL)
            kills.append({"when": "recorded by the receiver", "event": delivery.event_type})

    count = probes_needed("dispatcher-kill", args)
    duration = 4.0 + count * 5.0 + 3.0
    offsets = probe_offsets(count, 4.0, 5.0)
    plan = build_plan(world, duration, args.rate / 4, offsets[: len(world.probes)], args.seed)
    world.on_delivery = kill_on_record
    publisher = start_publisher(world, plan)
    in_flight_kills = 0
    killed_at: list[float] = []
    deadline = time.monotonic() + duration + 120
    while time.monotonic() < deadline:
        with lock:
            done_on_record = len(kills) >= args.kills_on_record
        if not dispatcher.alive:
            dispatcher.process.wait()  # type: ignore[union-attr]
            dispatcher.kills += 1
            killed_at.append(time.time())
            dispatcher.start()
            expire_leases(world, killed_at[-1])
        if done_on_record and in_flight_kills < args.kills_in_flight:
            receiver.set_mode(Mode.slow(args.slow_delay + 2))
            if webhook_in_flight(world):
                time.sleep(1.0)  # the request is at the receiver, held open
                dispatcher.kill()
                killed_at.append(time.time())
                with lock:
                    kills.append({"when": "send in flight (slow receiver)", "event": None})
                in_flight_kills += 1
                receiver.set_mode(Mode.normal())
                dispatcher.start()
                expire_leases(world, killed_at[-1])
        if done_on_record and in_flight_kills >= args.kills_in_flight:
            break
        time.sleep(0.05)
    receiver.set_mode(Mode.normal())
    world.on_delivery = None
    world.faults = {
        "dispatcher_sigkills": len(kills),
        "how": dict(Counter(k["when"] for k in kills)),
        "lease_s": LEASE_S,
        "leases_fast_forwarded": bool(args.fast_forward),
    }
    return publisher


def webhook_in_flight(world: World) -> bool:
    return bool(
        one(
            world.url,
            "SELECT count(*) FROM notifications WHERE state = 'pending'"
            " AND channel <> 'device' AND lease_until > clock_timestamp()",
        )
    )


def expire_leases(world: World, killed_at: float) -> None:
    """--fast-forward: the leases the killed dispatcher held run out now, not LEASE_S later.

    Only leases taken before the kill (a lease ends LEASE_S after its claim): the new
    dispatcher's own are left alone.
    """
    if not world.args.fast_forward:
        return
    with connect(world.url) as conn:
        conn.execute(
            "UPDATE notifications SET lease_until = clock_timestamp() - interval '1 ms'"
            " WHERE state = 'pending' AND lease_until IS NOT NULL"
            " AND lease_until <= to_timestamp(%s) + make_interval(secs => %s)",
            (killed_at, LEASE_S),
        )
        conn.execute(query("notify_dispatch"))
        conn.commit()


RUNNERS: dict[str, Callable[[World], threading.Thread]] = {
    "ingest-kill": scenario_ingest_kill,
    "broker-restart": scenario_broker_restart,
    "postgres-restart": scenario_postgres_restart,
    "endpoint": scenario_endpoint,
    "dispatcher-kill": scenario_dispatcher_kill,
}


def probes_needed(name: str, args: argparse.Namespace) -> int:
    if name == "endpoint":
        duration = args.warm + args.outage + 3 * args.phase + args.tail
        return max(int((duration - 4) // args.probe_every), 1)
    if name == "dispatcher-kill":
        return args.kills_on_record + args.kills_in_flight + 1
    return args.probes


def run_scenario(
    name: str, args: argparse.Namespace, pg: OwnPostgres, tls: Tls, workdir: Path
) -> dict[str, Any]:
    say(f"scenario {name}")
    began = time.monotonic()
    world = build_world(name, args, pg, tls, workdir, probes=probes_needed(name, args))
    say(f"  set up in {time.monotonic() - began:.1f} s")
    world.started_wall = time.time()
    try:
        publisher = RUNNERS[name](world)
        timeout = args.settle_timeout
        if name == "endpoint" and not args.fast_forward:
            timeout = max(timeout, 45 * 60)  # the 30-minute step of the schedule, with jitter
        say(f"  faults done at {time.monotonic() - began:.1f} s; settling")
        settle_s = settle(world, publisher, timeout)
        result = figures(world, settle_s)
        if name == "endpoint":
            extra, failed = endpoint_extra(world)
            result["endpoint"] = extra
            result["extra_checks"] = failed
    finally:
        stopping = time.monotonic()
        codes = teardown(world)
        say(f"  stopped in {time.monotonic() - stopping:.1f} s")
    result["exit_codes_on_sigterm"] = codes
    for service, code in codes.items():
        if code not in (0, None):
            result.setdefault("extra_checks", []).append(f"{service} exited {code} on SIGTERM")
    result["failed"] = checks(result)
    if not args.keep:
        dbname = psycopg.conninfo.conninfo_to_dict(world.url)["dbname"]
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(pg.admin_url, autocommit=True) as conn,
        ):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(str(dbname))
                )
            )
    return result


# --- output -------------------------------------------------------------------------------


def print_result(result: dict[str, Any]) -> None:
    r, a, w = result["readings"], result["alerts"], result["webhooks"]
    verdict = "PASS" if not result["failed"] else "FAIL: " + "; ".join(result["failed"])
    print(f"\n== {result['scenario']}: {verdict}")
    print(f"   faults     {json.dumps(result['faults'], default=str)}")
    print(
        f"   readings   published {r['readings_published']:,} in {r['messages_published']:,} "
        f"messages, stored {r['readings_stored']:,}; missing {r['missing']}, extra "
        f"{r['extra']}, values differ {r['values_differ']}, rows beyond one per reading "
        f"{r['rows_beyond_one_per_reading']}"
    )
    print(
        f"              seen again and deduped {r['readings_seen_again_deduped']}, messages "
        f"resent by devices {r['messages_resent_by_devices']}, without feedback "
        f"{r['messages_without_feedback']}, dead letters {r['dead_letters'] or 0}"
    )
    print(
        f"   alerts     {a['alerts']} opened ({a['probe_patients_with_one_alert']}/"
        f"{a['probe_patients']} probes with exactly one), {a['alerts_notified_at_centre']} "
        f"notified at the centre; red {a['red_alerts']}, escalated "
        f"{a['red_alerts_escalated']}, escalations received {a['escalations_received_at_centre']}"
        f"; half-escalated {a['half_escalated']}, overdue {a['overdue_not_escalated']}"
    )
    print(
        f"   webhooks   {w['deliveries_at_centre']} deliveries of "
        f"{w['distinct_webhook_ids_at_centre']} webhook-ids "
        f"({w['deliveries_beyond_first_deduped']} repeats deduped by the receiver), "
        f"max ids per alert event "
        f"{w['max_webhook_ids_per_alert_event']}, refused {w['signatures_refused'] or 0}, "
        f"answers {w['answers_by_status']}"
    )
    print(f"              outbox {w['notifications_by_channel_and_state']}")
    if "endpoint" in result:
        print(f"   endpoint   {json.dumps(result['endpoint'])}")
    services = ", ".join(
        f"{n} {s['starts']} starts{' ALIVE' if s['alive_at_end'] else ' DEAD'}"
        for n, s in result["services"].items()
    )
    print(f"   services   {services}; settled in {result['settle_s']} s")
    print(f"   logs       patient data found: {result['log_leaks'] or 'none'}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenarios", default="all", help=f"comma-separated of {', '.join(SCENARIOS)}")
    p.add_argument("--quick", action="store_true", help="the short version (CI)")
    p.add_argument("--devices", type=int, default=30, help="streaming patients (30)")
    p.add_argument("--rate", type=float, default=40.0, help="stream messages/s (40)")
    p.add_argument("--stream", type=float, default=60.0, help="stream seconds, at least (60)")
    p.add_argument("--probes", type=int, default=6, help="alert probes per scenario (6)")
    p.add_argument("--kills", type=int, default=10, help="ingest SIGKILLs (10)")
    p.add_argument("--broker-down", type=float, default=3.0, help="seconds the broker is down")
    p.add_argument("--outage", type=float, default=600.0, help="endpoint down, seconds (600)")
    p.add_argument("--phase", type=float, default=60.0, help="slow, 500 and 429 phases, s (60)")
    p.add_argument("--slow-delay", type=float, default=3.0, help="slow answer within timeout")
    p.add_argument("--slow-timeout-delay", type=float, default=12.0, help="slow beyond timeout")
    p.add_argument("--retry-after", type=int, default=30, help="429's Retry-After, s (30)")
    p.add_argument("--probe-every", type=float, default=20.0, help="endpoint probes every s")
    p.add_argument("--warm", type=float, default=20.0, help="endpoint normal before the outage")
    p.add_argument("--tail", type=float, default=20.0, help="endpoint stream after the phases")
    p.add_argument("--endpoint-rate", type=float, default=5.0, help="endpoint stream msgs/s")
    p.add_argument("--kills-on-record", type=int, default=3)
    p.add_argument("--kills-in-flight", type=int, default=2)
    p.add_argument("--escalate-after", type=int, default=60, help="seconds (>= 60)")
    p.add_argument("--resend-after", type=float, default=10.0, help="devices' resend wait, s")
    p.add_argument("--drain-timeout", type=float, default=300.0)
    p.add_argument("--settle-timeout", type=float, default=600.0)
    p.add_argument("--fast-forward", action="store_true", help="see the description")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument("--keep", action="store_true", help="keep the work folder and databases")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if args.quick:
        # Short phases; escalation (60 s at the least) is left to the full run.
        args.fast_forward = True
        args.devices, args.rate, args.stream, args.probes = 10, 25.0, 12.0, 2
        args.kills, args.broker_down = 2, 2.0
        args.warm, args.outage, args.phase, args.tail = 4.0, 10.0, 8.0, 4.0
        args.retry_after, args.probe_every = 8, 3.0
        args.slow_delay, args.slow_timeout_delay = 1.0, 11.0
        args.kills_on_record, args.kills_in_flight = 1, 1
        args.escalate_after = 7 * 86400
        args.resend_after, args.settle_timeout = 5.0, 120.0
    args.names = SCENARIOS if args.scenarios == "all" else tuple(args.scenarios.split(","))
    unknown = set(args.names) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not 60 <= args.escalate_after <= 7 * 86400:
        p.error("--escalate-after is 60 s to 7 days (the schema's bounds)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="hemkoll-faults-"))
    logging.basicConfig(
        level=logging.WARNING,
        filename=workdir / "bench.log",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    say(f"work folder {workdir}; scenarios {', '.join(args.names)}")
    pg = OwnPostgres().start()
    say(f"own PostgreSQL on port {pg.port} ({pg.folder})")
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        tls = tls_material(workdir / "tls")
        for name in args.names:
            try:
                result = run_scenario(name, args, pg, tls, workdir)
            except Exception as exc:
                log.exception("scenario %s failed", name)
                say(f"scenario {name} crashed: {exc!r} (details in {workdir}/bench.log)")
                results.append({"scenario": name, "failed": [f"crashed: {exc!r}"]})
                continue
            print_result(result)
            results.append(result)
    finally:
        pg.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    failed = [r["scenario"] for r in results if r["failed"]]
    load = os.getloadavg()
    print(
        f"\n{len(results)} scenarios in {elapsed / 60:.1f} min, "
        f"{'all passed' if not failed else 'FAILED: ' + ', '.join(failed)}; "
        f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    if args.json:
        args.json.write_bytes(
            orjson.dumps(
                {
                    "args": {k: v for k, v in vars(args).items() if k != "json"},
                    "elapsed_s": round(elapsed),
                    "loadavg": load,
                    "results": results,
                },
                option=orjson.OPT_INDENT_2,
                default=str,
            )
        )
    return 1 if failed or len(results) < len(args.names) else 0


if __name__ == "__main__":
    sys.exit(main())
