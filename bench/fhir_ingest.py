"""FHIR ingest (POST /fhir/R4) throughput beside the MQTT path, the same readings, one run.

    .venv/bin/python bench/fhir_ingest.py [--readings 20000] [--devices 50] [--senders 4]

The same readings are sent twice, each time into an empty database with the same devices:

  (f) FHIR: batch Bundles of 100 Observations (the PHD IG's shape: a Device entry, LOINC and
      MDC codes, UCUM quantities), posted by ``--senders`` httpx threads, each a gateway with
      its own HTTP Basic login, to ``hemkoll serve`` (uvicorn) in its own process;
  (m) MQTT: messages of 100 readings published to a Mosquitto of the bench's own and stored by
      one ``hemkoll ingest`` (bench/ingest_runs.py's measurement, as bench/ingest.py runs it).

Each is timed from the first request (publish) to the last reading committed, and both end
with every reading stored once. Prints readings/s of each and their ratio. Short: about a
minute with the defaults.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from common import drop_database, fresh_database, one
from ingest_runs import measure_ingest
from ingest_workload import PREFIX, Workload, copy_registry

from hemkoll.local_services.ports import free_port
from hemkoll.protocol.topics import readings_topic
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.types import Reading

PER_MESSAGE = 100
# metric, UCUM unit, typical value, LOINC, MDC
METRICS = [
    ("body_weight", "kg", 80.0, "29463-7", "188736"),
    ("heart_rate", "/min", 70.0, "8867-4", "149546"),
    ("spo2", "%", 96.0, "59408-5", "150456"),
    ("systolic_bp", "mm[Hg]", 130.0, "8480-6", "150021"),
]
SERVER_START_S = 60.0
REQUEST_TIMEOUT_S = 60.0


def enrol(url: str, count: int) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """Gateways (device id, patient id, secret), enrolled 60 days ago."""
    out = []
    with connect(url) as conn:
        for i in range(count):
            e = enrol_device(
                conn,
                health_centre_name="Bench VC",
                patient_reference=f"F-{i}",
                device_kind="gateway",
            )
            out.append((e.device.id, e.patient.id, e.mqtt_password))
        conn.execute("UPDATE devices SET enrolled_at = now() - interval '60 days'")
        conn.commit()
    return out


def make_messages(
    total: int, devices: list[tuple[uuid.UUID, uuid.UUID, str]]
) -> list[tuple[int, list[Reading]]]:
    """(device index, its readings) messages of PER_MESSAGE readings each."""
    start = datetime.now(UTC) - timedelta(days=20)
    messages = []
    for m in range(total // PER_MESSAGE):
        index = m % len(devices)
        device_id, patient_id, _ = devices[index]
        readings = []
        for k in range(PER_MESSAGE):
            metric, _, base, _, _ = METRICS[k % len(METRICS)]
            at = start + timedelta(seconds=m * PER_MESSAGE + k)
            readings.append(Reading(patient_id, device_id, metric, base + (k % 7) / 10, at))
        messages.append((index, readings))
    return messages


def bundle(readings: list[Reading]) -> bytes:
    units = {m[0]: m for m in METRICS}
    device_url = f"urn:uuid:{uuid.uuid4()}"
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": device_url,
            "resource": {"resourceType": "Device"},
            "request": {"method": "POST", "url": "Device"},
        }
    ]
    for r in readings:
        _, unit, _, loinc, mdc = units[r.metric]
        entries.append(
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {
                        "coding": [
                            {"system": "http://loinc.org", "code": loinc},
                            {"system": "urn:iso:std:iso:11073:10101", "code": mdc},
                        ]
                    },
                    "device": {"reference": device_url},
                    "effectiveDateTime": r.measured_at.isoformat(),
                    "valueQuantity": {
                        "value": r.value,
                        "unit": unit,
                        "system": "http://unitsofmeasure.org",
                        "code": unit,
                    },
                },
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    return orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries})


def fhir_run(
    url: str,
    devices: list[tuple[uuid.UUID, uuid.UUID, str]],
    messages: list[tuple[int, list[Reading]]],
    senders: int,
) -> float:
    """Seconds from the first POST to the last answer (each answered after its commit)."""
    port = free_port()
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": url,
        "HEMKOLL_LOG_LEVEL": "WARNING",
        # The bench's senders are few callers sending fast: the per-caller limits are lifted.
        "HEMKOLL_API_RATE_PER_SECOND": "100000",
        "HEMKOLL_API_RATE_PER_MINUTE": "10000000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "hemkoll", "serve", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                if httpx.get(f"{base}/fhir/R4/metadata").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("hemkoll serve did not start")
            time.sleep(0.2)
        bodies = [(index, bundle(readings)) for index, readings in messages]
        auths = ["Basic " + base64.b64encode(f"{d}:{s}".encode()).decode() for d, _, s in devices]

        def send(share: list[tuple[int, bytes]]) -> None:
            with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as http:
                for index, body in share:
                    answer = http.post(
                        "/fhir/R4",
                        content=body,
                        headers={
                            "Authorization": auths[index],
                            "Content-Type": "application/fhir+json",
                        },
                    )
                    if answer.status_code != 200:
                        raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")

        shares = [bodies[k::senders] for k in range(senders)]
        started = time.monotonic()
        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(send, shares))
        return time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
    registry = fresh_database("fhirreg")
    fhir_db = fresh_database("fhirstore")
    try:
        devices = enrol(registry, args.devices)
        messages = make_messages(args.readings, devices)
        total = sum(len(r) for _, r in messages)
        print(
            f"{total:,} readings in {len(messages)} messages of {PER_MESSAGE}, "
            f"{args.devices} gateways, {os.cpu_count()} cores. Figures taken on a shared, "
            "busy machine: other work ran beside them.",
            flush=True,
        )
        copy_registry(registry, fhir_db)
        print(f"(f) FHIR: {args.senders} httpx senders -> hemkoll serve ...", flush=True)
        t_fhir = fhir_run(fhir_db, devices, messages, args.senders)
        assert one(fhir_db, "SELECT count(*) FROM readings") == total
        workload = Workload(
            [
                (
                    readings_topic(PREFIX, devices[index][0]),
                    orjson.dumps(
                        {
                            "msg_id": uuid.uuid4().hex,
                            "readings": [
                                {
                                    "metric": r.metric,
                                    "value": r.value,
                                    "unit": next(m[1] for m in METRICS if m[0] == r.metric),
                                    "measured_at": r.measured_at.isoformat(),
                                }
                                for r in readings
                            ],
                        }
                    ),
                )
                for index, readings in messages
            ],
            [r for _, readings in messages for r in readings],
        )
        print("(m) MQTT: 1 lean publisher -> Mosquitto -> hemkoll ingest ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="hemkoll-bench-") as tmp:
            run = measure_ingest(
                Path(tmp),
                registry,
                workload,
                argparse.Namespace(publishers=1, publisher="lean"),
                1,
            )
        fhir_rate, mqtt_rate = total / t_fhir, total / run.seconds
        print(f"(f) FHIR ingest: {t_fhir:6.2f} s  {fhir_rate:9,.0f} readings/s")
        print(f"(m) MQTT ingest: {run.seconds:6.2f} s  {mqtt_rate:9,.0f} readings/s")
        print(f"FHIR / MQTT: {fhir_rate / mqtt_rate:.2f}")
    finally:
        drop_database(registry)
        drop_database(fhir_db)


if __name__ == "__main__":
    main()
