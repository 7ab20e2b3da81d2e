"""Readings over a time range: per local day from the hourly rollup, and raw page by page.

Readings go in through the ingest writer (COPY, then INSERT ... ON CONFLICT DO NOTHING), so the
rollup is kept by the trigger exactly as in production; every daily figure is checked against
a computation in Python over the readings that were stored.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest

from hemkoll.fhir.observation import entries
from hemkoll.store import migrate as migrate_module
from hemkoll.store.connect import connect
from hemkoll.store.migrate import available_migrations, migrate
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.readings_query import (
    BloodPressure,
    DailyAggregate,
    RawReading,
    daily_readings,
    daily_readings_from_raw,
    observation_entries,
    raw_readings,
)
from hemkoll.store.types import Reading
from tests.helpers import enrol

TZ = "Europe/Stockholm"
ZONE = ZoneInfo(TZ)
US = timedelta(microseconds=1)


def local(wall_clock: str) -> datetime:
    """A Stockholm wall-clock time: local("2026-03-29 03:00") is 03:00 on 29 March."""
    return datetime.fromisoformat(wall_clock).replace(tzinfo=ZONE)


def write(db_url: str, batches: Iterable[Sequence[Reading]]) -> None:
    with connect(db_url) as conn:
        writer = ReadingWriter(conn)
        for batch in batches:
            writer.write([batch], [])


def in_batches(readings: list[Reading], rng: random.Random) -> list[list[Reading]]:
    """Shuffled into batches of random sizes: hours are filled by several statements, out of
    order, as backlogs and live readings interleave."""
    shuffled = readings[:]
    rng.shuffle(shuffled)
    batches, i = [], 0
    while i < len(shuffled):
        size = rng.randint(1, 120)
        batches.append(shuffled[i : i + size])
        i += size
    return batches


def expected_daily(
    stored: Iterable[Reading], since: date, until: date, metrics: Sequence[str] | None = None
) -> list[DailyAggregate]:
    groups: dict[tuple[str, date], list[Reading]] = defaultdict(list)
    for r in stored:
        day = r.measured_at.astimezone(ZONE).date()
        if since <= day < until and (metrics is None or r.metric in metrics):
            groups[r.metric, day].append(r)
    result = []
    for (metric, day), rows in sorted(groups.items()):
        values = np.array([r.value for r in rows])
        last = max(rows, key=lambda r: (r.measured_at, r.value))
        result.append(
            DailyAggregate(
                metric=metric,
                day=day,
                n=len(rows),
                min=float(values.min()),
                max=float(values.max()),
                mean=float(values.mean()),
                last_value=last.value,
                last_at=last.measured_at,
            )
        )
    return result


def assert_same_days(actual: list[DailyAggregate], expected: list[DailyAggregate]) -> None:
    assert [(a.metric, a.day) for a in actual] == [(e.metric, e.day) for e in expected]
    for a, e in zip(actual, expected, strict=True):
        assert (a.n, a.min, a.max, a.last_value, a.last_at) == (
            e.n,
            e.min,
            e.max,
            e.last_value,
            e.last_at,
        ), (a, e)
        assert a.mean == pytest.approx(e.mean, rel=1e-12), (a, e)


def dst_readings(patient: uuid.UUID, wearable: uuid.UUID, scale: uuid.UUID) -> list[Reading]:
    """Heart rate every 7 minutes around both daylight-saving changes of 2026 in Stockholm
    (29 March, a 23-hour day; 25 October, a 25-hour day), and weights on both sides of local
    midnight, at the very edges of the queried range and of the hours."""
    rng = random.Random(7)
    readings: list[Reading] = []
    for start in (datetime(2026, 3, 26, 12, tzinfo=UTC), datetime(2026, 10, 22, 12, tzinfo=UTC)):
        for i in range(6 * 24 * 60 // 7):
            at = start + timedelta(minutes=7 * i, seconds=rng.randint(0, 59))
            readings.append(Reading(patient, wearable, "heart_rate", rng.randint(48, 130), at))
    edges = [
        local("2026-03-27 23:59:59"),
        local("2026-03-28") - US,
        local("2026-03-28"),
        local("2026-03-29") - US,
        local("2026-03-29"),
        local("2026-03-29 01:59:59"),
        local("2026-03-29 03:00"),  # 02:00 does not exist that night
        local("2026-03-30"),
        local("2026-03-31") - US,
        local("2026-03-31"),  # the first instant after the range of the first query
        local("2026-10-24") - US,
        local("2026-10-25"),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first of the two
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 CET, the second
        local("2026-10-26") - US,
        local("2026-10-26"),
    ]
    for j, at in enumerate(edges):
        readings.append(Reading(patient, scale, "body_weight", 80 + j / 10, at.astimezone(UTC)))
    return readings


def test_daily_aggregates_match_the_raw_readings_in_local_days(db_url: str) -> None:
    a = enrol(db_url, kind="gateway")
    b = enrol(db_url, kind="scale")  # the same patient's second device
    patient = a.patient.id
    readings = dst_readings(patient, a.device.id, b.device.id)
    write(db_url, in_batches(readings, random.Random(1)))
    # Two devices measuring at one instant: both are stored and the newest value is the
    # larger, whichever arrived first (the larger first on the 29th, last on the 30th).
    tie, tie_next_day = local("2026-03-29 12:00"), local("2026-03-30 12:00")
    ties = [
        Reading(patient, b.device.id, "body_weight", 81.9, tie),
        Reading(patient, a.device.id, "body_weight", 81.5, tie),
        Reading(patient, a.device.id, "body_weight", 82.5, tie_next_day),
        Reading(patient, b.device.id, "body_weight", 82.7, tie_next_day),
    ]
    write(db_url, [[r] for r in ties])
    readings += ties

    with connect(db_url) as conn:
        for since, until in (
            (date(2026, 3, 28), date(2026, 3, 31)),
            (date(2026, 10, 23), date(2026, 10, 27)),
        ):
            expected = expected_daily(readings, since, until)
            assert {e.day for e in expected} == {
                since + timedelta(days=i) for i in range((until - since).days)
            }
            actual = daily_readings(conn, patient, metrics=None, since=since, until=until, tz=TZ)
            assert_same_days(actual, expected)
            raw = daily_readings_from_raw(
                conn, patient, metrics=None, since=since, until=until, tz=TZ
            )
            assert_same_days(raw, expected)
        days = daily_readings(
            conn,
            patient,
            metrics=["body_weight"],
            since=date(2026, 3, 29),
            until=date(2026, 3, 30),
            tz=TZ,
        )
    assert len(days) == 1
    assert (days[0].last_value, days[0].last_at) == (81.9, tie)
    # The 23-hour day held 23 hours of heart rate, the 25-hour day 25.
    with connect(db_url) as conn:
        hours: dict[date, int] = dict(
            conn.execute(
                "SELECT (hour AT TIME ZONE %s)::date, count(*) FROM readings_hourly"
                " WHERE metric = 'heart_rate' GROUP BY 1",
                (TZ,),
            ).fetchall()
        )
        newest = conn.execute(
            "SELECT hour, last_value FROM readings_hourly"
            " WHERE metric = 'body_weight' AND hour = ANY(%s) ORDER BY hour",
            ([tie, tie_next_day],),
        ).fetchall()
    assert hours[date(2026, 3, 29)] == 23
    assert hours[date(2026, 10, 25)] == 25
    assert newest == [(tie, 81.9), (tie_next_day, 82.7)]


def test_resent_readings_are_counted_once(db_url: str) -> None:
    device = enrol(db_url, kind="gateway")
    patient, dev = device.patient.id, device.device.id
    start = local("2026-05-04 23:30")
    readings = [
        Reading(patient, dev, "heart_rate", 60.0 + i, start + timedelta(minutes=i))
        for i in range(90)
    ]
    with connect(db_url) as conn:
        writer = ReadingWriter(conn)
        assert writer.write([readings[:60]], []).stored == (60,)
        # The backlog again, overlapping, with one reading carried twice in one message and a
        # resend whose value differs (the first value is kept): only 30 are new.
        resend = [*readings[30:], readings[70], Reading(patient, dev, "heart_rate", 500.0, start)]
        assert writer.write([resend, readings[:60]], []).stored == (30, 0)
        assert writer.write([readings], []).stored == (0,)
        rollup = conn.execute("SELECT sum(n), max(max_value) FROM readings_hourly").fetchone()
        assert rollup == (90, 149.0)
        days = daily_readings(
            conn, patient, metrics=None, since=date(2026, 5, 4), until=date(2026, 5, 6), tz=TZ
        )
    assert_same_days(days, expected_daily(readings, date(2026, 5, 4), date(2026, 5, 6)))
    assert [d.n for d in days] == [30, 60]


def test_concurrent_writers_merge_into_the_same_hours(db_url: str) -> None:
    """Two ingest writers (two devices of one patient) filling the same hours at once."""
    devices = [enrol(db_url, kind="gateway"), enrol(db_url, kind="scale")]
    patient = devices[0].patient.id
    start = datetime(2026, 2, 1, tzinfo=UTC)
    per_device = [
        [
            Reading(
                patient, d.device.id, "heart_rate", float(i % 97), start + timedelta(seconds=37 * i)
            )
            for i in range(3000)
        ]
        for d in devices
    ]
    errors: list[BaseException] = []

    def run(readings: list[Reading], seed: int) -> None:
        try:
            write(db_url, in_batches(readings, random.Random(seed)))
        except BaseException as exc:  # noqa: BLE001 (the assertion below reports it)
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(readings, seed))
        for seed, readings in enumerate(per_device)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with connect(db_url) as conn:
        days = daily_readings(
            conn, patient, metrics=None, since=date(2026, 1, 31), until=date(2026, 2, 4), tz=TZ
        )
    everything = [r for readings in per_device for r in readings]
    assert_same_days(days, expected_daily(everything, date(2026, 1, 31), date(2026, 2, 4)))


def test_raw_pages_return_every_reading_once_in_order(db_url: str) -> None:
    a = enrol(db_url, kind="gateway")
    b = enrol(db_url, kind="scale")
    other = enrol(db_url, kind="gateway", patient="P-2")
    patient = a.patient.id
    rng = random.Random(3)
    start = datetime(2026, 1, 10, tzinfo=UTC)
    readings: list[Reading] = []
    for i in range(400):
        # Coarse times so that many readings share measured_at across metrics and devices.
        at = start + timedelta(minutes=rng.randint(0, 600))
        metric = rng.choice(["heart_rate", "spo2", "body_weight", "systolic_bp"])
        device = rng.choice([a.device.id, b.device.id])
        readings.append(Reading(patient, device, metric, float(i), at))
        readings.append(Reading(other.patient.id, other.device.id, metric, float(i), at))
    write(db_url, in_batches(readings, rng))
    stored = {(r.measured_at, r.metric, r.device_id) for r in readings if r.patient_id == patient}
    since, until = start + timedelta(minutes=60), start + timedelta(minutes=500)

    def all_pages(metrics: list[str] | None, limit: int) -> list[RawReading]:
        rows: list[RawReading] = []
        with connect(db_url) as conn:
            after = None
            while True:
                page = raw_readings(
                    conn,
                    patient,
                    metrics=metrics,
                    since=since,
                    until=until,
                    limit=limit,
                    after=after,
                )
                rows += page
                if len(page) < limit:
                    return rows
                after = page[-1].cursor

    for metrics, limit in ((None, 7), (None, 1), (["spo2", "heart_rate"], 13), (["spo2"], 1000)):
        rows = all_pages(metrics, limit)
        keys = [r.cursor for r in rows]
        assert keys == sorted(set(keys)), "each reading once, in (measured_at, metric, device)"
        assert set(keys) == {
            k for k in stored if since <= k[0] < until and (metrics is None or k[1] in metrics)
        }
        assert all(r.received_at.tzinfo is not None for r in rows)


def test_observation_pages_pair_each_cuffs_halves_and_never_split_a_pair(db_url: str) -> None:
    """``observation_entries`` against the readings themselves: every page, whatever its size
    and kinds, is the readings paired by ``hemkoll.fhir.observation.entries`` (a device's
    systolic and diastolic of one instant as one BloodPressure, in (measured_at, kind, device)
    order), each entry once and each pair whole, also where two cuffs measure at one instant
    and halves come alone."""
    a = enrol(db_url, kind="gateway")
    b = enrol(db_url, kind="blood_pressure_monitor")
    other = enrol(db_url, kind="gateway", patient="P-2")
    patient = a.patient.id
    rng = random.Random(17)
    start = datetime(2026, 1, 10, tzinfo=UTC)
    readings: list[Reading] = []
    for i in range(300):
        at = start + timedelta(minutes=rng.randint(0, 300))  # coarse: instants shared
        device = rng.choice([a.device.id, b.device.id])
        metrics = rng.choice(
            [
                ["systolic_bp", "diastolic_bp", "heart_rate"],
                ["systolic_bp"],
                ["diastolic_bp"],
                ["spo2"],
                ["body_weight", "systolic_bp", "diastolic_bp"],
            ]
        )
        for metric in metrics:
            readings.append(Reading(patient, device, metric, float(100 + i), at))
            readings.append(Reading(other.patient.id, other.device.id, metric, float(i), at))
    write(db_url, in_batches(readings, rng))
    since, until = start + timedelta(minutes=30), start + timedelta(minutes=270)
    with connect(db_url) as conn:
        raw = raw_readings(conn, patient, metrics=None, since=since, until=until, limit=10_000)
    expected = sorted(entries(raw), key=lambda e: e.cursor)
    assert any(
        isinstance(e, BloodPressure) and None not in (e.systolic, e.diastolic) for e in expected
    )

    def kind(entry: RawReading | BloodPressure) -> str:
        return entry.cursor[1]

    for kinds, limit in (
        (None, 1),
        (None, 4),
        (None, 1000),
        (["blood_pressure"], 3),
        (["blood_pressure", "heart_rate"], 5),
        (["spo2"], 2),
    ):
        found: list[RawReading | BloodPressure] = []
        with connect(db_url) as conn:
            after = None
            while True:
                page = observation_entries(
                    conn, patient, kinds=kinds, since=since, until=until, limit=limit, after=after
                )
                assert len(page) <= limit
                found += page
                if len(page) < limit:
                    break
                assert page[-1].cursor != after, "the cursor moves on"
                after = page[-1].cursor
        assert found == [e for e in expected if kinds is None or kind(e) in kinds], (kinds, limit)
    with connect(db_url) as conn, pytest.raises(ValueError, match="served as"):
        observation_entries(conn, patient, kinds=["systolic_bp"], since=since, until=until, limit=1)


def test_metric_filter_and_empty_ranges(db_url: str) -> None:
    device = enrol(db_url, kind="gateway")
    patient = device.patient.id
    at = local("2026-06-01 08:00")
    write(
        db_url,
        [
            [
                Reading(patient, device.device.id, "systolic_bp", 130.0, at),
                Reading(patient, device.device.id, "diastolic_bp", 85.0, at),
                Reading(patient, device.device.id, "body_weight", 80.2, at),
            ]
        ],
    )
    june1, june2 = date(2026, 6, 1), date(2026, 6, 2)
    with connect(db_url) as conn:

        def days(metrics: list[str] | None) -> list[str]:
            rows = daily_readings(conn, patient, metrics=metrics, since=june1, until=june2, tz=TZ)
            return [r.metric for r in rows]

        def raw(metrics: list[str] | None) -> list[str]:
            rows = raw_readings(conn, patient, metrics=metrics, since=at, until=at + US, limit=100)
            return [r.metric for r in rows]

        assert days(None) == ["body_weight", "diastolic_bp", "systolic_bp"]
        assert days(["systolic_bp", "diastolic_bp"]) == ["diastolic_bp", "systolic_bp"]
        assert days([]) == []
        assert days(["heart_rate"]) == []
        assert raw(None) == ["body_weight", "diastolic_bp", "systolic_bp"]
        assert raw(["diastolic_bp"]) == ["diastolic_bp"]
        assert raw(["diastolic_bp", "diastolic_bp"]) == ["diastolic_bp"]
        assert raw([]) == []
        assert daily_readings(conn, patient, metrics=None, since=june2, until=june2, tz=TZ) == []
        assert (
            daily_readings(conn, uuid.uuid4(), metrics=None, since=june1, until=june2, tz=TZ) == []
        )


def test_bad_arguments_are_refused(db_url: str) -> None:
    patient = uuid.uuid4()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with connect(db_url) as conn:
        with pytest.raises(ValueError, match="aware"):
            raw_readings(
                conn, patient, metrics=None, since=now.replace(tzinfo=None), until=now, limit=10
            )
        with pytest.raises(ValueError, match="limit"):
            raw_readings(conn, patient, metrics=None, since=now, until=now, limit=0)
        with pytest.raises(ValueError, match="whole-hour"):
            daily_readings(
                conn,
                patient,
                metrics=None,
                since=date(2026, 1, 1),
                until=date(2026, 2, 1),
                tz="Asia/Kolkata",
            )
        with pytest.raises(TypeError, match="local dates"):
            daily_readings(conn, patient, metrics=None, since=now, until=now, tz=TZ)
        with pytest.raises(TypeError, match="list"):
            daily_readings(
                conn,
                patient,
                metrics="heart_rate",
                since=date(2026, 1, 1),
                until=date(2026, 1, 2),
                tz=TZ,
            )


def test_the_migration_backfills_readings_stored_before_it(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = available_migrations()
    rollup = next(m for m in everything if m.name == "readings_hourly")
    before = [m for m in everything if m.version < rollup.version]
    # The migrations before 0006 only; then readings as an older hemkoll stored them.
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: before)
    migrate(empty_db_url)
    # Registered as the schema of then has it (today's enrolment writes columns of later
    # migrations, such as a centre's care provider of 0020).
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute(
            "WITH c AS (INSERT INTO health_centres (name) VALUES ('VC Tuna') RETURNING id),"
            " p AS (INSERT INTO patients (health_centre_id, reference)"
            "       SELECT id, 'TUNA-0042' FROM c RETURNING id)"
            " INSERT INTO devices (patient_id, kind, credential_hash)"
            " SELECT id, 'gateway', '$7$101$c2FsdA==$aGFzaA==' FROM p RETURNING patient_id, id"
        ).fetchone()
    assert row is not None
    patient, device_id = row
    readings = dst_readings(patient, device_id, device_id)
    with psycopg.connect(empty_db_url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (patient_id, device_id, metric, value, measured_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(r.patient_id, r.device_id, r.metric, r.value, r.measured_at) for r in readings],
        )
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: everything)
    assert migrate(empty_db_url)[0] == rollup
    since, until = date(2026, 10, 23), date(2026, 10, 27)
    with connect(empty_db_url) as conn:
        days = daily_readings(conn, patient, metrics=None, since=since, until=until, tz=TZ)
    assert_same_days(days, expected_daily(readings, since, until))
