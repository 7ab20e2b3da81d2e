"""The rules worker's throughput: patient evaluations a second, one worker or several (issue 18).

    .venv/bin/python bench/worker_throughput.py [--patients 2000] [--days 90] [--workers 1 2]

In a database of its own (local PostgreSQL): --patients patients of one health centre, each
with one gateway and --days days of daily readings (``rules_cohort``: weight, blood pressure,
heart rate, SpO2 and three symptom answers, about a fifth of the days missed, gain episodes
that fire the weight rules), loaded with COPY. Every patient is then queued as ingest queues
her after her morning readings (the gateway to be told what the rules made of yesterday's
readings), and the real worker's batch loop (``RulesWorker.process_due``, the heart-failure
preset) runs until the queue is empty; with several --workers, that many processes, each with
its own connection, share the queue. First one round with the first worker count (the first
evaluation: the episodes open alerts), then all queued again once per worker count (the
steady state: the alerts exist, a morning's readings touch them).

Prints evaluations/s beside the goal (>= 1,000/s for one worker, scaling with workers), and
the workers' CPU per evaluation (their processes, not their PostgreSQL backends). The
machine this runs on is shared and busy (2 cores, other benchmarks and CI): the figures vary
by tens of per cent.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from common import drop_database, fresh_database, one, say
from rules_cohort import CohortSpec, cohort

from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import health_centres
from hemkoll.store.connect import connect
from hemkoll.store.health_centres import CentreSettings

GOAL_PER_S = 1_000.0
SEED = 20261203

_STAGING = """
CREATE TEMPORARY TABLE bench_readings (
    patient integer NOT NULL, metric text NOT NULL, at_us bigint NOT NULL,
    value double precision NOT NULL
)
"""
_MOVE = """
INSERT INTO readings (patient_id, device_id, metric, value, measured_at, received_at)
SELECT p.id, d.id, s.metric, s.value,
       timestamptz 'epoch' + s.at_us * interval '1 microsecond', %(received)s
FROM bench_readings AS s
JOIN bench_patients AS p ON p.n = s.patient
JOIN devices AS d ON d.patient_id = p.id
"""
# As ingest queues a patient after her morning's readings: the gateway that sent them is told
# what the rules made of them (the readings received from the load on, measured yesterday).
_QUEUE = """
INSERT INTO evaluation_queue
    (patient_id, requested_at, feedback_devices, feedback_since, feedback_oldest)
