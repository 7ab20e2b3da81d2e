"""Deadlines against the sweep they replaced (issue 18): what the time-based rules cost the
scheduler and the rules workers, per pass and per second, at national scale.

    .venv/bin/python bench/deadlines.py [--patients 250000] [--passes 5]

In a database of its own (local PostgreSQL): --patients enrolled patients, each with a stored
deadline spread evenly over the next 48 hours (a 48 h weight-silence rule after a daily
reading). Measured in the same run:

  * the sweep (before issue 18): every patient queued every 15 minutes, i.e. N/900 evaluations
    a second for the workers before any reading arrives; its statement's time per pass;
  * the deadlines: the scheduler's look every 30 s (``evaluation_queue.queue_due``), the
    patients it queues (those whose deadline passed in those 30 s) and its time per look.

The queue is emptied after each pass, as the workers would. Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from common import drop_database, fresh_database, say

from hemkoll.alerts.worker import DEADLINE_POLL_S
from hemkoll.store import evaluation_queue, health_centres
from hemkoll.store.connect import connect
from hemkoll.store.health_centres import CentreSettings

SWEEP_INTERVAL_S = 15 * 60  # the scheduled pass before deadlines
SPREAD = timedelta(hours=48)

_SWEEP = """
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT id, clock_timestamp() FROM patients WHERE discharged_at IS NULL
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1
"""


def _load(url: str, n: int, now: datetime) -> None:
    with connect(url) as conn:
        centre = health_centres.create_centre(conn, "VC Skala", CentreSettings())
        conn.execute(
            "INSERT INTO patients (health_centre_id, reference, language, timezone)"
            " SELECT %(c)s, 'P-' || g, 'sv', 'Europe/Stockholm' FROM generate_series(1, %(n)s) g",
            {"c": centre.id, "n": n},
        )
        conn.execute(
            "INSERT INTO evaluation_deadlines (patient_id, due_at, programme)"
            " SELECT id, %(now)s + %(spread)s * random(), 'preset' FROM patients",
            {"now": now, "spread": SPREAD},
        )
        conn.commit()
        conn.execute("ANALYZE")


def _empty_queue(url: str) -> None:
    with connect(url) as conn:
        conn.execute("DELETE FROM evaluation_queue")
        conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(UTC)
    url = fresh_database("deadlines")
    try:
        say(f"loading {args.patients:,} patients with deadlines over the next 48 h")
        _load(url, args.patients, now)
        sweep_s: list[float] = []
        for _ in range(args.passes):
            with connect(url) as conn:
                started = time.perf_counter()
                queued = conn.execute(_SWEEP).rowcount
                conn.commit()
                sweep_s.append(time.perf_counter() - started)
            _empty_queue(url)
        look_s: list[float] = []
        looked: list[int] = []
        for k in range(args.passes):
            at = now + timedelta(seconds=DEADLINE_POLL_S * (k + 1))
            with connect(url) as conn:
                started = time.perf_counter()
                looked.append(evaluation_queue.queue_due(conn, now=at, limit=5_000))
                conn.commit()
                look_s.append(time.perf_counter() - started)
            _empty_queue(url)
    finally:
        drop_database(url)
    sweep_rate = queued / SWEEP_INTERVAL_S
    deadline_rate = statistics.mean(looked) / DEADLINE_POLL_S
    say(f"patients enrolled: {args.patients:,}")
    say(
        f"sweep every {SWEEP_INTERVAL_S // 60} min: {queued:,} queued a pass, "
        f"median {statistics.median(sweep_s) * 1000:.0f} ms a pass, "
        f"{sweep_rate:.0f} evaluations/s for the workers"
    )
    say(
        f"deadlines, a look every {DEADLINE_POLL_S:.0f} s: {statistics.mean(looked):.0f} queued a"
        f" look, median {statistics.median(look_s) * 1000:.1f} ms a look, "
        f"{deadline_rate:.1f} evaluations/s for the workers"
    )
    say(
        f"ratio (sweep / deadlines): {sweep_rate / deadline_rate:.0f}x fewer evaluations, "
        f"{statistics.median(sweep_s) / statistics.median(look_s):.0f}x less time per pass"
    )


if __name__ == "__main__":
    main()
