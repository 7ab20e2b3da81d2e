"""Soak: a steady, realistic load for a long time; throughput, ingest lag, alert latency and the
memory of every process sampled over time (it must stay flat).

    .venv/bin/python bench/soak.py [--duration 600] [--patients 5000] [--wearables 200]
                                   [--sample-every 15] [--json out.json]

Everything runs as deployed, each a process of its own: a PostgreSQL cluster of the bench's own
(hemkoll.local_services.postgres_cluster: the machine's cluster is shared and its memory would
not be ours to measure), a Mosquitto with the project's limits (LocalMosquitto) and the deployed
persistence (autosave_on_changes, autosave_interval 100), ``python -m hemkoll ingest``,
``rules`` and ``dispatch``, and the simulated health centre (WebhookReceiver, in this process).

Load, from one lean raw-socket QoS-1 publisher process (bench/lean_publisher.py: cheap, so that
the load generator does not take the CPU the services need):

  morning    --patients patients, each with a gateway and --history-days of daily in-range
             readings already stored (so that every evaluation reads a realistic history), send
             their morning: four sessions (weight; blood pressure and pulse; SpO2 and pulse;
             three symptom scores), nine readings. A real programme's mornings spread over about
             two hours; here every patient's morning falls in the soak's --duration at a random
             time, each session a minute after the last (one that would run past the end goes
             on at the start, so that the rate is steady throughout): with 600 s the morning is
             compressed 12-fold, 20,000 messages, 45,000 readings, 33 messages/s for 5,000.
  wearables  --wearables of those patients also wear a pulse oximeter that sends SpO2 and pulse
             every --wearable-every seconds (60: a continuous-wearable cohort), around the clock.
  probes     one more patient every --probe-every seconds sends one answer of severe
             breathlessness (score 3): the preset opens a red alert at once, and the webhook to
             the health centre is timed from the publish to the receiver (alert latency).

Every reading's measured_at is the time it was published; ingest lag is the database's
received_at (the time of ingest's transaction) minus it, computed per window at the end (one
scan, nothing added to the schema). Every --sample-every seconds it samples: readings published
and stored (pg_stat_user_tables), the backlog, the evaluation queue, pending notifications,
each process's resident memory (VmRSS; for PostgreSQL the sum of RssAnon over the cluster's
processes, since shared buffers count in every backend's RSS) and CPU, and the load average.

Printed at the end: a table over time, throughput, ingest lag p50/p99/max per window and over
the run, alert latency p50/p90/p99/max, stored == published, and per process the memory at the
start and end of the second half with its slope (least squares over the second half) and a
verdict: flat when the second half grows by less than 5 % of its mean or 5 MiB (a process
leaking per message grows in proportion to the load, which is steady there).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import orjson
from common import say, stop_services
from soak_report import analyse, print_result
from soak_run import Run, set_up, soak


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=600.0, help="seconds of load (600)")
    p.add_argument("--patients", type=int, default=5000)
    p.add_argument("--wearables", type=int, default=200, help="of the patients (200)")
    p.add_argument("--wearable-every", type=float, default=60.0)
    p.add_argument("--probe-every", type=float, default=3.0)
    p.add_argument("--history-days", type=int, default=30)
    p.add_argument("--sample-every", type=float, default=15.0)
    p.add_argument("--drain-timeout", type=float, default=300.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path)
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    args = p.parse_args(argv)
    if args.wearables > args.patients:
        p.error("--wearables are some of the --patients")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Stopped by SIGINT or SIGTERM, it still stops everything it started (a shell starts a
    # background job with SIGINT ignored: set the handlers whatever we inherited).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="hemkoll-soak-"))
    run = Run(args, workdir)
    say(f"work folder {workdir}")
    code = 1
    try:
        cohort, wearables = set_up(run)
        result = analyse(run, soak(run, cohort, wearables))
        print_result(result)
        if args.json:
            args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2, default=str))
        ok = (
            result["stored_equals_published"]
            and result["dead_letters"] == 0
            and result["alert_latency_s"]["missing"] == 0
            and all(m["flat"] for m in result["memory"].values())
            and not result["log_leaks"]
        )
        code = 0 if ok else 1
    finally:
        stop_services(run.services.values())
        if run.receiver is not None:
            run.receiver.stop()
        if run.broker is not None:
            run.broker.stop()
        if run.pg is not None:
            run.pg.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
