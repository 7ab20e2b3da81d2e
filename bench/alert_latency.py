"""Alert latency under background load: a reading published -> the signed webhook received.

    .venv/bin/python bench/alert_latency.py [--background-rate 300] [--background-devices 1000]
        [--probes 200] [--duration 120] [--rules-workers 1] [--dispatchers 1]

Goal (the issue): p99 from a reading published to the signed webhook received <= 1 s under
background load.

Everything is real and separate, as in production: a database of the bench's own (created,
migrated with hemkoll.store.migrate, dropped at the end), a Mosquitto of its own with the
project's limits (LocalMosquitto), and ``python -m hemkoll ingest``, ``hemkoll rules`` (the
HEART_FAILURE preset, the command as deployed) and ``hemkoll dispatch``, each its own process.
The health centre is the simulator's WebhookReceiver (in this process), which verifies every
Standard Webhooks signature and records the time each delivery reached it.

Load:
  background  --background-devices patients (one gateway each, --history-days of daily in-range
              readings already stored, so that each evaluation reads a realistic history) publish
              in-range measurement sessions (a weight; BP + heart rate; SpO2 + heart rate) at
              --background-rate readings/s in total, from --publishers lean raw-socket QoS-1
              publisher processes (bench/lean_publisher.py, little CPU). Every such message is
              stored, queues its patient for evaluation and makes the rules worker queue a
              "readings look as usual" device message that the dispatcher publishes: the
              background loads every stage the probes pass through.
  probes      --probes further patients each publish ONE message, spread over --duration
              seconds (one per slot, at a random point in it), from a paho client (as devices
              publish) in its own process, which notes time.time() just before publish().

The probe must open an alert on its own, at once, with the rules as ``hemkoll rules`` runs
them. The preset's vital-sign limits (SpO2 < 90 %, heart rate, systolic BP) need two readings in
a row outside the band, so one such reading opens nothing. The default probe is therefore one
answer of severe breathlessness (symptom_breathlessness = 3, "at rest"): the preset's
breathlessness_at_rest rule opens a red alert on that single reading (SymptomRule, red_score 3,
no gating). ``--probe spo2`` sends instead one message from a pulse oximeter carrying two SpO2
readings of 86 and 85 % a minute apart, which opens the red spo2_urgent alert. Either way each
probe patient gets exactly one alert, so exactly one ``alert.opened`` webhook, matched to its
probe by the payload's data.patient_id; its latency is the receiver's time minus the probe's
publish time (one clock: everything runs on this machine).

Printed: the background rate achieved and the readings stored; the probes' webhooks (missing,
duplicates, refused signatures, unexpected ones); latency count, p50, p90, p99, max and the
verdict; where the time went per probe, from the database's own timestamps (ingest's write,
the rules evaluation, the outbox row, the dispatcher's attempt); latency per quarter of the run
(a backlog that grows shows there); CPU seconds per process and the whole machine's, since the
machine may be shared. Progress lines go to stderr every few seconds.

Reading the figures: the "rules" line compares the evaluations done per second (counted by the
"readings look as usual" device messages they write: a lower bound) with the patients the
background queues per second (one per message). When the workers fall behind, the queue fills
to about the number of background patients, and since a patient queued again moves to the back
(enqueue_staged_patients sets requested_at anew), a probe then waits about one background
publish cycle (--background-devices / messages per second, 6.7 s by default) rather than for
the whole queue: the bench's small, busy patient set caps a backlog that with many patients
measuring once would keep growing. Compare the quarters of the run to see whether it grows.

Every process started here (services, publishers, broker) is stopped with SIGTERM, then killed
after a timeout, on success, error and Ctrl-C alike; the database is dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import uuid
from pathlib import Path
from types import FrameType

from alert_latency_load import PROBE_RULES
from alert_latency_measure import measure
from alert_latency_report import report
from alert_latency_run import Run, set_up, shutdown, start_services
from common import drop_database, fresh_database


class Interrupted(Exception):
    pass


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--background-rate", type=float, default=300.0, help="readings/s")
    parser.add_argument("--background-devices", type=int, default=1000)
    parser.add_argument("--publishers", type=int, default=1, help="background processes")
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--duration", type=float, default=120.0, help="probes spread over it, s")
    parser.add_argument("--settle", type=float, default=10.0, help="background before probes, s")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--probe", choices=tuple(PROBE_RULES), default="breathlessness")
    parser.add_argument("--rules-workers", type=int, default=1)
    parser.add_argument("--dispatchers", type=int, default=1)
    parser.add_argument("--log-level", default="INFO", help="the services' HEMKOLL_LOG_LEVEL")
    parser.add_argument("--log-dir", type=Path, help="keep the services' logs here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if min(args.probes, args.background_devices, args.publishers) < 1:
        parser.error("--probes, --background-devices and --publishers must be >= 1")

    signal.signal(signal.SIGTERM, _raise_interrupted)
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} before start (shared with other engineers' runs: figures vary with it)",
        flush=True,
    )
    url = fresh_database("latency", migrated=False)
    try:
        with contextlib.ExitStack() as stack:
            if args.log_dir is not None:
                args.log_dir.mkdir(parents=True, exist_ok=True)
                workdir = args.log_dir
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hemkoll-latency-"))
                workdir = Path(tmp)
            run = Run(args, url, f"bench-{uuid.uuid4().hex[:6]}", workdir)
            try:
                set_up(run)
                start_services(run)
                outcome = measure(run)
            finally:
                shutdown(run)
            report(run, outcome)
    except (KeyboardInterrupt, Interrupted) as exc:
        print(
            f"\ninterrupted ({str(exc) or 'SIGINT'}); everything started is stopped",
            file=sys.stderr,
        )
        sys.exit(130)
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
