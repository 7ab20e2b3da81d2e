"""Benchmark of the rules engine: the heart-failure preset over a synthetic cohort.

    .venv/bin/python bench/rules.py [--patients 10000] [--days 180] [--baseline-patients 300]
        [--threads N]

Generates a seeded cohort (weight daily with noise and gain episodes, BP/HR/SpO2 daily, three
symptom answers; about 20 % missed days per device), evaluates hemkoll.rules.HEART_FAILURE over
it with the vectorised engine and times the per-reading pure-Python reference implementation
(hemkoll.rules.baseline) on a subset, extrapolated to the cohort. It also checks on that subset
that both produce the same findings.

Figures: "detection" is evaluate_cohort (every finding's patient, rule, severity and fired_at);
"rendering" builds the Finding objects (evidence and en/sv sentences), which the engine does
lazily and the reference does for every finding. Beside the detection runs' wall times it prints
their CPU time and the load average: on a shared machine the wall time is mostly the others'.
The engine runs on one thread (a rules worker's cost per patient), then with its chunks on
``--threads`` threads (default: the machine's cores; a backtest of a whole cohort).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from rules_cohort import CohortSpec, cohort

from hemkoll.rules import HEART_FAILURE, Finding, evaluate_cohort
from hemkoll.rules.baseline import evaluate_reference
from hemkoll.rules.engine import CohortFindings
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.series import Series

TZ = ZoneInfo("Europe/Stockholm")
# 1 January: 180 days cross the spring-forward change at the end of March.
START = datetime(2024, 1, 1, tzinfo=UTC)
# Goals from the issue.
GOAL_SECONDS = 2.0
GOAL_RATIO = 20.0
ENGINE_RUNS = 3
DAYS_PER_YEAR = 365.25


def _key(f: Finding) -> tuple[datetime, str, str]:
    return (f.fired_at, f.rule_id, f.severity)


def _timed_runs(
    patients: list[Series], now: datetime, *, threads: int
) -> tuple[float, CohortFindings]:
    """ENGINE_RUNS evaluations of the cohort, their wall and CPU times printed; (median wall
    time, the last run's findings)."""
    load_before = os.getloadavg()[0]
    runs, cpu = [], []
    for _ in range(ENGINE_RUNS):
        t0, c0 = time.perf_counter(), time.process_time()
        result = evaluate_cohort(HEART_FAILURE, patients, tz=TZ, now=now, threads=threads)
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    median = statistics.median(runs)
    print(f"  {threads} thread{'s' if threads > 1 else ''}:")
    print(f"    detection runs: {', '.join(f'{r:.2f} s' for r in runs)}; median {median:.2f} s")
    # On a shared machine the wall time grows with the other load; this process's CPU time
    # (user + system) much less.
    print(
        f"    CPU time of those runs: {', '.join(f'{c:.2f} s' for c in cpu)}; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    return median, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--baseline-patients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    t0 = time.perf_counter()
    spec = CohortSpec(args.patients, args.days, epoch_us(START), args.seed)
    patients = cohort(spec)
    readings = sum(int(np.size(t)) for series in patients for t, _ in series.values())
    now = START + timedelta(days=args.days)
    print(
        f"cohort: {args.patients:,} patients x {args.days} days, {readings:,} readings, "
        f"generated in {time.perf_counter() - t0:.2f} s (not timed below)"
    )
    print(f"rule set: {HEART_FAILURE.name}, {len(HEART_FAILURE.enabled())} enabled rules")

    evaluate_cohort(HEART_FAILURE, patients[:10], tz=TZ, now=now)  # warm the time-zone cache
    print("\nengine (vectorised numpy and compiled kernels, whole cohort in one call):")
    single_s, result = _timed_runs(patients, now, threads=1)
    engine_s, threaded = (
        _timed_runs(patients, now, threads=args.threads) if args.threads > 1 else (single_s, result)
    )
    if threaded.counts() != result.counts():
        raise SystemExit("the threaded run found other findings than the single-threaded one")
    print(
        f"  {args.patients / single_s:,.0f} patients/s on one thread, "
        f"{args.patients / engine_s:,.0f} on {args.threads}; {result.count():,} findings"
    )
    years = args.patients * args.days / DAYS_PER_YEAR
    print("  findings per patient-year by rule (yellow / red):")
    for rule_id, (yellow, red) in result.counts().items():
        print(f"    {rule_id:34s} {yellow / years:6.2f} / {red / years:5.2f}")

    n = min(args.baseline_patients, args.patients)
    subset = patients[:n]
    t0 = time.perf_counter()
    sub_result = evaluate_cohort(HEART_FAILURE, subset, tz=TZ, now=now)
    t1 = time.perf_counter()
    engine_findings = sub_result.all()
    for findings in engine_findings:  # their evidence and sentences, as the reference's
        for finding in findings:
            finding.content.get()
    t2 = time.perf_counter()
    reference = [evaluate_reference(HEART_FAILURE, s, tz=TZ, now=now) for s in subset]
    t3 = time.perf_counter()
    render_per_patient = (t2 - t1) / n
    baseline_per_patient = (t3 - t2) / n
    same = all(
        sorted(map(_key, a)) == sorted(map(_key, b))
        for a, b in zip(engine_findings, reference, strict=True)
    )
    print(f"\nsubset of {n} patients (engine detection {t1 - t0:.2f} s, rendering {t2 - t1:.2f} s)")
    print(f"  engine and reference give the same findings: {'yes' if same else 'NO'}")
    baseline_s = baseline_per_patient * args.patients
    render_s = render_per_patient * args.patients
    print("\nbaseline (pure Python, reading by reading, builds every Finding):")
    print(
        f"  {t3 - t2:.2f} s for {n} patients; extrapolated to {args.patients:,} patients: "
        f"{baseline_s:.1f} s ({1 / baseline_per_patient:,.0f} patients/s)"
    )
    print("\nsummary:")
    for label, seconds in (("one thread", single_s), (f"{args.threads} threads", engine_s)):
        verdict = "met" if seconds <= GOAL_SECONDS else "NOT met"
        print(
            f"  engine detection, whole cohort, {label}: {seconds:.2f} s "
            f"(goal <= {GOAL_SECONDS:.0f} s: {verdict})"
        )
    ratio = baseline_s / single_s
    print(
        f"  speed-up, detection on one thread vs baseline: {ratio:.0f}x "
        f"(goal >= {GOAL_RATIO:.0f}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'})"
    )
    full = single_s + render_s
    print(
        f"  engine detection + rendering every Finding (rendering extrapolated from the subset): "
        f"{full:.2f} s, {baseline_s / full:.0f}x the baseline"
    )


if __name__ == "__main__":
    main()
