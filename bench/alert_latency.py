"""Alert latency under background load: a reading published -> the signed webhook received.

    .venv/bin/python bench/alert_latency.py [--background-rate 300] [--background-devices 1000]
        [--probes 200] [--duration 120] [--rules-workers 1] [--dispatchers 1]

Goal (the issue): p99 from a reading published to the signed webhook received <= 1 s under
background load.

Everything is real and separate, as in production: a database of the bench's own (created,
migrated with hemkoll.store.migrate, dropped at the end), a Mosquitto of its own with the
project's limits (LocalMosquitto), and ``python -m hemkoll ingest``, ``hemkoll rules`` (the
HEART_FAILURE preset, the command as deployed) and ``hemkoll dispatch``, each its own process.
The health centre is the simulator's WebhookReceiver (in this process), which verifies every
Standard Webhooks signature and records the time each delivery reached it.

Load:
  background  --background-devices patients (one gateway each, --history-days of daily in-range
              readings already stored, so that each evaluation reads a realistic history) publish
              in-range measurement sessions (a weight; BP + heart rate; SpO2 + heart rate) at
              --background-rate readings/s in total, from --publishers lean raw-socket QoS-1
              publisher processes (bench/lean_publisher.py, little CPU). Every such message is
              stored, queues its patient for evaluation and makes the rules worker queue a
              "readings look as usual" device message that the dispatcher publishes: the
              background loads every stage the probes pass through.
  probes      --probes further patients each publish ONE message, spread over --duration
              seconds (one per slot, at a random point in it), from a paho client (as devices
              publish) in its own process, which notes time.time() just before publish().

The probe must open an alert on its own, at once, with the rules as ``hemkoll rules`` runs
them. The preset's vital-sign limits (SpO2 < 90 %, heart rate, systolic BP) need two readings in
a row outside the band, so one such reading opens nothing. The default probe is therefore one
answer of severe breathlessness (symptom_breathlessness = 3, "at rest"): the preset's
breathlessness_at_rest rule opens a red alert on that single reading (SymptomRule, red_score 3,
no gating). ``--probe spo2`` sends instead one message from a pulse oximeter carrying two SpO2
readings of 86 and 85 % a minute apart, which opens the red spo2_urgent alert. Either way each
probe patient gets exactly one alert, so exactly one ``alert.opened`` webhook, matched to its
probe by the payload's data.patient_id; its latency is the receiver's time minus the probe's
publish time (one clock: everything runs on this machine).

Printed: the background rate achieved and the readings stored; the probes' webhooks (missing,
duplicates, refused signatures, unexpected ones); latency count, p50, p90, p99, max and the
verdict; where the time went per probe, from the database's own timestamps (ingest's write,
the rules evaluation, the outbox row, the dispatcher's attempt); latency per quarter of the run
(a backlog that grows shows there); CPU seconds per process and the whole machine's, since the
machine may be shared. Progress lines go to stderr every few seconds.

Reading the figures: the "rules" line compares the evaluations done per second (counted by the
"readings look as usual" device messages they write: a lower bound) with the patients the
background queues per second (one per message). When the workers fall behind, the queue fills
to about the number of background patients, and since a patient queued again moves to the back
(enqueue_staged_patients sets requested_at anew), a probe then waits about one background
publish cycle (--background-devices / messages per second, 6.7 s by default) rather than for
the whole queue: the bench's small, busy patient set caps a backlog that with many patients
measuring once would keep growing. Compare the quarters of the run to see whether it grows.

Every process started here (services, publishers, broker) is stopped with SIGTERM, then killed
after a timeout, on success, error and Ctrl-C alike; the database is dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing as mp
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Any

import lean_publisher
import numpy as np
import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from psycopg import sql

from hemkoll.ingest.local_broker import LocalMosquitto
from hemkoll.ingest.protocol import readings_topic
from hemkoll.simulator.receiver import Delivery, WebhookReceiver
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.health_centres import new_signing_secret
from hemkoll.store.migrate import migrate

ADMIN_URL = os.environ.get(
    "HEMKOLL_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
GOAL_P99_S = 1.0
CENTRE = "Bench VC latency"
BG_PREFIX = "BG-"  # patient references: background, probe, warm-up
PROBE_PREFIX = "PROBE-"
WARMUP_REF = "WARMUP-1"
# The probe kinds: the rule that opens the alert, the metric stored, the readings sent.
PROBE_RULES = {"breathlessness": "breathlessness_at_rest", "spo2": "spo2_urgent"}
PROBE_METRICS = {"breathlessness": "symptom_breathlessness", "spo2": "spo2"}
# Background measurement sessions, one message each: (metric, unit, mean, sd) per reading.
SESSIONS: tuple[tuple[tuple[str, str, float, float], ...], ...] = (
    (("body_weight", "kg", 0.0, 0.2),),  # mean: the patient's own weight
    (
        ("systolic_bp", "mm[Hg]", 128.0, 8.0),
        ("diastolic_bp", "mm[Hg]", 78.0, 5.0),
        ("heart_rate", "/min", 70.0, 5.0),
    ),
    (("spo2", "%", 96.5, 0.8), ("heart_rate", "/min", 71.0, 5.0)),
)
# Clamp background values well inside the preset's limits (BP 80-170, HR 40-110, SpO2 >= 90).
CLAMP = {
    "systolic_bp": (105.0, 150.0),
    "diastolic_bp": (62.0, 92.0),
    "heart_rate": (55.0, 95.0),
    "spo2": (93.0, 99.0),
}
# The background publisher's pacing tick.
TICK_S = 0.01
PROGRESS_INTERVAL_S = 5.0
STOP_TIMEOUT_S = 20.0
SLOW_STOP_S = 3.0  # a shutdown step slower than this is reported
READY_TIMEOUT_S = 60.0


# --- database -----------------------------------------------------------------------------


def fresh_database() -> str:
    name = f"hemkoll_bench_{uuid.uuid4().hex[:8]}_latency"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)


def drop_database(url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


@dataclass(frozen=True)
class Enrolled:
    patient_id: str
    device_id: str
    weight: float  # the patient's usual weight (background and history)


def enrol_all(url: str, refs: Sequence[str], history_days: int, seed: int) -> list[Enrolled]:
    """One gateway per patient, enrolled (backdated) before its history starts."""
    rng = np.random.default_rng(seed)
    out = []
    with connect(url) as conn:
        for ref in refs:
            e = enrol_device(
                conn, health_centre_name=CENTRE, patient_reference=ref, device_kind="gateway"
            )
            out.append(Enrolled(str(e.patient.id), str(e.device.id), float(rng.uniform(60, 100))))
        conn.execute(
            "UPDATE devices SET enrolled_at = now() - make_interval(days => %s)",
            (history_days + 2,),
        )
        conn.commit()
    return out


def seed_history(url: str, patients: Sequence[Enrolled], days: int, seed: int) -> int:
    """Daily in-range readings for ``days`` days up to yesterday, written straight to the store.

    The rules worker reads up to 92 days per evaluation (the preset's required history): a
    patient with no history would make every evaluation artificially cheap. Nothing here fires
    a rule (checked after the warm-up): weight within +-0.2 kg of the usual, every day, so
    neither the weight trend nor a missing-measurement rule has anything to say.
    """
    if days <= 0:
        return 0
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY readings (patient_id, device_id, metric, value, measured_at) FROM STDIN"
        ) as copy:
            for p in patients:
                for day in range(days, 0, -1):
                    at = now - timedelta(days=day, minutes=float(rng.uniform(-90, 90)))
                    for s, session in enumerate(SESSIONS):
                        t = at + timedelta(minutes=5 * s)
                        for metric, _unit, mean, sd in session:
                            copy.write_row(
                                (
                                    p.patient_id,
                                    p.device_id,
                                    metric,
                                    _value(rng, p.weight, metric, mean, sd),
                                    t,
                                )
                            )
                            rows += 1
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return rows


def _value(rng: np.random.Generator, weight: float, metric: str, mean: float, sd: float) -> float:
    """An in-range value: weight about the patient's own, the rest clamped inside the limits."""
    if metric == "body_weight":
        return round(weight + float(rng.normal(0, sd)), 1)
    low, high = CLAMP[metric]
    return round(min(max(mean + float(rng.normal(0, sd)), low), high))


def scalar(url: str, query: str, params: dict[str, Any] | None = None) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params or {}).fetchone()
    return None if row is None else row[0]


