"""A patient's year of readings per local day: the hourly rollup against the raw readings.

    .venv/bin/python bench/readings_query.py [--days 365] [--runs 7] [--batches 15]

In a database of its own (local PostgreSQL, plain path: readings_hourly kept by the trigger of
migration 0006), one patient with a continuous wearable (heart rate once a minute: 525,600
readings a year) and a daily scale and blood-pressure monitor, all written through the ingest
writer in 2,000-reading batches. Then, warm cache, median of --runs:

  * daily over the year: hemkoll.store.readings_query.daily_readings (the rollup folded into
    Europe/Stockholm days) against the same figures aggregated from the raw readings in the same
    process (daily_readings_from_raw; also without the day's newest value, the cheapest raw
    aggregate), checked to agree;
  * raw paging: a 1,000-reading page at the start, middle and end of the year, and the whole
    year page by page; the same for the FHIR search's pages (observation_entries: a cuff's
    systolic and diastolic paired into one blood-pressure panel in SQL);
  * the rollup's cost on ingest: the writer's 2,000-reading batch with the trigger and without
    it (disabled for the batch; batches alternate), for a wearable's backlog (one patient, ~34
    hours), for a morning of 500 patients x 4 measurements (2,000 distinct hours, the trigger's
    worst case), and for a resent batch (all duplicates).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from common import drop_database, fresh_database
from psycopg import sql

from hemkoll.ingest.service import BATCH_MAX_READINGS
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.readings_query import (
    DailyAggregate,
    daily_readings,
    daily_readings_from_raw,
    observation_entries,
    raw_readings,
)
from hemkoll.store.types import Reading

TZ = "Europe/Stockholm"
ZONE = ZoneInfo(TZ)
FIRST_DAY = date(2025, 1, 1)  # a year crosses both daylight-saving changes
PAGE = 1_000
MORNING_PATIENTS = 500
TRIGGER = "readings_hourly_rollup"

# The cheapest raw aggregate: no newest value of the day (which needs an ordered aggregate).
RAW_WITHOUT_LAST = """
SELECT metric, (measured_at AT TIME ZONE %(tz)s)::date AS day,
       count(*), min(value), max(value), avg(value)
FROM readings
WHERE patient_id = %(patient_id)s
  AND measured_at >= (%(since)s::date::timestamp AT TIME ZONE %(tz)s)
  AND measured_at < (%(until)s::date::timestamp AT TIME ZONE %(tz)s)
