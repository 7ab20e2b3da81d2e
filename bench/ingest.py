"""Sustained durable ingest throughput, against the broker alone and the store alone.

    .venv/bin/python bench/ingest.py [--readings 300000] [--publishers 3] [--devices 300]
                                     [--workers 1 2 3] [--rounds 1]

Measurements in one run, on this machine, with one Mosquitto of the bench's own (the
project's limits) and the local PostgreSQL:

  (a) broker alone: the publishers, and a plain QoS-1 subscriber that only counts;
  (b) store alone:  the same rows written by the store (COPY + INSERT ... ON CONFLICT), in
                    ingest's batch size, with no MQTT;
  (c) ingest xN:    the publishers and N ``hemkoll ingest`` processes, from the first publish to
                    the last reading committed, once for each N of ``--workers``. One worker
                    runs as deployed alone (plain subscription, persistent session); several
                    share the stream as members of one shared-subscription group
                    (HEMKOLL_INGEST_SHARE_GROUP, docs/scaling.md), each with its own client id.
                    Each run starts from an empty readings table and a fresh broker, and reports
                    the CPU seconds the workers, their database backends and the broker used.

With ``--rounds K`` (a) and every (c) are repeated K times, interleaved (the order of the (c)
runs rotating), and the medians are reported, each (c) compared with the (a) of its own round:
on a machine shared with other work a single run says little.

The messages are a realistic mix: mostly a few readings each (a morning's measurements), some
backlog uploads of hundreds (a device that was offline). Several publisher processes; by
default each a lean raw-socket QoS-1 publisher (bench/lean_publisher.py) so that the load
generator does not take the CPU the measured service needs (``--publisher paho`` uses paho
clients instead, as devices do: on 2 cores they then take more CPU than ingest). Prints all
three and the ratios.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import lean_publisher
import numpy as np
import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from psycopg import sql

from hemkoll.ingest.local_broker import START_TIMEOUT_S, LocalMosquitto, free_port
from hemkoll.ingest.mqtt_session import RECEIVE_MAXIMUM
from hemkoll.ingest.protocol import readings_subscription, readings_topic
from hemkoll.ingest.service import BATCH_MAX_READINGS
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.migrate import migrate
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading

ADMIN_URL = os.environ.get(
    "HEMKOLL_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PREFIX = f"bench-{uuid.uuid4().hex[:6]}"
METRICS = [
    ("body_weight", "kg", 80.0),
    ("systolic_bp", "mm[Hg]", 130.0),
    ("heart_rate", "/min", 70.0),
]
# Share of readings that arrive in backlog uploads rather than in small messages.
BACKLOG_SHARE = 0.4
# paho publishers keep this many QoS-1 messages unacknowledged (paho slows far above it).
PAHO_INFLIGHT = 500
SMALL_READINGS = (1, 5)  # readings per small message, inclusive
BACKLOG_READINGS = (100, 500)  # readings per backlog message, inclusive
# The shared-subscription group of the workers when there are several.
SHARE_GROUP = "bench"
# Once every worker is connected, the time for its SUBSCRIBE to be handled.
SUBSCRIBE_SETTLE_S = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# How often the end of a run is checked, on the workers' /metrics (readings stored and
# duplicates, counted after each commit): rarely at first, closely near the end, so that the
# polling neither costs the workers much nor blurs the end by more than 20 milliseconds.
# Not SELECT count(*): a scan of up to 300,000 rows 50 times a second took a large part of a
# core from the run it measured.
POLL_FAR_S = 0.25
POLL_NEAR_S = 0.02
POLL_NEAR_SHARE = 0.95
STORED_METRIC = "hemkoll_ingest_readings_stored_total"


@dataclass(frozen=True)
class Workload:
    messages: list[tuple[str, bytes]]  # (topic, payload)
    readings: list[Reading]

    @property
    def reading_count(self) -> int:
        return len(self.readings)


def make_workload(total: int, devices: list[tuple[uuid.UUID, uuid.UUID]], seed: int) -> Workload:
    rng = np.random.default_rng(seed)
    start = datetime.now(UTC) - timedelta(days=20)
    messages: list[tuple[str, bytes]] = []
    readings: list[Reading] = []
    clock = [0] * len(devices)  # per device, seconds after start of its next reading
    backlog_target = int(total * BACKLOG_SHARE)
    made = backlog = 0
    while made < total:
        is_backlog = backlog < backlog_target and rng.random() < 0.02
        low, high = BACKLOG_READINGS if is_backlog else SMALL_READINGS
        n = min(int(rng.integers(low, high + 1)), total - made)
        index = int(rng.integers(len(devices)))
        device_id, patient_id = devices[index]
        items = []
        for _ in range(n):
            metric, unit, base = METRICS[clock[index] % len(METRICS)]
            at = start + timedelta(seconds=clock[index])
            clock[index] += 1
            value = round(base + float(rng.normal(0, 1)), 2)
            items.append(
                {"metric": metric, "value": value, "unit": unit, "measured_at": at.isoformat()}
            )
            readings.append(Reading(patient_id, device_id, metric, value, at))
        payload = orjson.dumps({"msg_id": uuid.uuid4().hex, "readings": items})
        messages.append((readings_topic(PREFIX, device_id), payload))
        made += n
        backlog += n if is_backlog else 0
    return Workload(messages, readings)


@dataclass(frozen=True)
class PublisherJob:
    kind: str  # "lean" or "paho"
    host: str
    port: int
    messages: list[tuple[str, bytes]]


def _publisher(job: PublisherJob, go: Any, out: Any) -> None:
    kind, host, port, messages = job.kind, job.host, job.port, job.messages
    client_id = f"{PREFIX}-pub-{os.getpid()}"
    if kind == "lean":
        go.wait()
        first = time.time()
        lean_publisher.publish_all(host, port, client_id, messages)
        out.put((first, time.time()))
        return
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.max_inflight_messages_set(PAHO_INFLIGHT)
    client.connect(host, port)
    client.loop_start()
    go.wait()
    first = time.time()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=600)
    out.put((first, time.time()))
    client.disconnect()
    client.loop_stop()


def publish_all(
    broker: LocalMosquitto, workload: Workload, publishers: int, kind: str = "lean"
) -> float:
    """Publish from several processes; return the wall-clock time of the first publish."""
    ctx = mp.get_context("fork")
    go = ctx.Event()
    out = ctx.Queue()
    shares = [workload.messages[i::publishers] for i in range(publishers)]
    procs = [
        ctx.Process(
            target=_publisher,
            args=(PublisherJob(kind, broker.host, broker.port, share), go, out),
        )
        for share in shares
    ]
    for proc in procs:
        proc.start()
    time.sleep(0.5)  # every publisher process is running
    go.set()
    results = [out.get(timeout=900) for _ in procs]
    for proc in procs:
        proc.join()
    return float(min(first for first, _ in results))


def broker_alone(workdir: Path, workload: Workload, publishers: int, kind: str) -> float:
    broker = LocalMosquitto(workdir / "broker-a")
    broker.start()
    received = 0
    last = [0.0]
    done = threading.Event()
    total = len(workload.messages)

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1
        if received == total:
            last[0] = time.time()
            done.set()

    sub = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{PREFIX}-counter",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    sub.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    sub.connect(broker.host, broker.port, properties=props)
    sub.subscribe(readings_subscription(PREFIX), qos=1)
    thread = threading.Thread(target=sub.loop_forever, daemon=True)
    thread.start()
    time.sleep(0.5)
    first = publish_all(broker, workload, publishers, kind)
    if not done.wait(timeout=600):
        raise RuntimeError(f"the counting subscriber got {received} of {total} messages")
    sub.disconnect()
    broker.stop()
    return last[0] - first


def fresh_database(tag: str) -> str:
    name = f"hemkoll_bench_{uuid.uuid4().hex[:8]}_{tag}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)
    migrate(url)
    return url


def drop_database(url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


def enrol_devices(url: str, count: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    devices = []
    with connect(url) as conn:
        for i in range(count):
            enrolment = enrol_device(
                conn,
                health_centre_name="Bench VC",
                patient_reference=f"B-{i}",
                device_kind="gateway",
            )
            devices.append((enrolment.device.id, enrolment.patient.id))
        conn.execute("UPDATE devices SET enrolled_at = now() - interval '60 days'")
        conn.commit()
    return devices


def copy_registry(source: str, target: str) -> None:
    """The same devices in another database, so (b) and (c) start from identical registries."""
    with psycopg.connect(source) as src, psycopg.connect(target) as dst:
        for table in ("health_centres", "patients", "devices"):
            with (
                src.cursor().copy(
                    sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))
                ) as out,
                dst.cursor().copy(
                    sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))
                ) as into,
            ):
                for block in out:
                    into.write(block)
        dst.commit()


def store_alone(url: str, workload: Workload) -> float:
    with connect(url) as conn:
        writer = ReadingWriter(conn)
        started = time.perf_counter()
        for i in range(0, workload.reading_count, BATCH_MAX_READINGS):
            writer.write([workload.readings[i : i + BATCH_MAX_READINGS]], [])
        return time.perf_counter() - started


def count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    return int(row[0]) if row else 0


def cpu_seconds(pid: int, task: int | None = None) -> float:
    """User + system CPU time a process (or one of its threads) has used so far (/proc)."""
    path = Path(f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat")
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def writer_cpu_seconds(pid: int) -> float:
    """CPU time of an ingest process's main thread, which runs the writer (the batches, the
    database); the rest of the process's time is the MQTT network thread's."""
    return cpu_seconds(pid, task=pid)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, over all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


def backend_pids(url: str) -> list[int]:
    """The database's other server processes: the ingest workers' connections."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(ADMIN_URL) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return [int(row[0]) for row in rows]