# --- processes ----------------------------------------------------------------------------


class Service:
    """``python -m hemkoll <command>`` with its output in a log file."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hemkoll", command],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"  {self.name}| {line}" for line in text[-lines:])

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, timeout: float) -> None:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"{self.name} did not stop in {timeout:.0f} s; killing it", file=sys.stderr)
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


def stop_services(services: Sequence[Service]) -> None:
    for s in services:
        s.terminate()
    for s in services:
        s.wait_or_kill(STOP_TIMEOUT_S)


def stop_processes(procs: Sequence[Any]) -> None:
    """multiprocessing children: asked via their stop event already; then SIGTERM, then kill."""
    for p in procs:
        p.join(timeout=STOP_TIMEOUT_S)
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)


class Interrupted(Exception):
    pass


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


# --- background publisher (a process of its own) ---------------------------------------


@dataclass(frozen=True)
class BackgroundJob:
    host: str
    port: int
    client_id: str
    prefix: str
    devices: tuple[tuple[str, float], ...]  # (device id, usual weight)
    rate: float  # readings/s
    seed: int


@dataclass(frozen=True)
class BackgroundResult:
    first: float
    last: float
    messages: int
    readings: int
    acked: int


def background_publisher(job: BackgroundJob, go: Any, stop: Any, sent: Any, out: Any) -> None:
    """Publish in-range sessions at ``job.rate`` readings/s until ``stop``; report totals."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    rng = np.random.default_rng(job.seed)
    n = len(job.devices)
    order = rng.permutation(n)
    topics = [readings_topic(job.prefix, d) for d, _ in job.devices]
    last_at = [0.0] * n
    session_no = [int(k) for k in rng.integers(0, len(SESSIONS), n)]
    with socket.create_connection((job.host, job.port)) as sock:
        lean_publisher.handshake(sock, job.client_id, keepalive=0)
        go.wait()
        start = time.monotonic()
        first = time.time()
        last = first
        messages = readings = acked = 0
        pending = b""
        while not stop.is_set():
            due = job.rate * (time.monotonic() - start)
            chunk = bytearray()
            while readings < due:
                i = int(order[messages % n])
                session = SESSIONS[session_no[i] % len(SESSIONS)]
                session_no[i] += 1
                now = time.time()
                t = max(now, last_at[i] + 0.001)
                last_at[i] = t
                at = datetime.fromtimestamp(t, UTC).isoformat()
                items = [
                    {
                        "metric": metric,
                        "value": _value(rng, job.devices[i][1], metric, mean, sd),
                        "unit": unit,
                        "measured_at": at,
                    }
                    for metric, unit, mean, sd in session
                ]
                payload = orjson.dumps({"msg_id": uuid.uuid4().hex, "readings": items})
                chunk += lean_publisher.publish_packet(topics[i], payload, messages % 65535 + 1)
                messages += 1
                readings += len(items)
            if chunk:
                sock.sendall(chunk)
                last = time.time()
                sent.value = readings
            pending, count = lean_publisher.drain_pubacks(sock, pending, 0.0)
            acked += count
            stop.wait(TICK_S)
        deadline = time.monotonic() + 30
        while acked < messages and time.monotonic() < deadline:
            pending, count = lean_publisher.drain_pubacks(sock, pending, 0.5)
            acked += count
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    # Plain tuples across processes (a spawned child's classes live in __mp_main__).
    out.put((first, last, messages, readings, acked))


