"""History import throughput: a year of simulated readings for a cohort, imported into a
fresh database through ``hemkoll import-history``'s code, beside the device path's figures.

    .venv/bin/python bench/import_history.py [--patients 200] [--days 365] [--seed 1]

The cohort's readings come from the simulator (hemkoll.simulator.history: the NDJSON of
docs/import.md), its devices enrolled backdated to before the history. Timed: the import of the
file (parse, check, COPY, INSERT ... ON CONFLICT, dead letters, marks; commit per batch), then
a rerun of the same file (every reading a duplicate). Not timed: simulating, enrolling, writing
the file. The device path's figures are bench/ingest.py's, as docs/scaling.md records them
(not rerun here: that bench takes minutes and a broker).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import drop_database, fresh_database

from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.demo.cohort import enrol_cohort, enrolment_time
from hemkoll.ingest.history import HistoryImport
from hemkoll.ingest.history_report import Progress, Report
from hemkoll.ingest.service import BATCH_MAX_READINGS
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.simulator.history import write_history
from hemkoll.simulator.simulation import simulate
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading

CENTRE = "Bench import centre"
# bench/ingest.py, docs/scaling.md ("Ingest throughput"): medians, readings/s.
DEVICE_PATH = {
    "store alone (COPY + INSERT, ingest's batches)": 58_762,
    "ingest, 1 worker (MQTT to commit)": 27_116,
    "ingest, 2 workers (shared subscription)": 38_749,
}


def _store_alone(url: str) -> float:
    """The device path's writer alone, on the same rows, in ingest's batch size, right now
    (bench/ingest.py's (b)): the readings are read back, the tables emptied, and rewritten."""
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT patient_id, device_id, metric, value, measured_at FROM readings"
            " ORDER BY measured_at"
        ).fetchall()
        readings = [Reading(*row) for row in rows]
        conn.execute("TRUNCATE readings, readings_hourly, evaluation_queue")
        conn.commit()
        writer = ReadingWriter(conn)
        started = time.perf_counter()
        for i in range(0, len(readings), BATCH_MAX_READINGS):
            writer.write([readings[i : i + BATCH_MAX_READINGS]], [])
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = datetime.now(UTC).date() - timedelta(days=args.days + 1)
    sim = simulate(args.patients, args.days, seed=args.seed, start=start)
    url = fresh_database("import")
    try:
        at = enrolment_time(start, sim.parameters.timezone)
        began = time.monotonic()
        with connect(url) as conn:
            enrolled = enrol_cohort(conn, CENTRE, sim.plan.device_keys(), at)
            ids = {key: device_id for key, (device_id, _) in enrolled.items()}
            centre = conn.execute("SELECT id FROM health_centres").fetchone()
            conn.commit()
        assert centre is not None
        enrolled_s = time.monotonic() - began
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "history.ndjson"
            sent = write_history(path, sim, ids)
            size = path.stat().st_size
            print(
                f"{args.patients} patients, {args.days} days: {sent:,} readings, "
                f"{size / 1e6:,.1f} MB of NDJSON ({len(ids)} devices enrolled in "
                f"{enrolled_s:.1f} s)"
            )
            reports = []
            for run in ("first import", "rerun (all duplicates)"):
                with connect(url) as conn, path.open("rb") as lines:
                    progress = Progress(
                        lambda line: print(f"  {line}", file=sys.stderr), size_bytes=size
                    )
                    tally = HistoryImport(conn, centre[0]).run(lines, progress=progress)
                report = Report.of(tally, alerts=False)
                reports.append((run, report))
        with connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM readings").fetchone()
            stored = row[0] if row else 0
            assert stored == sent, (stored, sent)
            # The rules evaluate the imported patients, as the worker would: no alert for a
            # finding inside the history (the default, without --alerts).
            worker = RulesWorker(RulesConfig(database_url=url, rule_set=HEART_FAILURE))
            began = time.monotonic()
            evaluated = worker.process_due(conn)
            rules_s = time.monotonic() - began
            counted = conn.execute(
                "SELECT count(*) FILTER (WHERE a.first_fired_at <= h.until), count(*)"
                " FROM alerts a JOIN imported_history h USING (patient_id)"
            ).fetchone()
        inside, alerts = counted if counted else (0, 0)
        assert inside == 0, f"{inside} alerts opened for findings inside the imported history"
        store_s = _store_alone(url)
        assert reports[0][1].stored == sent
        assert reports[1][1].stored == 0
    finally:
        drop_database(url)

    print(f"\n{'':<48}{'seconds':>9}{'readings/s':>13}")
    for run, report in reports:
        print(
            f"{'import-history: ' + run:<48}{report.seconds:>9.1f}{report.readings_per_s:>13,.0f}"
        )
    print(
        f"{'device path writer alone, same rows, now (B)':<48}{store_s:>9.1f}"
        f"{sent / store_s:>13,.0f}"
    )
    print("device path (bench/ingest.py, docs/scaling.md; not rerun here):")
    for what, rate in DEVICE_PATH.items():
        print(f"  {what:<46}{'':>9}{rate:>13,}")
    print(f"stored {stored:,} = sent {sent:,}; the rerun stored 0")
    print(
        f"rules: {evaluated} patients evaluated in {rules_s:.1f} s; alerts for findings inside "
        f"the imported history: {inside} (after its end, present news: {alerts - inside})"
    )


if __name__ == "__main__":
    main()
