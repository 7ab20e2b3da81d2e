"""The measurements of bench/ingest.py: (a) the broker alone with a counting subscriber, (b) the
store alone, (c) N ``hemkoll ingest`` workers from the first publish to the last commit, with
the CPU each part used.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from common import (
    Service,
    backend_pids,
    cpu_of,
    cpu_seconds,
    drop_database,
    fresh_database,
    machine_cpu,
    one,
    service_env,
    stop_services,
    wait_for_log,
)
from ingest_publishers import publish_all
from ingest_workload import PREFIX, Workload, copy_registry
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hemkoll.ingest.mqtt_session import RECEIVE_MAXIMUM
from hemkoll.ingest.service import BATCH_MAX_READINGS
from hemkoll.local_services.mosquitto import LocalMosquitto
from hemkoll.local_services.ports import START_TIMEOUT_S, free_port
from hemkoll.protocol.topics import readings_subscription
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter

# The shared-subscription group of the workers when there are several.
SHARE_GROUP = "bench"
# Once every worker is connected, the time for its SUBSCRIBE to be handled.
SUBSCRIBE_SETTLE_S = 0.5
# Several workers connecting at once on a loaded machine: three times a service's start.
CONNECT_TIMEOUT_S = 3 * START_TIMEOUT_S
# How often the end of a run is checked, on the workers' /metrics (readings stored and
# duplicates, counted after each commit): rarely at first, closely near the end, so that the
# polling neither costs the workers much nor blurs the end by more than 20 milliseconds.
# Not SELECT count(*): a scan of up to 300,000 rows 50 times a second took a large part of a
# core from the run it measured.
POLL_FAR_S = 0.25
POLL_NEAR_S = 0.02
POLL_NEAR_SHARE = 0.95
STORED_METRIC = "hemkoll_ingest_readings_stored_total"
# One measurement of 300,000 readings on a loaded machine takes well under a minute.
RUN_TIMEOUT_S = 900.0
# A worker's /metrics answers at once.
METRICS_TIMEOUT_S = 10.0


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
    time.sleep(SUBSCRIBE_SETTLE_S)
    first = publish_all(broker, workload, publishers, kind)
    if not done.wait(timeout=RUN_TIMEOUT_S):
        raise RuntimeError(f"the counting subscriber got {received} of {total} messages")
    sub.disconnect()
    broker.stop()
    return last[0] - first


def store_alone(url: str, workload: Workload) -> float:
    with connect(url) as conn:
        writer = ReadingWriter(conn)
        started = time.perf_counter()
        for i in range(0, workload.reading_count, BATCH_MAX_READINGS):
            writer.write([workload.readings[i : i + BATCH_MAX_READINGS]], [])
        return time.perf_counter() - started


def writers_cpu(pids: list[int]) -> float:
    """CPU time of ingest processes' main threads, which run the writer (the batches, the
    database); the rest of a process's time is its MQTT network thread's."""
    return sum(cpu for pid in pids if (cpu := cpu_seconds(pid, task=pid)) is not None)


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
    env = service_env(
        url,
        broker.url,
        PREFIX,
        log_level=os.environ.get("BENCH_INGEST_LOG_LEVEL", "WARNING"),
        metrics_host="127.0.0.1",
    )
    if workers > 1:
        env["HEMKOLL_INGEST_SHARE_GROUP"] = SHARE_GROUP
    ports = [free_port() for _ in range(workers)]
    # The workers' output goes to the bench's (BENCH_INGEST_LOG_LEVEL=DEBUG to see it all).
    procs = [
        Service(f"ingest-{k}", "ingest", {**env, "HEMKOLL_METRICS_PORT": str(port)}, None)
        for k, port in enumerate(ports)
    ]
    try:
        for proc in procs:
            proc.start()
        wait_connected(broker, workers)
        assert broker.process is not None
        pids = [proc.pid for proc in procs]
        before_workers = cpu_of(pids)
        before_writers = writers_cpu(pids)
        before_broker = cpu_of([broker.process.pid])
        before_machine, before_total = machine_cpu()
        with httpx.Client(timeout=METRICS_TIMEOUT_S) as http:
            first = publish_all(broker, workload, publishers, kind)
            wait_stored(http, ports, workload.reading_count)
        seconds = time.time() - first
        after_machine, after_total = machine_cpu()
        return IngestRun(
            workers=workers,
            seconds=seconds,
            cpu_workers=cpu_of(pids) - before_workers,
            cpu_writers=writers_cpu(pids) - before_writers,
            # The backends connect at the first batch: all their time is this run's.
            cpu_backends=cpu_of(backend_pids(url)),
            cpu_broker=cpu_of([broker.process.pid]) - before_broker,
            cpu_machine=after_machine - before_machine,
            wall_cores=after_total - before_total,
        )
    finally:
        stop_services(procs)
        broker.stop()


def stored_by(http: httpx.Client, port: int) -> int:
    """Readings a worker has committed so far (its /metrics)."""
    for line in http.get(f"http://127.0.0.1:{port}/metrics").text.splitlines():
        if line.startswith(STORED_METRIC + " "):
            return int(float(line.split()[1]))
    raise RuntimeError(f"no {STORED_METRIC} on port {port}")


def wait_stored(http: httpx.Client, ports: list[int], total: int) -> None:
    """Until the workers have committed ``total`` readings between them."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while (stored := sum(stored_by(http, port) for port in ports)) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"ingest stored {stored} of {total}")
        time.sleep(POLL_NEAR_S if stored >= POLL_NEAR_SHARE * total else POLL_FAR_S)


def wait_connected(broker: LocalMosquitto, workers: int) -> None:
    """Until the broker has logged every worker's connection (then a moment to subscribe)."""
    wait_for_log(
        broker.log,
        f" as {PREFIX}-ingest",
        CONNECT_TIMEOUT_S,
        f"all {workers} ingest workers to connect",
        count=workers,
    )
    time.sleep(SUBSCRIBE_SETTLE_S)


def measure_ingest(
    workdir: Path, registry_url: str, workload: Workload, args: argparse.Namespace, workers: int
) -> IngestRun:
    """One (c) run on a database of its own with the registry's devices and no readings."""
    url = fresh_database(f"ingest{workers}")
    try:
        copy_registry(registry_url, url)
        run = full_ingest(workdir, url, workload, args.publishers, args.publisher, workers=workers)
        assert one(url, "SELECT count(*) FROM readings") == workload.reading_count
        return run
    finally:
        drop_database(url)