# --- probe publisher (a process of its own) --------------------------------------------


@dataclass(frozen=True)
class ProbeJob:
    host: str
    port: int
    client_id: str
    prefix: str
    kind: str
    devices: tuple[tuple[str, str], ...]  # (patient id, device id), in probe order
    offsets: tuple[float, ...]  # seconds after go at which each probe is published


@dataclass(frozen=True)
class ProbeSent:
    index: int
    patient_id: str
    published: float  # time.time() just before publish()
    puback: float | None  # time.time() once the broker's PUBACK was in


def probe_payload(kind: str, at: datetime) -> bytes:
    if kind == "breathlessness":
        readings = [
            {
                "metric": "symptom_breathlessness",
                "value": 3,
                "unit": "{score}",
                "measured_at": at.isoformat(),
            }
        ]
    else:
        readings = [
            {
                "metric": "spo2",
                "value": value,
                "unit": "%",
                "measured_at": (at - timedelta(minutes=minutes)).isoformat(),
            }
            for minutes, value in ((1, 86), (0, 85))
        ]
    return orjson.dumps({"msg_id": uuid.uuid4().hex, "readings": readings})


def probe_publisher(job: ProbeJob, go: Any, stop: Any, out: Any) -> None:
    """Publish each probe at its offset after ``go``, as a device would (paho, QoS 1)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=job.client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.connect(job.host, job.port)
    client.loop_start()
    try:
        go.wait()
        start = time.monotonic()
        for index, ((patient_id, device_id), offset) in enumerate(
            zip(job.devices, job.offsets, strict=True)
        ):
            if stop.wait(max(0.0, start + offset - time.monotonic())):
                break
            payload = probe_payload(job.kind, datetime.now(UTC))
            topic = readings_topic(job.prefix, device_id)
            published = time.time()
            info = client.publish(topic, payload, qos=1)
            info.wait_for_publish(timeout=10)
            puback = time.time() if info.is_published() else None
            out.put((index, patient_id, published, puback))
    finally:
        out.put(None)
        client.disconnect()
        client.loop_stop()


# --- measuring ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (its threads included), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    total = sum(values[:8])
    idle = values[3] + values[4]
    return (total - idle) / tick, total / tick


def backend_pids(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


@dataclass
class CpuSnapshot:
    wall: float
    machine: tuple[float, float]
    processes: dict[str, dict[int, float]] = field(default_factory=dict)


def snapshot(groups: dict[str, list[int]]) -> CpuSnapshot:
    snap = CpuSnapshot(time.monotonic(), machine_cpu())
    for name, pids in groups.items():
        snap.processes[name] = {pid: cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None}
    return snap


def print_cpu(before: CpuSnapshot, after: CpuSnapshot) -> None:
    wall = after.wall - before.wall
    cores = os.cpu_count() or 1
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    print(f"\nCPU over the measured window ({wall:.0f} s wall, {cores} cores):")
    ours = 0.0
    for name, pids in after.processes.items():
        old = before.processes.get(name, {})
        # A process born in the window (a pooled connection) counts whole.
        used = sum(cpu - old.get(pid, 0.0) for pid, cpu in pids.items())
        ours += used
        print(f"  {name:<28}{used:8.1f} s  ({used / wall:5.0%} of one core)")
    print(
        f"  {'whole machine, busy':<28}{busy:8.1f} s  ({busy / total:5.0%} of all cores); "
        f"not ours (other engineers' runs, the OS): about {max(busy - ours, 0.0):.1f} s"
    )


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summary(values: Sequence[float]) -> str:
    if not values:
        return "no values"
    return (
        f"p50 {pct(values, 50) * 1000:7.0f}  p90 {pct(values, 90) * 1000:7.0f}  "
        f"p99 {pct(values, 99) * 1000:7.0f}  max {max(values) * 1000:7.0f} ms"
    )


STAGES_SQL = """
SELECT a.patient_id::text,
       extract(epoch FROM (SELECT min(r.received_at) FROM readings AS r
                            WHERE r.patient_id = a.patient_id AND r.metric = %(metric)s
                              AND r.measured_at >= to_timestamp(%(since)s))),
       extract(epoch FROM a.opened_at),
       extract(epoch FROM n.created_at),
       extract(epoch FROM (SELECT min(t.started_at) FROM notification_attempts AS t
                            WHERE t.notification_id = n.id)),
       n.attempts