SELECT d.patient_id, clock_timestamp(), ARRAY[d.id], %(received)s, %(oldest)s
FROM devices AS d
ORDER BY d.patient_id
"""

# What the rounds made, to compare runs of different code: each alert's patient, rule, state,
# severity, times and evidence, its history's events in order, the notifications (webhooks
# and device messages) and the patients' deadlines.
_DIGEST = """
SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
    SELECT concat_ws(',', p.reference, a.rule_id, a.state, a.severity, a.first_fired_at,
                     a.last_fired_at, a.evidence::text, a.explanation_en) AS x
    FROM alerts AS a JOIN patients AS p ON p.id = a.patient_id
    UNION ALL
    SELECT concat_ws(',', p.reference, n.channel, n.event, n.device_id IS NULL,
                     n.payload->>'text', n.payload->'data'->>'rule_id',
                     n.payload->'data'->>'severity')
    FROM notifications AS n JOIN patients AS p ON p.id = n.patient_id
    UNION ALL
    SELECT concat_ws(',', p.reference, a.rule_id, e.kind, e.severity, e.details::text,
                     row_number() OVER (PARTITION BY e.alert_id ORDER BY e.id))
    FROM alert_events AS e JOIN alerts AS a ON a.id = e.alert_id
    JOIN patients AS p ON p.id = a.patient_id
    UNION ALL
    SELECT concat_ws(',', p.reference, d.due_at)
    FROM evaluation_deadlines AS d JOIN patients AS p ON p.id = d.patient_id
) AS all_of_it
"""


def _load(url: str, n: int, days: int, today: datetime) -> int:
    """The centre, patients, devices and readings; the number of readings."""
    start = today - timedelta(days=days)
    patients = cohort(CohortSpec(n, days, epoch_us(start), SEED))
    received = datetime.now(UTC)
    with connect(url) as conn:
        centre = health_centres.create_centre(conn, "VC Bänken", CentreSettings())
        conn.execute(
            "CREATE TABLE bench_patients AS SELECT g AS n, gen_random_uuid() AS id"
            " FROM generate_series(0, %(n)s - 1) AS g",
            {"n": n},
        )
        conn.execute(
            "INSERT INTO patients (id, health_centre_id, reference, language, timezone,"
            " enrolled_at) SELECT id, %(c)s, 'B-' || n, 'sv', 'Europe/Stockholm', %(at)s"
            " FROM bench_patients",
            {"c": centre.id, "at": start - timedelta(days=1)},
        )
        conn.execute(
            "INSERT INTO devices (patient_id, kind, enrolled_at, credential_hash)"
            " SELECT id, 'gateway', %(at)s, 'bench' FROM bench_patients",
            {"at": start - timedelta(days=1)},
        )
        conn.execute(_STAGING)
        count = 0
        with conn.cursor() as cur, cur.copy("COPY bench_readings FROM STDIN") as copy:
            for i, series in enumerate(patients):
                lines = []
                for metric, (t, v) in series.items():
                    t_us = np.asarray(t, dtype=np.int64)
                    v_f = np.asarray(v, dtype=np.float64)
                    lines.extend(
                        f"{i}\t{metric}\t{a}\t{b!r}\n"
                        for a, b in zip(t_us.tolist(), v_f.tolist(), strict=True)
                    )
                count += len(lines)
                copy.write("".join(lines))
        conn.execute(_MOVE, {"received": received})
        conn.commit()
    with connect(url) as conn:
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return count


def _queue(url: str, today: datetime) -> None:
    with connect(url) as conn:
        conn.execute(
            _QUEUE,
            {
                "received": datetime.now(UTC) - timedelta(days=1),
                "oldest": today - timedelta(days=1),
            },
        )
        conn.commit()


def _work(
    url: str,
    now: datetime,
    start: multiprocessing.synchronize.Event,
    done: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    worker = RulesWorker(RulesConfig(url, HEART_FAILURE), clock=lambda: now)
    with connect(url) as conn:
        start.wait()
        cpu = time.process_time()
        evaluated = worker.process_due(conn)
        cpu = time.process_time() - cpu
    done.put((evaluated, worker.failed, time.perf_counter(), cpu))


def _round(url: str, now: datetime, workers: int) -> tuple[float, int, int, float]:
    """(seconds, evaluations, failures, the workers' CPU seconds) of ``workers`` processes
    emptying the queue."""
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    done: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_work, args=(url, now, start, done)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # every worker connected
    began = time.perf_counter()
    start.set()
    results = [done.get() for _ in procs]
    for p in procs:
        p.join()
    ended = max(r[2] for r in results)
    return (
        ended - began,
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        sum(r[3] for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    args = parser.parse_args()
    say("figures taken on a shared, busy machine (2 cores, other helpers' runs and CI)")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # The evaluations' clock: the same every run (the time of day matters to the by-noon rule),
    # so that runs of different code can be compared by their alerts (the digest below).
    now = today + timedelta(hours=6)
    url = fresh_database("worker")
    try:
        t0 = time.perf_counter()
        readings = _load(url, args.patients, args.days, today)
        say(
            f"loaded {args.patients:,} patients, {readings:,} readings ({args.days} days) in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        rounds = [(args.workers[0], "first evaluation (the episodes open alerts)")]
        rounds += [(workers, "steady state (the alerts exist)") for workers in args.workers]
        for workers, label in rounds:
            _queue(url, today)
            seconds, evaluated, failed, cpu = _round(url, now, workers)
            rate = evaluated / seconds
            goal = GOAL_PER_S * workers
            say(
                f"{workers} worker(s), {label}: {evaluated:,} evaluations in {seconds:.2f} s"
                f" = {rate:,.0f} evaluations/s (goal >= {goal:,.0f}/s:"
                f" {'met' if rate >= goal else 'NOT met'}); {failed} failed; the workers' CPU"
                f" {1000 * cpu / max(evaluated, 1):.2f} ms an evaluation (their processes, not"
                " their PostgreSQL backends: steadier than the rate on a busy machine)"
            )
        alerts = one(url, "SELECT count(*) FROM alerts")
        digest = one(url, _DIGEST)
        say(f"alerts after the rounds: {alerts:,} (digest of their content {digest[:12]})")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
