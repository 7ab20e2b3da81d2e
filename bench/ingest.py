"""Sustained durable ingest throughput, against the broker alone and the store alone.

    .venv/bin/python bench/ingest.py [--readings 300000] [--publishers 3] [--devices 300]
                                     [--workers 1 2 3] [--rounds 1]

Measurements in one run, on this machine, with one Mosquitto of the bench's own (the
project's limits) and the local PostgreSQL:

  (a) broker alone: the publishers, and a plain QoS-1 subscriber that only counts;
  (b) store alone:  the same rows written by the store (COPY + INSERT ... ON CONFLICT), in
                    ingest's batch size, with no MQTT;
  (c) ingest xN:    the publishers and N ``hemkoll ingest`` processes, from the first publish to
                    the last reading committed, once for each N of ``--workers``. One worker
                    runs as deployed alone (plain subscription, persistent session); several
                    share the stream as members of one shared-subscription group
                    (HEMKOLL_INGEST_SHARE_GROUP, docs/scaling.md), each with its own client id.
                    Each run starts from an empty readings table and a fresh broker, and reports
                    the CPU seconds the workers, their database backends and the broker used.

With ``--rounds K`` (a) and every (c) are repeated K times, interleaved (the order of the (c)
runs rotating), and the medians are reported, each (c) compared with the (a) of its own round:
on a machine shared with other work a single run says little.

The messages are a realistic mix: mostly a few readings each (a morning's measurements), some
backlog uploads of hundreds (a device that was offline). Several publisher processes; by
default each a lean raw-socket QoS-1 publisher (bench/lean_publisher.py) so that the load
generator does not take the CPU the measured service needs (``--publisher paho`` uses paho
clients instead, as devices do: on 2 cores they then take more CPU than ingest). Prints all
three and the ratios.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from common import drop_database, fresh_database
from ingest_report import report
from ingest_runs import IngestRun, broker_alone, measure_ingest, store_alone
from ingest_workload import (
    BACKLOG_READINGS,
    BACKLOG_SHARE,
    copy_registry,
    enrol_devices,
    make_workload,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=300_000)
    parser.add_argument("--publishers", type=int, default=3)
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2, 3],
        help="measure (c) with each of these numbers of ingest workers (default: 1 2 3)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat (a) and every (c) this many times, interleaved, and report medians",
    )
    parser.add_argument(
        "--publisher",
        choices=("lean", "paho"),
        default="lean",
        help="lean: raw-socket publishes (little CPU); paho: paho-mqtt clients as devices use",
    )
    args = parser.parse_args()

    registry_url = fresh_database("registry")
    store_url = fresh_database("store")
    try:
        print(f"enrolling {args.devices} devices ...", flush=True)
        devices = enrol_devices(registry_url, args.devices)
        copy_registry(registry_url, store_url)
        workload = make_workload(args.readings, devices, args.seed)
        n_msgs, n_read = len(workload.messages), workload.reading_count
        print(
            f"workload: {n_read:,} readings in {n_msgs:,} messages "
            f"({n_read / n_msgs:.1f} per message on average; {BACKLOG_SHARE:.0%} of readings in "
            f"backlog uploads of {BACKLOG_READINGS[0]}-{BACKLOG_READINGS[1]}), "
            f"{args.publishers} {args.publisher} publisher processes, {os.cpu_count()} cores",
            flush=True,
        )
        broker_times: list[float] = []
        runs: dict[int, list[IngestRun]] = {n: [] for n in args.workers}
        with tempfile.TemporaryDirectory(prefix="hemkoll-bench-") as tmp:
            print("(b) store alone ...", flush=True)
            t_store = store_alone(store_url, workload)
            for r in range(args.rounds):
                workdir = Path(tmp) / f"round{r + 1}"
                label = f" (round {r + 1} of {args.rounds})" if args.rounds > 1 else ""
                print(f"(a) broker alone{label} ...", flush=True)
                broker_times.append(
                    broker_alone(workdir, workload, args.publishers, args.publisher)
                )
                shift = r % len(args.workers)
                for workers in args.workers[shift:] + args.workers[:shift]:
                    print(f"(c) ingest x{workers}{label} ...", flush=True)
                    runs[workers].append(
                        measure_ingest(workdir, registry_url, workload, args, workers)
                    )
        report(workload, t_store, broker_times, runs)
    finally:
        for url in (registry_url, store_url):
            drop_database(url)


if __name__ == "__main__":
    main()
