"""Fault scenarios end to end, with real processes: nothing lost, nothing sent twice.

    .venv/bin/python bench/faults.py [--scenarios all] [--outage 600] [--json out.json]
    .venv/bin/python bench/faults.py --quick          # the short version CI runs

Every scenario starts from nothing and runs everything as deployed, each a process of its own:

  PostgreSQL  a cluster of the bench's own (hemkoll.local_services.postgres_cluster: initdb +
              pg_ctl from /usr/lib/postgresql/15/bin, as the ``postgres`` user when run as
              root) on a free port, a fresh database per scenario; the machine's cluster is
              never touched (other work uses it).
  Mosquitto   deploy/mosquitto/mosquitto.conf itself, with its ports and paths moved into the
              scenario's folder (hemkoll.local_services.deployed_mosquitto.render: any other
              change to the file fails the render): TLS listener, no anonymous access, the
              password and ACL files written by ``hemkoll broker-auth`` from the registry,
              persistence with autosave_on_changes, and the queue limits of conf.d.
  services    ``python -m hemkoll ingest``, ``rules`` and ``dispatch`` with HEMKOLL_* settings,
              logging to the scenario's folder.
  devices     the simulator's publisher (hemkoll.simulator.publisher): each device connects
              with its own enrolment credentials (the ACL applies), publishes at QoS 1 and
              resends a message until ingest's feedback names it (docs/protocol.md; every
              --resend-after seconds here, doubling).
  centre      the simulator's WebhookReceiver (in this process): verifies every Standard
              Webhooks signature, records each delivery and counts a repeated webhook-id as a
              duplicate without processing it. The centre's care-team and escalation endpoints
              both point at it (with their two secrets); escalate_after is --escalate-after.

Each scenario streams in-range readings (weight; blood pressure and pulse; SpO2 and pulse) from
--devices patients at --rate messages/s, and "probe" patients each send one answer of severe
breathlessness (score 3), which opens a red alert at once (the preset's breathlessness_at_rest);
nobody acknowledges, so each red alert is also escalated after --escalate-after seconds. Then:

  ingest-kill       SIGKILL of ingest --kills times while the stream runs, restarted each time.
  broker-restart    Mosquitto stopped cleanly (SIGTERM) and restarted mid-stream, then killed
                    with SIGKILL and restarted, on the same persistence files.
  postgres-restart  the cluster restarted (pg_ctl -m fast) the moment ingest has a transaction
                    open, then crashed (pg_ctl -m immediate) and started again (crash recovery).
  endpoint          the centre's endpoint down for --outage seconds (the receiver stopped), then
                    slow (--slow-delay s, within the dispatcher's 10 s read timeout, then
                    --slow-timeout-delay s, beyond it), then answering 500, then 429 with
                    Retry-After: --retry-after, each for --phase seconds, then normal again;
                    probes every --probe-every seconds throughout.
  dispatcher-kill   the dispatcher SIGKILLed at the moment the receiver records a delivery,
                    before its answer (so the send happened and is never recorded), --kills-on-
                    record times, then --kills-in-flight times while a send is held open by the
                    receiver's slow mode; restarted each time. Its leases run out after 60 s
                    (LEASE_S) and another claim sends again with the same webhook-id.

Afterwards (once the devices have feedback for everything, every probe has its alert, every red
alert is escalated and no notification is pending, or --settle-timeout) it prints per scenario:

  readings    distinct readings published, rows stored, missing, extra (stored but never
              published), values that differ; rows per (device, metric, measured_at) beyond
              one (0 by the primary key, checked anyway); readings the store saw again and
              counted as duplicates (feedback), messages the devices resent; dead letters.
  alerts      alerts opened, probe patients with exactly one alert, alerts whose care-team
              webhook reached the centre, red alerts escalated and escalation webhooks received,
              half-escalated (escalated_at, the 'escalated' event and the escalation
              notification not all three or none), red alerts overdue and not escalated.
  webhooks    notifications by channel and state (pending, expired or gone at the end fail),
              deliveries at the receiver, distinct webhook-ids, deliveries beyond the first per
              webhook-id (the sender's retries, deduped by the receiver), webhook-ids per
              (alert, event) (must be 1: a notification is never sent under two ids), signatures
              refused, ids received that the database does not have delivered.
  services    starts, and whether each is alive at the end; patient references or the canary
              string every payload carries (an unknown field, ignored by ingest) found in any
              service's or the broker's log (must be 0).

Every figure above marked as "must" is checked; the exit status is 1 if any check fails. With
--fast-forward (which --quick sets) the bench does what time would: it makes pending webhook
retries due at once after the endpoint recovers (notifications.retry_pending_now, what the API
does when an administrator saves the centre's endpoint) and expires the leases a killed
dispatcher held (instead of waiting LEASE_S); without it the real retry schedule runs (5 s, 5
min, 30 min, ... : after a 10-minute outage the last notification arrives up to ~36 minutes after
it began).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from common import say
from faults_report import print_result
from faults_run import SCENARIOS, run_scenario

from hemkoll.local_services.postgres_cluster import PostgresCluster
from hemkoll.local_services.tls import tls_material

log = logging.getLogger("faults")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenarios", default="all", help=f"comma-separated of {', '.join(SCENARIOS)}")
    p.add_argument("--quick", action="store_true", help="the short version (CI)")
    p.add_argument("--devices", type=int, default=30, help="streaming patients (30)")
    p.add_argument("--rate", type=float, default=40.0, help="stream messages/s (40)")
    p.add_argument("--stream", type=float, default=60.0, help="stream seconds, at least (60)")
    p.add_argument("--probes", type=int, default=6, help="alert probes per scenario (6)")
    p.add_argument("--kills", type=int, default=10, help="ingest SIGKILLs (10)")
    p.add_argument("--broker-down", type=float, default=3.0, help="seconds the broker is down")
    p.add_argument("--outage", type=float, default=600.0, help="endpoint down, seconds (600)")
    p.add_argument("--phase", type=float, default=60.0, help="slow, 500 and 429 phases, s (60)")
    p.add_argument("--slow-delay", type=float, default=3.0, help="slow answer within timeout")
    p.add_argument("--slow-timeout-delay", type=float, default=12.0, help="slow beyond timeout")
    p.add_argument("--retry-after", type=int, default=30, help="429's Retry-After, s (30)")
    p.add_argument("--probe-every", type=float, default=20.0, help="endpoint probes every s")
    p.add_argument("--warm", type=float, default=20.0, help="endpoint normal before the outage")
    p.add_argument("--tail", type=float, default=20.0, help="endpoint stream after the phases")
    p.add_argument("--endpoint-rate", type=float, default=5.0, help="endpoint stream msgs/s")
    p.add_argument("--kills-on-record", type=int, default=3)
    p.add_argument("--kills-in-flight", type=int, default=2)
    p.add_argument("--escalate-after", type=int, default=60, help="seconds (>= 60)")
    p.add_argument("--resend-after", type=float, default=10.0, help="devices' resend wait, s")
    p.add_argument("--drain-timeout", type=float, default=300.0)
    p.add_argument("--settle-timeout", type=float, default=600.0)
    p.add_argument("--fast-forward", action="store_true", help="see the description")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument("--keep", action="store_true", help="keep the work folder and databases")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if args.quick:
        # Short phases; escalation (60 s at the least) is left to the full run.
        args.fast_forward = True
        args.devices, args.rate, args.stream, args.probes = 10, 25.0, 12.0, 2
        args.kills, args.broker_down = 2, 2.0
        args.warm, args.outage, args.phase, args.tail = 4.0, 10.0, 8.0, 4.0
        args.retry_after, args.probe_every = 8, 3.0
        args.slow_delay, args.slow_timeout_delay = 1.0, 11.0
        args.kills_on_record, args.kills_in_flight = 1, 1
        args.escalate_after = 7 * 86400
        args.resend_after, args.settle_timeout = 5.0, 120.0
    args.names = tuple(SCENARIOS) if args.scenarios == "all" else tuple(args.scenarios.split(","))
    unknown = set(args.names) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not 60 <= args.escalate_after <= 7 * 86400:
        p.error("--escalate-after is 60 s to 7 days (the schema's bounds)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="hemkoll-faults-"))
    logging.basicConfig(
        level=logging.WARNING,
        filename=workdir / "bench.log",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    say(f"work folder {workdir}; scenarios {', '.join(args.names)}")
    pg = PostgresCluster().start()
    say(f"own PostgreSQL on port {pg.port} ({pg.folder})")
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        tls = tls_material(workdir / "tls")
        for name in args.names:
            try:
                result = run_scenario(name, args, pg, tls, workdir)
            except Exception as exc:
                log.exception("scenario %s failed", name)
                say(f"scenario {name} crashed: {exc!r} (details in {workdir}/bench.log)")
                results.append({"scenario": name, "failed": [f"crashed: {exc!r}"]})
                continue
            print_result(result)
            results.append(result)
    finally:
        pg.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    failed = [r["scenario"] for r in results if r["failed"]]
    load = os.getloadavg()
    print(
        f"\n{len(results)} scenarios in {elapsed / 60:.1f} min, "
        f"{'all passed' if not failed else 'FAILED: ' + ', '.join(failed)}; "
        f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    if args.json:
        args.json.write_bytes(
            orjson.dumps(
                {
                    "args": {k: v for k, v in vars(args).items() if k != "json"},
                    "elapsed_s": round(elapsed),
                    "loadavg": load,
                    "results": results,
                },
                option=orjson.OPT_INDENT_2,
                default=str,
            )
        )
    return 1 if failed or len(results) < len(args.names) else 0


if __name__ == "__main__":
    sys.exit(main())
