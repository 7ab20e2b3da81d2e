"""Bulk enrolment against the one-by-one API path: patients/s and devices/s, and the ratio.

    .venv/bin/python bench/enrol_bulk.py [--patients 1000] [--devices 4] [--sample 50]

In a database of its own (local PostgreSQL), through the real API in this process (FastAPI's
TestClient: the lifespan, pool, guards and audit are the served ones, without a socket):

  * bulk: one ``POST /api/v1/health-centres/{id}/enrolments`` of --patients x --devices as JSON
    lines, at the API's default body and rate limits; then the same file again (the rerun that
    changes nothing);
  * one by one: --sample patients, each ``POST /api/v1/patients`` and --devices
    ``POST /api/v1/patients/{id}/devices`` (the rate limit lifted for this part only: at the
    default 600 requests a minute the one-by-one path could not go faster than that, which is
    printed too);
  * the credentials' hashing on its own (PBKDF2-SHA512 at Mosquitto's iteration count), the part
    of the bulk time that is CPU in Python.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import orjson
from common import drop_database, fresh_database, say
from fastapi.testclient import TestClient

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.api.guards import MAX_BODY_BYTES, RATE_LIMIT
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import health_centres, staff
from hemkoll.store.connect import connect
from hemkoll.store.credentials import hash_secret, new_secret
from hemkoll.store.health_centres import CentreSettings

KINDS = ["scale", "blood_pressure_monitor", "pulse_oximeter", "thermometer", "gateway"]


def _world(url: str) -> tuple[str, str]:
    with connect(url) as conn, conn.transaction():
        centre = health_centres.create_centre(conn, "Vårdcentralen Bench", CentreSettings())
        admin = staff.create_staff(conn, name="bench", role="admin", health_centre_id=centre.id)
        token = staff.issue_token(conn, admin.id, now=datetime.now(UTC)).token
    return str(centre.id), token


def _bulk(url: str, centre: str, token: str, patients: int, kinds: list[str]) -> None:
    body = b"\n".join(
        orjson.dumps({"reference": f"BULK-{n:06d}", "devices": kinds}) for n in range(patients)
    )
    say(
        f"bulk file: {patients} patients x {len(kinds)} devices, {len(body) / 1024:.0f} KiB "
        f"(body limit {MAX_BODY_BYTES // 1024} KiB)"
    )
    app = create_app(ApiConfig(database_url=url, programme=HEART_FAILURE))  # default limits
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    with TestClient(app) as client:
        for label in ("bulk", "bulk rerun"):
            started = time.perf_counter()
            response = client.post(
                f"/api/v1/health-centres/{centre}/enrolments", content=body, headers=headers
            )
            took = time.perf_counter() - started
            assert response.status_code == 200, response.text[:300]
            report = response.json()
            print(
                f"{label:>12}: {took:6.2f} s  {patients / took:8.0f} patients/s  "
                f"{report['new_devices'] / took:8.0f} devices/s  (created {report['created']}, "
                f"unchanged {report['unchanged']}, new devices {report['new_devices']}, "
                f"response {len(response.content) / 1024:.0f} KiB)"
            )
            if label == "bulk":
                bulk_rate = patients / took
    _one_by_one(url, centre, token, kinds, bulk_rate)


def _one_by_one(url: str, centre: str, token: str, kinds: list[str], bulk_rate: float) -> None:
    app = create_app(
        ApiConfig(database_url=url, programme=HEART_FAILURE, rate_limit="1000000/second")
    )
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        started = time.perf_counter()
        for n in range(ARGS.sample):
            created = client.post(
                "/api/v1/patients",
                headers=headers,
                json={"reference": f"ONE-{n:06d}", "health_centre_id": centre},
            )
            assert created.status_code == 201, created.text
            for kind in kinds:
                device = client.post(
                    f"/api/v1/patients/{created.json()['id']}/devices",
                    headers=headers,
                    json={"kind": kind},
                )
                assert device.status_code == 201, device.text
        took = time.perf_counter() - started
    requests = ARGS.sample * (1 + len(kinds))
    rate = ARGS.sample / took
    print(
        f"{'one by one':>12}: {took:6.2f} s  {rate:8.0f} patients/s  "
        f"{ARGS.sample * len(kinds) / took:8.0f} devices/s  ({ARGS.sample} patients, "
        f"{requests} requests, rate limit lifted)"
    )
    per_minute = int(RATE_LIMIT.split(";")[-1].split("/")[0])
    capped = per_minute / 60 / (1 + len(kinds))
    print(
        f"{'':>12}  at the default rate limit ({RATE_LIMIT}) at most {capped:.1f} patients/s: "
        f"{ARGS.patients} patients take >= {ARGS.patients / capped / 60:.1f} min"
    )
    print(f"{'ratio':>12}: bulk is {bulk_rate / rate:.0f}x the one-by-one path (patients/s)")


def _hashing(n: int) -> None:
    secret = new_secret()
    started = time.perf_counter()
    for _ in range(n):
        hash_secret(secret)
    took = time.perf_counter() - started
    print(
        f"{'hashing':>12}: {n} device credentials in {took:.2f} s "
        f"({took / n * 1e6:.0f} us each, one core)"
    )


def main() -> None:
    url = fresh_database("enrol_bulk")
    try:
        centre, token = _world(url)
        kinds = (KINDS * ARGS.devices)[: ARGS.devices]
        _bulk(url, centre, token, ARGS.patients, kinds)
        _hashing(ARGS.patients * ARGS.devices)
    finally:
        drop_database(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--sample", type=int, default=50)
    ARGS = parser.parse_args()
    main()
