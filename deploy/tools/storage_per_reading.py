"""Bytes per stored reading on plain PostgreSQL (no TimescaleDB), for sizing the database.

    .venv/bin/python deploy/tools/storage_per_reading.py [--patients 1000] [--days 60]

Makes a scratch database (dropped at the end), migrates it, enrols the patients with a scale,
a blood-pressure monitor, a pulse oximeter and a symptom questionnaire, and stores a
heart-failure programme's day (9 readings: weight; systolic, diastolic and pulse; SpO2 and
pulse; three symptom scores, at 78 % adherence) through the ingest writer, as `hemkoll ingest`
does. Then it prints pg_total_relation_size (table, TOAST, every index) of readings and of its
rollup readings_hourly, per reading. The admin connection: HEMKOLL_TEST_ADMIN_URL or the local
postgres superuser.
"""

from __future__ import annotations

import argparse
import os
import random
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.migrate import migrate
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading

ADMIN_URL = os.environ.get(
    "HEMKOLL_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ADHERENCE = 0.78  # FAST: weights on 76 % of days; MOBITEL 78 % (shared/references.md)
# (device kind, [(metric, typical value, spread)]) measured once a day, in the morning.
DAY = [
    ("scale", [("body_weight", 82.0, 0.5)]),
    (
        "blood_pressure_monitor",
        [("systolic_bp", 125, 8), ("diastolic_bp", 78, 6), ("heart_rate", 72, 6)],
    ),
    ("pulse_oximeter", [("spo2", 96, 1.5), ("heart_rate", 74, 6)]),
    (
        "symptom_questionnaire",
        [
            ("symptom_breathlessness", 1, 0),
            ("symptom_ankle_swelling", 0, 0),
            ("symptom_fatigue", 1, 0),
        ],
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    name = f"hemkoll_storage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(ADMIN_URL, dbname=name)
    try:
        migrate(url)
        measure(url, args.patients, args.days)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def measure(url: str, patients: int, days: int) -> None:
    rng = random.Random(1)  # noqa: S311 (simulated values, not secrets)
    start = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    start -= timedelta(days=days + 1)
    with connect(url) as conn:
        devices = []
        for p in range(patients):
            for kind, metrics in DAY:
                enrolment = enrol_device(
                    conn,
                    health_centre_name=f"VC {p % 20}",
                    patient_reference=f"P-{p:05d}",
                    device_kind=kind,
                )
                devices.append((enrolment.patient.id, enrolment.device.id, metrics))
        conn.execute("UPDATE devices SET enrolled_at = %s", (start - timedelta(days=1),))
        conn.commit()
        writer = ReadingWriter(conn)
        stored = 0
        for day in range(days):
            messages = []
            for patient_id, device_id, metrics in devices:
                if rng.random() > ADHERENCE:
                    continue
                at = start + timedelta(days=day, minutes=rng.randint(0, 180), seconds=rng.random())
                messages.append(
                    [
                        Reading(patient_id, device_id, metric, round(rng.gauss(mu, sd), 1), at)
                        for metric, mu, sd in metrics
                    ]
                )
            for i in range(0, len(messages), 500):
                stored += sum(writer.write(messages[i : i + 500], []).stored)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) readings, readings_hourly")
        sizes = {
            table: int(
                conn.execute("SELECT pg_total_relation_size(%s::regclass)", (table,)).fetchone()[0]  # type: ignore[index]
            )
            for table in ("readings", "readings_hourly")
        }
        count = int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]
    if count != stored:
        raise RuntimeError(f"stored {stored} readings but the table holds {count}")
    total = sum(sizes.values())
    per_year = 9 * ADHERENCE * 365 * 1000
    print(f"{count} readings of {patients} patients over {days} days")
    for table, size in sizes.items():
        print(f"  {table:16s} {size / 2**20:8.1f} MiB  {size / count:6.1f} B/reading")
    print(f"  {'total':16s} {total / 2**20:8.1f} MiB  {total / count:6.1f} B/reading")
    print(
        f"a year of 1,000 patients ({per_year:,.0f} readings): "
        f"{total / count * per_year / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