@dataclass(frozen=True)
class IngestRun:
    workers: int
    seconds: float
    cpu_workers: float  # CPU seconds of the ingest processes
    cpu_writers: float  # ... of which their writer threads (the rest: MQTT network threads)
    cpu_backends: float  # ... of their PostgreSQL backends
    cpu_broker: float  # ... of Mosquitto
    cpu_machine: float  # busy CPU seconds of the whole machine (others' work included)
    wall_cores: float  # seconds x cores: what the machine had


def full_ingest(
    workdir: Path, url: str, workload: Workload, publishers: int, kind: str, *, workers: int
) -> IngestRun:
    broker = LocalMosquitto(workdir / f"broker-c{workers}")
    broker.start()
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": url,
        "HEMKOLL_MQTT_URL": broker.url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": PREFIX,
        "HEMKOLL_MQTT_CLIENT_ID": f"{PREFIX}-ingest",
        "HEMKOLL_LOG_LEVEL": os.environ.get("BENCH_INGEST_LOG_LEVEL", "WARNING"),
        "HEMKOLL_METRICS_HOST": "127.0.0.1",
    }
    if workers > 1:
        env["HEMKOLL_INGEST_SHARE_GROUP"] = SHARE_GROUP
    ports = [free_port() for _ in range(workers)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hemkoll", "ingest"],
            env={**env, "HEMKOLL_METRICS_PORT": str(port)},
        )
        for port in ports
    ]
    try:
        wait_connected(broker, workers)
        assert broker.process is not None
        pids = [proc.pid for proc in procs]
        before_workers = sum(cpu_seconds(pid) for pid in pids)
        before_writers = sum(writer_cpu_seconds(pid) for pid in pids)
        before_broker = cpu_seconds(broker.process.pid)
        before_machine, before_total = machine_cpu()
        with httpx.Client(timeout=10) as http:
            first = publish_all(broker, workload, publishers, kind)
            wait_stored(http, ports, workload.reading_count)
        seconds = time.time() - first
        after_machine, after_total = machine_cpu()
        return IngestRun(
            workers=workers,
            seconds=seconds,
            cpu_workers=sum(cpu_seconds(pid) for pid in pids) - before_workers,
            cpu_writers=sum(writer_cpu_seconds(pid) for pid in pids) - before_writers,
            # The backends connect at the first batch: all their time is this run's.
            cpu_backends=sum(cpu_seconds(pid) for pid in backend_pids(url)),
            cpu_broker=cpu_seconds(broker.process.pid) - before_broker,
            cpu_machine=after_machine - before_machine,
            wall_cores=after_total - before_total,
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        broker.stop()


def stored_by(http: httpx.Client, port: int) -> int:
    """Readings a worker has committed so far (its /metrics)."""
    for line in http.get(f"http://127.0.0.1:{port}/metrics").text.splitlines():
        if line.startswith(STORED_METRIC + " "):
            return int(float(line.split()[1]))
    raise RuntimeError(f"no {STORED_METRIC} on port {port}")


def wait_stored(http: httpx.Client, ports: list[int], total: int) -> None:
    """Until the workers have committed ``total`` readings between them."""
    deadline = time.monotonic() + 900
    while (stored := sum(stored_by(http, port) for port in ports)) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"ingest stored {stored} of {total}")
        time.sleep(POLL_NEAR_S if stored >= POLL_NEAR_SHARE * total else POLL_FAR_S)


