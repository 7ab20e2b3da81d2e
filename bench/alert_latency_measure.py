"""The measured window of bench/alert_latency.py: the background on, the probes, until every
probe is notified (or the drain timeout); CPU snapshots at its ends; progress lines meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import time
from dataclasses import dataclass

import psycopg
from alert_latency_load import BackgroundResult, ProbeSent
from alert_latency_run import BG_PREFIX, Run, patient_of, stop_processes
from common import CpuSnapshot, backend_pids, one, snapshot, wait_for

# A progress line to stderr this often while the probes run.
PROGRESS_INTERVAL_S = 5.0
# After the load stops, until ingest has stored what the background published.
DRAIN_TIMEOUT_S = 60.0
# The probes loop waits this long for a probe's report, or between looks at the receiver.
LOOP_S = 0.05
# The background publishers, stopped, drain their PUBACKs and report within this.
RESULTS_TIMEOUT_S = 60.0

PROGRESS_SQL = """
SELECT (SELECT count(*) FROM evaluation_queue),
       (SELECT coalesce(extract(epoch FROM clock_timestamp() - min(requested_at)), 0)::float8
        FROM evaluation_queue),
       count(*) FILTER (WHERE next_attempt_at <= clock_timestamp()),
       coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8
FROM notifications WHERE state = 'pending'
"""

STORED_SQL = """
SELECT count(*) FROM readings AS r JOIN patients AS p ON p.id = r.patient_id
WHERE p.reference LIKE %(bg)s AND r.measured_at >= to_timestamp(%(since)s)
"""


@dataclass
class Outcome:
    sent: dict[str, ProbeSent]
    probe_since: float  # time.time(), a second before the first probe could go
    background: list[BackgroundResult]
    stored: int  # background readings stored
    drained_s: float  # how long after the load stopped the last of them took
    cpu: tuple[CpuSnapshot, CpuSnapshot]
    window: tuple[float, float]  # time.time() at the start and end of the measured window


def measure(run: Run) -> Outcome:
    """Background on, settle, probes, until every probe is notified (or the drain timeout)."""
    args = run.args
    assert run.receiver is not None
    assert run.broker is not None
    recorder = run.receiver.recorder
    print(
        f"background: {args.background_rate:,.0f} readings/s target from "
        f"{len(run.background):,} patients ({args.publishers} lean publisher process(es)); "
        f"{args.settle:.0f} s to settle, then {args.probes} '{args.probe}' probes over "
        f"{args.duration:.0f} s",
        flush=True,
    )
    bg_since = time.time() - 1.0
    run.go_background.set()
    time.sleep(args.settle)

    groups = {
        "ingest": [run.services[0].pid],
        "rules": [s.pid for s in run.services if s.name.startswith("rules")],
        "dispatch": [s.pid for s in run.services if s.name.startswith("dispatch")],
        "mosquitto": [run.broker.process.pid] if run.broker.process else [],
        "publishers (bg + probes)": [int(p.pid) for p in run.procs if p.pid],
        "bench (webhook receiver)": [os.getpid()],
    }
    cpu_before = snapshot({**groups, "postgres (this db)": backend_pids(run.url)})
    window_start = time.time()
    probe_since = window_start - 1.0
    run.go_probes.set()

    sent: dict[str, ProbeSent] = {}
    probe_ids = {p.patient_id for p in run.probes}
    publisher_done = False
    started = last_progress = time.monotonic()
    drain_deadline: float | None = None
    while True:
        for s in run.services:
            s.check_alive()
        while not publisher_done:
            try:
                item = run.probes_out.get(timeout=LOOP_S)
            except queue.Empty:
                if not run.procs[-1].is_alive():
                    raise RuntimeError("the probe publisher died") from None
                break
            if item is None:
                publisher_done = True
                drain_deadline = time.monotonic() + args.drain_timeout
            else:
                probe = ProbeSent(*item)
                sent[probe.patient_id] = probe
        if publisher_done:
            time.sleep(LOOP_S)
        got = {pid for d in recorder.notifications() if (pid := patient_of(d)) in probe_ids}
        if publisher_done and set(sent) <= got:
            break
        if drain_deadline is not None and time.monotonic() > drain_deadline:
            print(f"drain timeout: {len(set(sent) - got)} probes without a webhook", flush=True)
            break
        if time.monotonic() - last_progress >= PROGRESS_INTERVAL_S:
            last_progress = time.monotonic()
            print_progress(run, time.monotonic() - started, len(sent), len(got))
    cpu_after = snapshot({**groups, "postgres (this db)": backend_pids(run.url)})
    window = (window_start, time.time())

    run.stop_event.set()
    results = [
        BackgroundResult(*run.background_out.get(timeout=RESULTS_TIMEOUT_S)) for _ in run.counters
    ]
    stop_processes(run.procs)
    published = sum(r.readings for r in results)
    params = {"bg": f"{BG_PREFIX}%", "since": bg_since}
    drain_started = time.monotonic()
    with contextlib.suppress(TimeoutError, RuntimeError):
        wait_for(
            lambda: one(run.url, STORED_SQL, params) >= published,
            DRAIN_TIMEOUT_S,
            "ingest",
            services=run.services,
        )
    stored = int(one(run.url, STORED_SQL, params))
    return Outcome(
        sent,
        probe_since,
        results,
        stored,
        time.monotonic() - drain_started,
        (cpu_before, cpu_after),
        window,
    )


def print_progress(run: Run, elapsed: float, sent: int, got: int) -> None:
    with psycopg.connect(run.url) as conn:
        row = conn.execute(PROGRESS_SQL).fetchone()
    depth, waited, due, oldest = row if row else (0, 0.0, 0, 0.0)
    run.max_queue = max(run.max_queue, int(depth))
    published = sum(c.value for c in run.counters)
    print(
        f"  {elapsed:5.0f} s: probes {sent}/{run.args.probes} sent, {got} webhooks; background "
        f"{published:,} readings published; rules queue {depth} (front waited {waited:.1f} s); "
        f"outbox due {due} (oldest {oldest:.1f} s); load {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
        flush=True,
    )
