"""The figures of bench/ingest.py: throughput of each measurement, ratios, CPU."""

from __future__ import annotations

import statistics

from ingest_runs import IngestRun
from ingest_workload import Workload


def report(
    workload: Workload,
    t_store: float,
    broker_times: list[float],
    runs: dict[int, list[IngestRun]],
) -> None:
    n_msgs, n_read = len(workload.messages), workload.reading_count
    rounds = len(broker_times)
    median = statistics.median
    print()
    what = f"median of {rounds} rounds; readings/s from slowest to fastest" if rounds > 1 else ""
    print(f"{'':<16}{'seconds':>9}{'readings/s':>13}{'messages/s':>13}   {what}")
    rows = [("(a) broker", broker_times), ("(b) store", [t_store])]
    rows += [(f"(c) ingest x{n}", [run.seconds for run in done]) for n, done in runs.items()]
    for name, times in rows:
        seconds = median(times)
        msgs = f"{n_msgs / seconds:>13,.0f}" if name != "(b) store" else f"{'-':>13}"
        spread = (
            f"   {n_read / max(times):,.0f} - {n_read / min(times):,.0f}" if len(times) > 1 else ""
        )
        print(f"{name:<16}{seconds:>9.2f}{n_read / seconds:>13,.0f}{msgs}{spread}")
    print()
    print(
        "CPU seconds during (c), medians: ingest workers (network threads + writer threads) / "
        "their database backends / broker / the whole machine, others' work included (of "
        "seconds x cores)"
    )
    for n, done in runs.items():
        workers_cpu = median(run.cpu_workers for run in done)
        network = median(run.cpu_workers - run.cpu_writers for run in done)
        writers = median(run.cpu_writers for run in done)
        machine = median(run.cpu_machine for run in done)
        wall = median(run.wall_cores for run in done)
        print(
            f"  x{n}: {workers_cpu:5.1f} ({network:4.1f} + {writers:4.1f}) / "
            f"{median(run.cpu_backends for run in done):5.1f} / "
            f"{median(run.cpu_broker for run in done):5.1f} / {machine:5.1f} of {wall:5.1f} "
            f"({median(run.cpu_machine / run.wall_cores for run in done):.0%} busy)"
        )
    print()
    first = next(iter(runs))
    for n, done in runs.items():
        seconds = median(run.seconds for run in done)
        # Each run against the broker-alone run of its own round.
        of_broker = median(b / run.seconds for b, run in zip(broker_times, done, strict=True))
        of_first = median(
            base.seconds / run.seconds for base, run in zip(runs[first], done, strict=True)
        )
        print(
            f"ingest x{n}: {n_read / seconds:>8,.0f} readings/s   "
            f"{of_broker:>4.0%} of broker alone (goal >= 50%)   "
            f"{t_store / seconds:>4.0%} of store alone   x{of_first:.2f} of x{first}"
        )
    print("goal: >= 15,000 readings/s")