def wait_connected(broker: LocalMosquitto, workers: int) -> None:
    """Until the broker has logged every worker's connection (then a moment to subscribe)."""
    deadline = time.monotonic() + 3 * START_TIMEOUT_S
    marker = f" as {PREFIX}-ingest"
    while broker.log.read_text().count(marker) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all {workers} ingest workers connected; see {broker.log}")
        time.sleep(0.1)
    time.sleep(SUBSCRIBE_SETTLE_S)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=300_000)
    parser.add_argument("--publishers", type=int, default=3)
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2, 3],
        help="measure (c) with each of these numbers of ingest workers (default: 1 2 3)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat (a) and every (c) this many times, interleaved, and report medians",
    )
    parser.add_argument(
        "--publisher",
        choices=("lean", "paho"),
        default="lean",
        help="lean: raw-socket publishes (little CPU); paho: paho-mqtt clients as devices use",
    )
    args = parser.parse_args()

    registry_url = fresh_database("registry")
    store_url = fresh_database("store")
    try:
        print(f"enrolling {args.devices} devices ...", flush=True)
        devices = enrol_devices(registry_url, args.devices)
        copy_registry(registry_url, store_url)
        workload = make_workload(args.readings, devices, args.seed)
        n_msgs, n_read = len(workload.messages), workload.reading_count
        print(
            f"workload: {n_read:,} readings in {n_msgs:,} messages "
            f"({n_read / n_msgs:.1f} per message on average; {BACKLOG_SHARE:.0%} of readings in "
            f"backlog uploads of {BACKLOG_READINGS[0]}-{BACKLOG_READINGS[1]}), "
            f"{args.publishers} {args.publisher} publisher processes, {os.cpu_count()} cores",
            flush=True,
        )
        broker_times: list[float] = []
        runs: dict[int, list[IngestRun]] = {n: [] for n in args.workers}
        with tempfile.TemporaryDirectory(prefix="hemkoll-bench-") as tmp:
            print("(b) store alone ...", flush=True)
            t_store = store_alone(store_url, workload)
            for r in range(args.rounds):
                workdir = Path(tmp) / f"round{r + 1}"
                label = f" (round {r + 1} of {args.rounds})" if args.rounds > 1 else ""
                print(f"(a) broker alone{label} ...", flush=True)
                broker_times.append(
                    broker_alone(workdir, workload, args.publishers, args.publisher)
                )
                shift = r % len(args.workers)
                for workers in args.workers[shift:] + args.workers[:shift]:
                    print(f"(c) ingest x{workers}{label} ...", flush=True)
                    runs[workers].append(
                        measure_ingest(workdir, registry_url, workload, args, workers)
                    )
        report(workload, t_store, broker_times, runs)
    finally:
        for url in (registry_url, store_url):
            drop_database(url)