FROM alerts AS a
JOIN notifications AS n
  ON n.alert_id = a.id AND n.channel = 'care_team' AND n.event = 'alert.opened'
WHERE a.patient_id = ANY(%(ids)s::uuid[])
"""

STAGE_NAMES = (
    "publish -> ingest's write begins",
    "-> rules evaluation begins",
    "evaluation (-> outbox row)",
    "outbox row -> dispatcher sends",
    "send -> receiver has it",
)


def probe_stages(
    url: str, sent: dict[str, ProbeSent], received: dict[str, float], metric: str, since: float
) -> list[tuple[float, list[float]]]:
    """Per notified probe: (total latency, the five stages), from the database's timestamps.

    ingest's write begins: readings.received_at (now() of ingest's batch transaction: after the
    MQTT hop and the batch window). Rules evaluation begins: alerts.opened_at (now() of the
    evaluation's transaction: after ingest's commit, the NOTIFY, the wait in the queue and for
    the rest of the worker's claimed batch). Outbox row: notifications.created_at
    (clock_timestamp() as the evaluation writes it). Sends: the dispatcher's first attempt's
    started_at (after the rules commit, the NOTIFY, the claim). Receiver: its own time.
    """
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            STAGES_SQL, {"metric": metric, "since": since, "ids": list(sent)}
        ).fetchall()
    out = []
    for pid, stored, opened, queued, started, _attempts in rows:
        if pid not in received or None in (stored, opened, queued, started):
            continue
        points = [sent[pid].published, stored, opened, queued, started, received[pid]]
        stages = [float(b) - float(a) for a, b in itertools.pairwise(points)]
        out.append((received[pid] - sent[pid].published, stages))
    return sorted(out, reverse=True)


PROGRESS_SQL = """
SELECT (SELECT count(*) FROM evaluation_queue),
       (SELECT coalesce(extract(epoch FROM clock_timestamp() - min(requested_at)), 0)::float8
        FROM evaluation_queue),
       count(*) FILTER (WHERE next_attempt_at <= clock_timestamp()),
       coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8
FROM notifications WHERE state = 'pending'
"""

STORED_SQL = """
SELECT count(*) FROM readings AS r JOIN patients AS p ON p.id = r.patient_id
WHERE p.reference LIKE %(bg)s AND r.measured_at >= to_timestamp(%(since)s)
"""


# --- the run ------------------------------------------------------------------------------


@dataclass
class Run:
    """Everything the run starts (for shutdown) and what the steps hand each other."""

    args: argparse.Namespace
    url: str
    prefix: str
    workdir: Path
    broker: LocalMosquitto | None = None
    receiver: WebhookReceiver | None = None
    services: list[Service] = field(default_factory=list)
    procs: list[Any] = field(default_factory=list)
    background: list[Enrolled] = field(default_factory=list)
    probes: list[Enrolled] = field(default_factory=list)
    warmup: Enrolled | None = None
    # multiprocessing objects: events, queues, shared counters.
    stop_event: Any = None
    go_background: Any = None
    go_probes: Any = None
    background_out: Any = None
    probes_out: Any = None
    counters: list[Any] = field(default_factory=list)
    max_queue: int = 0  # the rules queue's largest depth seen by the progress lines


@dataclass
class Outcome:
    sent: dict[str, ProbeSent]
    probe_since: float  # time.time(), a second before the first probe could go
    background: list[BackgroundResult]
    stored: int  # background readings stored
    drained_s: float  # how long after the load stopped the last of them took
    cpu: tuple[CpuSnapshot, CpuSnapshot]
    window: tuple[float, float]  # time.time() at the start and end of the measured window


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, run: Run) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for s in run.services:
            s.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _patient_of(delivery: Delivery) -> str | None:
    data = delivery.payload.get("data")
    if isinstance(data, dict):
        pid = data.get("patient_id")
        return str(pid) if pid is not None else None
    return None


def probe_offsets(count: int, duration: float, seed: int) -> tuple[float, ...]:
    """One probe per equal slot of the run, at a random point in it (never phase-locked to the
    ingest batch window or the workers' cycles)."""
    rng = np.random.default_rng(seed + 7)
    slot = duration / count
    return tuple(float((i + rng.uniform(0.05, 0.95)) * slot) for i in range(count))


def set_up(run: Run) -> None:
    """Database, registry and history, broker, publisher processes (waiting), receiver."""
    args = run.args
    t0 = time.monotonic()
    migrate(run.url)
    refs = (
        [f"{BG_PREFIX}{i}" for i in range(args.background_devices)]
        + [f"{PROBE_PREFIX}{i}" for i in range(args.probes)]
        + [WARMUP_REF]
    )
    enrolled = enrol_all(run.url, refs, args.history_days, args.seed)
    run.background = enrolled[: args.background_devices]
    run.probes = enrolled[args.background_devices : args.background_devices + args.probes]
    run.warmup = enrolled[-1]
    history = seed_history(run.url, run.background + run.probes, args.history_days, args.seed)
    print(
        f"setup: {len(enrolled):,} patients enrolled, {history:,} history readings "
        f"({args.history_days} days) in {time.monotonic() - t0:.1f} s",
        flush=True,
    )

    run.broker = broker = LocalMosquitto(run.workdir / "broker")
    broker.start()

    ctx = mp.get_context("spawn")  # this process has threads (the receiver): no fork
    run.stop_event, run.go_background, run.go_probes = ctx.Event(), ctx.Event(), ctx.Event()
    run.background_out, run.probes_out = ctx.Queue(), ctx.Queue()
    for k in range(args.publishers):
        share = run.background[k :: args.publishers]
        counter = ctx.Value("q", 0, lock=False)
        run.counters.append(counter)
        job = BackgroundJob(
            broker.host,
            broker.port,
            f"{run.prefix}-bg-{k}",
            run.prefix,
            tuple((p.device_id, p.weight) for p in share),
            args.background_rate / args.publishers,
            args.seed * 100 + k,
        )
        run.procs.append(
            ctx.Process(
                target=background_publisher,
                args=(job, run.go_background, run.stop_event, counter, run.background_out),
                name=f"bg-publisher-{k}",
            )
        )
    probe_job = ProbeJob(
        broker.host,
        broker.port,
        f"{run.prefix}-probes",
        run.prefix,
        args.probe,
        tuple((p.patient_id, p.device_id) for p in run.probes),
        probe_offsets(args.probes, args.duration, args.seed),
    )
    run.procs.append(
        ctx.Process(
            target=probe_publisher,
            args=(probe_job, run.go_probes, run.stop_event, run.probes_out),
            name="probe-publisher",
        )
    )
    for proc in run.procs:
        proc.start()

    secret = new_signing_secret()
    run.receiver = WebhookReceiver(secret)
    run.receiver.start()
    with connect(run.url) as conn:
        conn.execute(
            "UPDATE health_centres SET notification_url = %s, signing_secret = %s",
            (run.receiver.url, secret),
        )
        conn.commit()


def start_services(run: Run) -> None:
    """ingest, the rules worker(s) and the dispatcher(s), each ``python -m hemkoll``; then a
    warm-up probe through the whole chain."""
    args = run.args
    assert run.broker is not None
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": run.url,
        "HEMKOLL_MQTT_URL": run.broker.url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": run.prefix,
        "HEMKOLL_MQTT_CLIENT_ID": f"{run.prefix}-ingest",
        "HEMKOLL_PUBLIC_URL": "https://hemkoll.example",
        "HEMKOLL_LOG_LEVEL": args.log_level,
    }
    run.services.append(Service("ingest", "ingest", env, run.workdir))
    for k in range(args.rules_workers):
        run.services.append(Service(f"rules-{k}", "rules", env, run.workdir))
    for k in range(args.dispatchers):
        dispatch_env = {**env, "HEMKOLL_DISPATCH_CLIENT_ID": f"{run.prefix}-dispatch-{k}"}
        run.services.append(Service(f"dispatch-{k}", "dispatch", dispatch_env, run.workdir))
    try:
        took = warm_up(run)
        # Each rules worker's start-up pass queues every patient: let them finish.
        wait_for(
            lambda: scalar(run.url, "SELECT count(*) FROM evaluation_queue") == 0,
            READY_TIMEOUT_S,
            "the rules workers' start-up pass",
            run,
        )
    except Exception:
        for s in run.services:
            print(s.tail(), file=sys.stderr)
        raise
    stray = scalar(
        run.url,
        "SELECT count(*) FROM alerts AS a JOIN patients AS p ON p.id = a.patient_id "
        "WHERE p.reference <> %(w)s",
        {"w": WARMUP_REF},
    )
    print(
        f"services up: ingest, {args.rules_workers} rules, {args.dispatchers} dispatch "
        f"(warm-up probe through the chain in {took:.1f} s; alerts from the history: {stray})",
        flush=True,
    )


def warm_up(run: Run) -> float:
    """One probe through the whole chain before measuring: every service is up and connected,
    the dispatcher has its HTTP connection and MQTT session. Republished until ingest has it
    (a message sent before ingest's subscription is in place is not kept)."""
    assert run.broker is not None
    assert run.receiver is not None
    assert run.warmup is not None
    warmup, recorder = run.warmup, run.receiver.recorder
    started = time.monotonic()
    topic = readings_topic(run.prefix, warmup.device_id)

    def stored() -> bool:
        query = "SELECT count(*) FROM readings WHERE device_id = %(d)s"
        return bool(scalar(run.url, query, {"d": warmup.device_id}))

    while not stored():
        for s in run.services:
            s.check_alive()
        if time.monotonic() > started + READY_TIMEOUT_S:
            raise RuntimeError("ingest stored nothing of the warm-up probe")
        assert run.broker is not None
        payload = probe_payload(run.args.probe, datetime.now(UTC))
        lean_publisher.publish_all(
            run.broker.host, run.broker.port, f"{run.prefix}-warmup", [(topic, payload)]
        )
        time.sleep(1.0)

    def webhook_in() -> bool:
        return any(_patient_of(d) == warmup.patient_id for d in recorder.deliveries())

    wait_for(webhook_in, READY_TIMEOUT_S, "the warm-up probe's webhook", run)
    return time.monotonic() - started


def measure(run: Run) -> Outcome:
    """Background on, settle, probes, until every probe is notified (or the drain timeout)."""
    args = run.args
    assert run.receiver is not None
    assert run.broker is not None
    recorder = run.receiver.recorder
    print(
        f"background: {args.background_rate:,.0f} readings/s target from "
        f"{len(run.background):,} patients ({args.publishers} lean publisher process(es)); "
        f"{args.settle:.0f} s to settle, then {args.probes} '{args.probe}' probes over "
        f"{args.duration:.0f} s",
        flush=True,
    )
    bg_since = time.time() - 1.0
    run.go_background.set()
    time.sleep(args.settle)

    groups = {
        "ingest": [run.services[0].pid],
        "rules": [s.pid for s in run.services if s.name.startswith("rules")],
        "dispatch": [s.pid for s in run.services if s.name.startswith("dispatch")],
        "mosquitto": [run.broker.process.pid] if run.broker.process else [],
        "publishers (bg + probes)": [int(p.pid) for p in run.procs if p.pid],
        "bench (webhook receiver)": [os.getpid()],
    }
    cpu_before = snapshot({**groups, "postgres (this db)": backend_pids(run.url)})
    window_start = time.time()
    probe_since = window_start - 1.0
    run.go_probes.set()

    sent: dict[str, ProbeSent] = {}
    probe_ids = {p.patient_id for p in run.probes}
    publisher_done = False
    started = last_progress = time.monotonic()
    drain_deadline: float | None = None
    while True:
        for s in run.services:
            s.check_alive()
        while not publisher_done:
            try:
                item = run.probes_out.get(timeout=0.05)
            except queue.Empty:
                if not run.procs[-1].is_alive():
                    raise RuntimeError("the probe publisher died") from None
                break
            if item is None:
                publisher_done = True
                drain_deadline = time.monotonic() + args.drain_timeout
            else:
                probe = ProbeSent(*item)
                sent[probe.patient_id] = probe
        if publisher_done:
            time.sleep(0.05)
        got = {pid for d in recorder.notifications() if (pid := _patient_of(d)) in probe_ids}
        if publisher_done and set(sent) <= got:
            break
        if drain_deadline is not None and time.monotonic() > drain_deadline:
            print(f"drain timeout: {len(set(sent) - got)} probes without a webhook", flush=True)
            break
        if time.monotonic() - last_progress >= PROGRESS_INTERVAL_S:
            last_progress = time.monotonic()
            print_progress(run, time.monotonic() - started, len(sent), len(got))
    cpu_after = snapshot({**groups, "postgres (this db)": backend_pids(run.url)})
    window = (window_start, time.time())

    run.stop_event.set()
    results = [BackgroundResult(*run.background_out.get(timeout=60)) for _ in run.counters]
    stop_processes(run.procs)
    published = sum(r.readings for r in results)
    params = {"bg": f"{BG_PREFIX}%", "since": bg_since}
    drain_started = time.monotonic()
    with contextlib.suppress(RuntimeError):
        wait_for(lambda: scalar(run.url, STORED_SQL, params) >= published, 60, "ingest", run)
    stored = int(scalar(run.url, STORED_SQL, params))
    return Outcome(
        sent,
        probe_since,
        results,
        stored,
        time.monotonic() - drain_started,
        (cpu_before, cpu_after),
        window,
    )


def print_progress(run: Run, elapsed: float, sent: int, got: int) -> None:
    with psycopg.connect(run.url) as conn:
        row = conn.execute(PROGRESS_SQL).fetchone()
    depth, waited, due, oldest = row if row else (0, 0.0, 0, 0.0)
    run.max_queue = max(run.max_queue, int(depth))
    published = sum(c.value for c in run.counters)
    print(
        f"  {elapsed:5.0f} s: probes {sent}/{run.args.probes} sent, {got} webhooks; background "
        f"{published:,} readings published; rules queue {depth} (front waited {waited:.1f} s); "
        f"outbox due {due} (oldest {oldest:.1f} s); load {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
        flush=True,
    )


def report(run: Run, outcome: Outcome) -> None:
    args = run.args
    assert run.receiver is not None
    assert run.warmup is not None
    sent = outcome.sent
    probe_ids = {p.patient_id for p in run.probes}
    rule_id = PROBE_RULES[args.probe]
    first: dict[str, Delivery] = {}
    per_probe: dict[str, int] = {}
    unexpected: dict[str, int] = {}
    for d in run.receiver.recorder.deliveries():
        pid = _patient_of(d)
        if pid in probe_ids and d.event_type == "alert.opened":
            per_probe[pid] = per_probe.get(pid, 0) + 1
            first.setdefault(pid, d)
        elif pid != run.warmup.patient_id:
            data = d.payload.get("data")
            key = f"{d.event_type}/{data.get('rule_id') if isinstance(data, dict) else None}"
            unexpected[key] = unexpected.get(key, 0) + 1
    wrong_rule = sum(1 for d in first.values() if d.payload["data"].get("rule_id") != rule_id)
    missing = sorted(set(sent) - set(first))
    duplicated = sum(1 for n in per_probe.values() if n > 1)
    stats = run.receiver.recorder.stats()
    received = {pid: d.received_at for pid, d in first.items() if pid in sent}
    latencies = [received[pid] - sent[pid].published for pid in sent if pid in received]
    pubacks = [s.puback - s.published for s in sent.values() if s.puback is not None]

    bg = outcome.background
    published = sum(r.readings for r in bg)
    messages = sum(r.messages for r in bg)
    seconds = max(r.last for r in bg) - min(r.first for r in bg)
    drained = outcome.drained_s
    print()
    print(
        f"background: {published:,} readings in {messages:,} messages over {seconds:.1f} s = "
        f"{published / max(seconds, 1e-9):,.0f} readings/s achieved (target "
        f"{args.background_rate:,.0f}); PUBACKed {sum(r.acked for r in bg):,} of {messages:,} "
        f"messages; stored {outcome.stored:,} of {published:,} readings"
        + (f" (the last {drained:.1f} s after the load stopped)" if drained > 0.5 else "")
    )
    print(
        f"probes: {len(sent)} of {args.probes} published; {len(first)} got their webhook, "
        f"missing {len(missing)}, with duplicate deliveries {duplicated} (receiver duplicates "
        f"in all: {stats.duplicates}); refused by the receiver {sum(stats.rejected.values())}; "
        f"from another rule than {rule_id}: {wrong_rule}; webhooks not from a probe: "
        f"{sum(unexpected.values())} {unexpected or ''}"
    )
    if missing:
        more = " ..." if len(missing) > 10 else ""
        print(f"  missing (patient ids): {', '.join(missing[:10])}{more}")
    print(f"publish -> broker PUBACK (client side):  {summary(pubacks)}")
    print(f"\nlatency, probe published -> signed webhook received, n = {len(latencies)}:")
    print(f"  {summary(latencies)}")
    if latencies:
        p99 = pct(latencies, 99)
        verdict = "met" if p99 <= GOAL_P99_S and not missing else "NOT met"
        print(
            f"  goal p99 <= {GOAL_P99_S:.0f} s with every probe notified: {verdict} "
            f"(p99 {p99:.3f} s, {len(missing)} missing)"
        )
        order = sorted(sent, key=lambda pid: sent[pid].published)
        size = max(1, len(order) // 4)
        print("  by quarter of the run (in publish order):")
        for q in range(4):
            part = order[q * size : (q + 1) * size if q < 3 else None]
            values = [received[pid] - sent[pid].published for pid in part if pid in received]
            print(f"    {q + 1}: n {len(values):3}  {summary(values)}")

    rows = probe_stages(run.url, sent, received, PROBE_METRICS[args.probe], outcome.probe_since)
    print("\nwhere the time goes, per probe (database timestamps; one clock):")
    for k, name in enumerate(STAGE_NAMES):
        print(f"  {name:<34}{summary([stages[k] for _, stages in rows])}")
    print("  slowest probes, total = the stages above (ms):")
    for total, stages in rows[:5]:
        print(f"    {total * 1000:6.0f} = " + " + ".join(f"{p * 1000:.0f}" for p in stages))
    report_outbox(run.url, outcome.probe_since)
    report_rules(run, outcome, messages / max(seconds, 1e-9))
    print_cpu(*outcome.cpu)


def report_outbox(url: str, since: float) -> None:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT n.channel, n.state, count(*), avg(t.duration_ms) "
            "FROM notifications AS n LEFT JOIN notification_attempts AS t "
            "ON t.notification_id = n.id AND t.attempt = 1 "
            "WHERE n.created_at >= to_timestamp(%(since)s) GROUP BY 1, 2 ORDER BY 1, 2",
            {"since": since},
        ).fetchall()
        alerts = conn.execute(
            "SELECT count(*) FILTER (WHERE p.reference LIKE %(bg)s), count(*) "
            "FROM alerts AS a JOIN patients AS p ON p.id = a.patient_id",
            {"bg": f"{BG_PREFIX}%"},
        ).fetchone()
    print("\noutbox rows written since the probes began (channel, state, rows, first attempt):")
    for channel, state, count, mean_ms in rows:
        mean = f"{mean_ms:.1f} ms mean" if mean_ms is not None else "-"
        print(f"  {channel:<10}{state:<11}{count:>8,}  {mean}")
    if alerts:
        print(f"alerts: {alerts[1]} in all, {alerts[0]} of them for background patients")


RULES_SQL = """
SELECT count(*), count(DISTINCT n.patient_id)
FROM notifications AS n
WHERE n.channel = 'device' AND n.event = 'readings.in_range'
  AND n.created_at BETWEEN to_timestamp(%(a)s) AND to_timestamp(%(b)s)
"""


def report_rules(run: Run, outcome: Outcome, requests_per_s: float) -> None:
    """The rules workers' throughput against what the background asks of them.

    Every background message queues its patient; each evaluation that answers a device's
    readings writes one "readings look as usual" device message (one device per patient here),
    so those rows count the evaluations (a patient re-queued while being evaluated is evaluated
    again without one: a lower bound).
    """
    a, b = outcome.window
    with psycopg.connect(run.url) as conn:
        row = conn.execute(RULES_SQL, {"a": a, "b": b}).fetchone()
    done, patients = row if row else (0, 0)
    print(
        f"rules ({run.args.rules_workers} worker(s)): about {done / (b - a):,.0f} evaluations/s "
        f"done in the window against {requests_per_s:,.0f} patient requests/s from the "
        f"background; {patients:,} of {len(run.background):,} background patients evaluated "
        f"in it; largest queue seen {run.max_queue:,}"
    )


def shutdown(run: Run) -> None:
    """Stop everything started, in order, each step whatever the previous one did."""
    # Publishers still waiting for their start (an error before it) see the stop at once.
    for event in (run.stop_event, run.go_background, run.go_probes):
        if event is not None:
            event.set()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("publishers", lambda: stop_processes(run.procs)),
        ("services", lambda: stop_services(run.services)),
    ]
    if run.broker is not None:
        steps.append(("broker", run.broker.stop))
    if run.receiver is not None:
        steps.append(("receiver", run.receiver.stop))
    for name, step in steps:
        started = time.monotonic()
        try:
            step()
        except Exception as exc:  # noqa: BLE001 (the other steps must still run)
            print(f"stopping the {name} failed: {exc!r}", file=sys.stderr)
        if time.monotonic() - started > SLOW_STOP_S:
            print(f"stopping the {name} took {time.monotonic() - started:.1f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--background-rate", type=float, default=300.0, help="readings/s")
    parser.add_argument("--background-devices", type=int, default=1000)
    parser.add_argument("--publishers", type=int, default=1, help="background processes")
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--duration", type=float, default=120.0, help="probes spread over it, s")
    parser.add_argument("--settle", type=float, default=10.0, help="background before probes, s")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--probe", choices=tuple(PROBE_RULES), default="breathlessness")
    parser.add_argument("--rules-workers", type=int, default=1)
    parser.add_argument("--dispatchers", type=int, default=1)
    parser.add_argument("--log-level", default="INFO", help="the services' HEMKOLL_LOG_LEVEL")
    parser.add_argument("--log-dir", type=Path, help="keep the services' logs here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if min(args.probes, args.background_devices, args.publishers) < 1:
        parser.error("--probes, --background-devices and --publishers must be >= 1")

    signal.signal(signal.SIGTERM, _raise_interrupted)
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} before start (shared with other engineers' runs: figures vary with it)",
        flush=True,
    )
    url = fresh_database()
    try:
        with contextlib.ExitStack() as stack:
            if args.log_dir is not None:
                args.log_dir.mkdir(parents=True, exist_ok=True)
                workdir = args.log_dir
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hemkoll-latency-"))
                workdir = Path(tmp)
            run = Run(args, url, f"bench-{uuid.uuid4().hex[:6]}", workdir)
            try:
                set_up(run)
                start_services(run)
                outcome = measure(run)
            finally:
                shutdown(run)
            report(run, outcome)
    except (KeyboardInterrupt, Interrupted) as exc:
        print(
            f"\ninterrupted ({str(exc) or 'SIGINT'}); everything started is stopped",
            file=sys.stderr,
        )
        sys.exit(130)
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