GROUP BY 1, 2 ORDER BY 1, 2
"""


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE).astimezone(UTC)


def year_of_readings(
    patient: uuid.UUID, devices: dict[str, uuid.UUID], *, days: int, seed: int
) -> list[Reading]:
    wearable, scale, bp = (devices[k] for k in ("gateway", "scale", "blood_pressure_monitor"))
    rng = np.random.default_rng(seed)
    start = local_midnight(FIRST_DAY)
    minutes = days * 24 * 60
    heart = np.round(
        70 + 8 * np.sin(np.arange(minutes) * 2 * np.pi / 1440) + rng.normal(0, 6, minutes)
    )
    readings = [
        Reading(patient, wearable, "heart_rate", float(v), start + timedelta(minutes=i))
        for i, v in enumerate(heart)
    ]
    for d in range(days):
        morning = local_midnight(FIRST_DAY + timedelta(days=d)) + timedelta(hours=7, minutes=d % 50)
        readings.append(Reading(patient, scale, "body_weight", 82 + rng.normal(0, 0.4), morning))
        readings.append(Reading(patient, bp, "systolic_bp", 130 + rng.normal(0, 8), morning))
        readings.append(Reading(patient, bp, "diastolic_bp", 82 + rng.normal(0, 5), morning))
    return readings


# psycopg prepares a statement on its 5th execution; warm up past that to time the steady state.
WARM_UP = 6


def paged_year(
    page: Callable[[datetime, Any], Sequence[Any]], start: datetime, end: datetime, runs: int
) -> tuple[int, int, float]:
    """A page (``page(since, after)``, its rows carrying their ``cursor``) at the start, middle
    and end of the year, median of ``runs`` (printed); then the whole year, page after page:
    (rows, pages, seconds)."""
    for label, at in (
        ("start", start),
        ("middle", start + (end - start) / 2),
        ("end", end - timedelta(hours=12)),
    ):
        ms, _, _ = timed(lambda at=at: page(at, None), runs)
        print(f"  a page at the {label:<6} of the year: {ms:6.1f} ms (median)")
    t0 = time.perf_counter()
    total, pages, after = 0, 0, None
    while True:
        rows = page(start, after)
        total, pages = total + len(rows), pages + 1
        if len(rows) < PAGE:
            break
        after = rows[-1].cursor
    return total, pages, time.perf_counter() - t0


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, object]:
    """Median and fastest wall time in ms over ``runs`` after a warm-up, and the last result.

    Both, because the machine may be shared: the fastest is the least disturbed run.
    """
    result = None
    for _ in range(WARM_UP):
        result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), result


def agree(a: list[DailyAggregate], b: list[DailyAggregate]) -> bool:
    return len(a) == len(b) and all(
        (x.metric, x.day, x.n, x.min, x.max, x.last_value, x.last_at)
        == (y.metric, y.day, y.n, y.min, y.max, y.last_value, y.last_at)
        and abs(x.mean - y.mean) <= 1e-9 * abs(y.mean)
        for x, y in zip(a, b, strict=True)
    )


def writer_cost(
    url: str, make_batch: Callable[[int], list[Reading]], batches: int
) -> tuple[float, float, float]:
    """Median ms per 2,000-reading batch with the trigger, without it, and resent (with it)."""
    with_trigger, without, resent = [], [], []
    with connect(url) as conn:
        writer = ReadingWriter(conn)
        for i in range(2 * batches + 2):
            enabled = i % 2 == 0
            action = "ENABLE" if enabled else "DISABLE"
            conn.execute(
                sql.SQL("ALTER TABLE readings {} TRIGGER {}").format(
                    sql.SQL(action), sql.Identifier(TRIGGER)
                )
            )
            conn.commit()
            batch = make_batch(i)
            t0 = time.perf_counter()
            assert writer.write([batch], []).stored == (len(batch),)
            elapsed = (time.perf_counter() - t0) * 1000
            if i >= 2:  # the first of each is a warm-up
                (with_trigger if enabled else without).append(elapsed)
            if enabled:
                t0 = time.perf_counter()
                assert writer.write([batch], []).stored == (0,)
                resent.append((time.perf_counter() - t0) * 1000)
        conn.execute(
            sql.SQL("ALTER TABLE readings ENABLE TRIGGER {}").format(sql.Identifier(TRIGGER))
        )
        conn.commit()
    return statistics.median(with_trigger), statistics.median(without), statistics.median(resent)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batches", type=int, default=15, help="writer batches per case")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    url = fresh_database("readings")
    try:
        with connect(url) as conn:
            ids = {
                kind: enrol_device(
                    conn, health_centre_name="Bench VC", patient_reference="B-1", device_kind=kind
                )
                for kind in ("gateway", "scale", "blood_pressure_monitor")
            }
            morning = [
                enrol_device(
                    conn,
                    health_centre_name="Bench VC",
                    patient_reference=f"M-{i}",
                    device_kind="gateway",
                )
                for i in range(MORNING_PATIENTS)
            ]
        patient = ids["gateway"].patient.id
        readings = year_of_readings(
            patient, {kind: e.device.id for kind, e in ids.items()}, days=args.days, seed=args.seed
        )
        t0 = time.perf_counter()
        with connect(url) as conn:
            writer = ReadingWriter(conn)
            for i in range(0, len(readings), BATCH_MAX_READINGS):
                writer.write([readings[i : i + BATCH_MAX_READINGS]], [])
        load_s = time.perf_counter() - t0
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE readings")
            conn.execute("VACUUM ANALYZE readings_hourly")
            hourly = conn.execute("SELECT count(*) FROM readings_hourly").fetchone()
        print(
            f"one patient, {args.days} days: {len(readings):,} readings (heart rate once a minute,"
            f" daily weight and blood pressure) written by the ingest writer in "
            f"{BATCH_MAX_READINGS:,}-reading batches in {load_s:.1f} s "
            f"({len(readings) / load_s:,.0f} readings/s, rollup trigger on); "
            f"readings_hourly: {hourly[0] if hourly else 0:,} rows; {os.cpu_count()} cores"
        )

        since, until = FIRST_DAY, FIRST_DAY + timedelta(days=args.days)
        span = {"metrics": None, "since": since, "until": until, "tz": TZ}
        with connect(url) as conn:
            rollup_ms, rollup_min, rollup = timed(
                lambda: daily_readings(conn, patient, **span), args.runs
            )
            raw_ms, raw_min, raw = timed(
                lambda: daily_readings_from_raw(conn, patient, **span), args.runs
            )
            lean_ms, lean_min, _ = timed(
                lambda: conn.execute(
                    RAW_WITHOUT_LAST,
                    {"patient_id": patient, "since": since, "until": until, "tz": TZ},
                ).fetchall(),
                args.runs,
            )
        assert isinstance(rollup, list)
        assert isinstance(raw, list)
        print(
            f"\ndaily over {args.days} days ({len(rollup):,} metric-days; ms, median and fastest "
            f"of {args.runs}, warm):"
        )
        print(f"  {'':<48}{'median':>8}{'fastest':>9}{'ratio (median, fastest)':>27}")
        print(f"  {'rollup, folded into ' + TZ + ' days':<48}{rollup_ms:8.1f}{rollup_min:9.1f}")
        for label, ms, fastest in (
            ("raw readings, the same figures", raw_ms, raw_min),
            ("raw readings, without the newest value", lean_ms, lean_min),
        ):
            print(
                f"  {label:<48}{ms:8.1f}{fastest:9.1f}"
                f"{ms / rollup_ms:16.1f}x{fastest / rollup_min:9.1f}x"
            )
        print(f"  rollup and raw agree: {'yes' if agree(rollup, raw) else 'NO'}")

        start, end = local_midnight(since), local_midnight(until)
        print(f"\nraw paging ({PAGE:,} readings a page, all metrics):")
        with connect(url) as conn:
            total, pages, whole_s = paged_year(
                lambda at, after: raw_readings(
                    conn, patient, metrics=None, since=at, until=end, limit=PAGE, after=after
                ),
                start,
                end,
                args.runs,
            )
        assert total == len(readings), (total, len(readings))
        print(
            f"  the whole year, {pages} pages, {total:,} readings: {whole_s:.2f} s "
            f"({whole_s / pages * 1000:.1f} ms a page)"
        )

        # The FHIR search's page (observation_entries): the same range, a cuff's systolic and
        # diastolic paired into one panel in SQL (a full join of each half's page).
        print(f"\nFHIR Observation paging ({PAGE:,} entries a page, a BP panel one entry):")
        with connect(url) as conn:
            served, pages, whole_s = paged_year(
                lambda at, after: observation_entries(
                    conn, patient, kinds=None, since=at, until=end, limit=PAGE, after=after
                ),
                start,
                end,
                args.runs,
            )
        pairs = len({(r.device_id, r.measured_at) for r in readings if r.metric == "systolic_bp"})
        assert served == len(readings) - pairs, (served, len(readings), pairs)
        print(
            f"  the whole year, {pages} pages, {served:,} entries ({pairs:,} panels): "
            f"{whole_s:.2f} s ({whole_s / pages * 1000:.1f} ms a page)"
        )

        wearable = ids["gateway"]
        later = local_midnight(until) + timedelta(days=30)

        def backlog(i: int) -> list[Reading]:
            first = later + timedelta(minutes=i * BATCH_MAX_READINGS)
            return [
                Reading(
                    wearable.patient.id,
                    wearable.device.id,
                    "heart_rate",
                    70.0,
                    first + timedelta(minutes=k),
                )
                for k in range(BATCH_MAX_READINGS)
            ]

        metrics = ("body_weight", "systolic_bp", "diastolic_bp", "heart_rate")

        def mornings(i: int) -> list[Reading]:
            at = later + timedelta(days=100 + i, hours=7)
            return [
                Reading(e.patient.id, e.device.id, metric, 80.0, at)
                for e in morning
                for metric in metrics
            ]

        print(
            f"\nthe rollup on the ingest path (writer, one {BATCH_MAX_READINGS:,}-reading batch, "
            f"median of {args.batches}; trigger on and off alternate):"
        )
        print(f"  {'':<42}{'with':>9}{'without':>10}{'cost':>9}{'resent':>9}")
        for label, make in (
            ("a wearable's backlog (~34 hours)", backlog),
            (f"a morning, {MORNING_PATIENTS} patients x 4 (2,000 hours)", mornings),
        ):
            on, off, resent = writer_cost(url, make, args.batches)
            print(
                f"  {label:<42}{on:7.1f}ms{off:8.1f}ms{on - off:+7.1f}ms{resent:7.1f}ms"
                f"  (x{on / off:.2f})"
            )
        print("  (resent: the same batch again, all duplicates, trigger on)")
    finally:
        if args.keep:
            print(f"\nkept {url}")
        else:
            drop_database(url)


if __name__ == "__main__":
    main()
