"""The publisher processes of bench/ingest.py (forked), lean raw-socket QoS-1 publishers
(bench/lean_publisher.py) or paho clients as devices use; all start on one signal.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from typing import Any

import lean_publisher
import paho.mqtt.client as mqtt
from ingest_workload import PREFIX, Workload
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.local_services.mosquitto import LocalMosquitto

# paho publishers keep this many QoS-1 messages unacknowledged (paho slows far above it).
PAHO_INFLIGHT = 500
# A publisher's whole share of 300,000 readings, on a machine busy with the measured service.
PUBLISH_TIMEOUT_S = 900.0
# Until every (forked) publisher process runs and waits for the signal to go.
PUBLISHERS_START_S = 0.5


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
        info.wait_for_publish(timeout=PUBLISH_TIMEOUT_S)
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
    time.sleep(PUBLISHERS_START_S)
    go.set()
    results = [out.get(timeout=PUBLISH_TIMEOUT_S) for _ in procs]
    for proc in procs:
        proc.join()
    return float(min(first for first, _ in results))