def measure_ingest(
    workdir: Path, registry_url: str, workload: Workload, args: argparse.Namespace, workers: int
) -> IngestRun:
    """One (c) run on a database of its own with the registry's devices and no readings."""
    url = fresh_database(f"ingest{workers}")
    try:
        copy_registry(registry_url, url)
        run = full_ingest(workdir, url, workload, args.publishers, args.publisher, workers=workers)
        assert count(url) == workload.reading_count
        return run
    finally:
        drop_database(url)


def report(
    workload: Workload,
    t_store: float,
    broker_times: list[float],
    runs: dict[int, list[IngestRun]],
) -> None:
    n_msgs, n_read = len(workload.messages), workload.reading_count
    rounds = len(broker_times)
    median = statistics.median
    print()
    what = f"median of {rounds} rounds; readings/s from slowest to fastest" if rounds > 1 else ""
    print(f"{'':<16}{'seconds':>9}{'readings/s':>13}{'messages/s':>13}   {what}")
    rows = [("(a) broker", broker_times), ("(b) store", [t_store])]
    rows += [(f"(c) ingest x{n}", [run.seconds for run in done]) for n, done in runs.items()]
    for name, times in rows:
        seconds = median(times)
        msgs = f"{n_msgs / seconds:>13,.0f}" if name != "(b) store" else f"{'-':>13}"
        spread = (
            f"   {n_read / max(times):,.0f} - {n_read / min(times):,.0f}" if len(times) > 1 else ""
        )
        print(f"{name:<16}{seconds:>9.2f}{n_read / seconds:>13,.0f}{msgs}{spread}")
    print()
    print(
        "CPU seconds during (c), medians: ingest workers (network threads + writer threads) / "
        "their database backends / broker / the whole machine, others' work included (of "
        "seconds x cores)"
    )
    for n, done in runs.items():
        workers_cpu = median(run.cpu_workers for run in done)
        network = median(run.cpu_workers - run.cpu_writers for run in done)
        writers = median(run.cpu_writers for run in done)
        machine = median(run.cpu_machine for run in done)
        wall = median(run.wall_cores for run in done)
        print(
            f"  x{n}: {workers_cpu:5.1f} ({network:4.1f} + {writers:4.1f}) / "
            f"{median(run.cpu_backends for run in done):5.1f} / "
            f"{median(run.cpu_broker for run in done):5.1f} / {machine:5.1f} of {wall:5.1f} "
            f"({median(run.cpu_machine / run.wall_cores for run in done):.0%} busy)"
        )
    print()
    first = next(iter(runs))
    for n, done in runs.items():
        seconds = median(run.seconds for run in done)
        # Each run against the broker-alone run of its own round.
        of_broker = median(b / run.seconds for b, run in zip(broker_times, done, strict=True))
        of_first = median(
            base.seconds / run.seconds for base, run in zip(runs[first], done, strict=True)
        )
        print(
            f"ingest x{n}: {n_read / seconds:>8,.0f} readings/s   "
            f"{of_broker:>4.0%} of broker alone (goal >= 50%)   "
            f"{t_store / seconds:>4.0%} of store alone   x{of_first:.2f} of x{first}"
        )
    print("goal: >= 15,000 readings/s")


if __name__ == "__main__":
    main()
