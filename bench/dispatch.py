"""The dispatcher's throughput on a national outbox: device messages and webhooks drained by one,
then two, ``hemkoll dispatch`` processes (issue 18).

    nice .venv/bin/python bench/dispatch.py [--device-messages 100000] [--webhooks 10000]
        [--centres 500] [--dispatchers 1 2] [--drain-timeout 900] [--quick]

For each count of --dispatchers, a database of its own (migrated), seeded in SQL: --centres
health centres, a patient with one gateway per two device messages, and an outbox of
--device-messages pending device messages (QoS 1 to the gateway's feedback topic) and
--webhooks pending alert webhooks (an alert each) spread evenly over the centres, all due now.
Every centre's endpoint is the simulator's receiver (in this process; it verifies every
signature and answers 204); the broker is a Mosquitto of the run's own with the project's
limits. The dispatchers run as deployed until the outbox is empty (or --drain-timeout).

Prints, per run: device messages/s and webhooks/s, each over its own span (its first delivery
to its last, from ``delivered_at``) and the whole drain; the claim's latency (the claim
statement of 16, timed by this bench in a transaction it rolls back: on the seeded outbox
before the start and every few seconds during the drain); CPU seconds of the dispatchers and
of PostgreSQL's backends; the goals beside them. The machine is shared: run it with ``nice``
and read the load average printed with the figures.

Goals (docs/scaling.md, the nation's morning): 250,000 patients produce about 420,000 device
messages and 14,000 webhooks in a morning whose real peak is two hours, about 126 evaluations
(one device message each) a second at its top. One dispatcher: >= 500 device messages/s, four
times the top of the real peak and a whole morning's messages in 14 minutes, and >= 50
webhooks/s (a morning's 14,000 in five minutes, or the backlog of an endpoint's outage caught up
fast). Two dispatchers: more than one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from cohort import start_centre
from common import (
    RunServices,
    Service,
    backend_pids,
    bench_args,
    cpu_of,
    end_run,
    fresh_database,
    load_average,
    percentile,
    rows,
    say,
    start_broker,
    stop_services,
    wait_for,
)

from hemkoll.store.sql import query

# The goals (module docstring).
GOAL_DEVICE_PER_S = 500.0
GOAL_WEBHOOK_PER_S = 50.0
# The pending counts and the claim's latency are sampled this often during a drain.
SAMPLE_S = 2.0
# The claims the bench times: as many webhooks as a dispatcher with all its threads free
# claims (dispatcher.SEND_THREADS), and a batch of device messages (dispatcher.DEVICE_BATCH,
# since migration 0028). Literal here, so that the bench runs on the code from before too.
CLAIM_LIMIT = 16
DEVICE_BATCH = 100
# The claim is timed this many times on the seeded outbox before a run (the median printed).
CLAIM_REPEATS = 20
# Until the dispatchers' /metrics answer (each one up).
READY_TIMEOUT_S = 60.0
QUICK = {"device_messages": 5_000, "webhooks": 1_000, "centres": 50, "drain_timeout": 300.0}

# One patient and gateway per two device messages (a weighing and a blood pressure: "as
# usual" twice), patient i in centre i % centres; one alert, with its webhook, per patient of
# the first --webhooks. Payloads as enqueue_device_messages and enqueue_alert_webhook write.
_SEED = """
INSERT INTO health_centres (id, name, timezone, care_provider_id)
SELECT gen_random_uuid(), 'VC Bench ' || i, 'Europe/Stockholm',
       (SELECT min(id::text)::uuid FROM care_providers)
FROM generate_series(1, %(centres)s) AS i;
CREATE TEMPORARY TABLE bench_centres AS
SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM health_centres;
CREATE TEMPORARY TABLE bench_patients AS
SELECT gen_random_uuid() AS id, gen_random_uuid() AS device_id, i
FROM generate_series(0, %(patients)s - 1) AS i;
INSERT INTO patients (id, health_centre_id, reference, language, timezone, enrolled_at)
SELECT p.id, c.id, 'B-' || p.i, 'sv', 'Europe/Stockholm', now() - interval '30 days'
FROM bench_patients AS p JOIN bench_centres AS c ON c.k = p.i %% %(centres)s;
INSERT INTO devices (id, patient_id, kind, enrolled_at, credential_hash)
SELECT device_id, id, 'gateway', now() - interval '30 days', 'bench' FROM bench_patients;
INSERT INTO alerts (patient_id, rule_id, rule_kind, rule_set, severity, first_fired_at,
                    last_fired_at, evidence, explanation_en, explanation_sv)
SELECT id, 'breathlessness_at_rest', 'symptom', 'heart_failure', 'red', now(), now(), '{}',
       'Breathless at rest', 'Andfådd i vila'
FROM bench_patients WHERE i < %(webhooks)s;
INSERT INTO notifications (health_centre_id, patient_id, alert_id, channel, event, payload)
SELECT p.health_centre_id, p.id, a.id, 'care_team', 'alert.opened',
       jsonb_build_object(
           'type', 'alert.opened', 'timestamp', now(),
           'data', jsonb_build_object(
               'alert_id', a.id, 'health_centre_id', p.health_centre_id, 'patient_id', p.id,
               'patient_reference', p.reference, 'severity', a.severity, 'state', a.state,
               'rule_id', a.rule_id, 'rule_kind', a.rule_kind, 'opened_at', a.opened_at,
               'severity_since', a.severity_since, 'summary_en', a.explanation_en,
               'summary_sv', a.explanation_sv, 'escalation_contact', NULL))
FROM alerts AS a JOIN patients AS p ON p.id = a.patient_id;
INSERT INTO notifications (health_centre_id, patient_id, channel, device_id, event, payload)
SELECT pt.health_centre_id, pt.id, 'device', p.device_id, 'readings.in_range',
       jsonb_build_object('type', 'message', 'event', 'readings.in_range', 'language', 'sv',
                          'text', 'Dina mätvärden ser ut som vanligt.')
FROM bench_patients AS p JOIN patients AS pt ON pt.id = p.id
CROSS JOIN generate_series(1, 2) AS n
WHERE p.i * 2 + n <= %(device_messages)s;
"""


def seed(url: str, *, device_messages: int, webhooks: int, centres: int) -> None:
    patients = max(-(-device_messages // 2), webhooks)
    with psycopg.connect(url) as conn:
        params = {
            "centres": centres,
            "patients": patients,
            "webhooks": webhooks,
            "device_messages": device_messages,
        }
        for statement in _SEED.split(";\n"):
            if statement.strip():
                used = {k: v for k, v in params.items() if f"%({k})s" in statement}
                conn.execute(statement, used or None)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def time_claim(url: str, *, device: bool = False) -> float:
    """One claim as a dispatcher makes it, rolled back; its milliseconds. With the claim in
    lanes (migration 0028): a webhook claim of CLAIM_LIMIT, or with ``device`` a device batch
    (DEVICE_BATCH); before it, the one claim of CLAIM_LIMIT (``device`` then returns NaN)."""
    statement = query("claim_notifications")
    lanes = "%(device)s" in statement
    if device and not lanes:
        return float("nan")
    limit = DEVICE_BATCH if device else CLAIM_LIMIT
    params = {"limit": limit, "lease_s": 60.0, "per_endpoint": 4, "scan": max(200, limit)}
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        conn.execute(statement, {**params, "device": device} if lanes else params).fetchall()
        elapsed = time.perf_counter() - started
        conn.rollback()
    return elapsed * 1000


@dataclass
class Sampler:
    """Pending counts and the claim's latency every SAMPLE_S until stopped."""

    url: str
    claim_ms: list[float] = field(default_factory=list)
    device_claim_ms: list[float] = field(default_factory=list)
    pending: list[tuple[float, int, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, began: float) -> None:
        while not self.stop.wait(SAMPLE_S):
            self.claim_ms.append(time_claim(self.url))
            self.device_claim_ms.append(time_claim(self.url, device=True))
            found = dict(
                rows(
                    self.url,
                    "SELECT channel = 'device', count(*) FROM notifications"
                    " WHERE state = 'pending' GROUP BY 1",
                )
            )
            self.pending.append(
                (time.monotonic() - began, int(found.get(True, 0)), int(found.get(False, 0)))
            )

    def left(self) -> int:
        return sum(self.pending[-1][1:]) if self.pending else -1


def one_run(args: argparse.Namespace, dispatchers: int) -> None:
    url = fresh_database(f"dispatch{dispatchers}")
    services: list[Service] = []
    broker = receiver = None
    try:
        t0 = time.perf_counter()
        seed(
            url,
            device_messages=args.device_messages,
            webhooks=args.webhooks,
            centres=args.centres,
        )
        claim_before = [time_claim(url) for _ in range(CLAIM_REPEATS)]
        device_before = [time_claim(url, device=True) for _ in range(CLAIM_REPEATS)]
        say(
            f"{dispatchers} dispatcher(s): seeded {args.device_messages:,} device messages and "
            f"{args.webhooks:,} webhooks over {args.centres} centres in "
            f"{time.perf_counter() - t0:.0f} s; a claim of {CLAIM_LIMIT} on it: median "
            f"{percentile(claim_before, 50):.1f} ms, of {DEVICE_BATCH} device messages "
            f"{percentile(device_before, 50):.1f} ms"
        )
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            broker = start_broker(work)
            receiver = start_centre(url)
            prefix = f"hemkoll-dispatch-bench-{os.getpid()}"
            RunServices.of_run(url, broker.url, prefix, work, services).start_dispatchers(
                dispatchers, prefix
            )
            sampler = Sampler(url)
            began = time.monotonic()
            pids = [s.pid for s in services]
            thread = threading.Thread(target=sampler.run, args=(began,), daemon=True)
            thread.start()
            load_start = load_average()
            postgres: set[int] = set()  # this database's backends seen during the drain
            postgres_looks: list[int] = []

            def drained() -> bool:
                if time.monotonic() - began > len(postgres_looks):  # once a second
                    postgres_looks.append(1)
                    postgres.update(backend_pids(url))
                return sampler.left() == 0

            timed_out = False
            try:
                wait_for(drained, args.drain_timeout, "the outbox to drain", services=services)
            except TimeoutError:
                timed_out = True
            wall = time.monotonic() - began
            cpu_dispatch = cpu_of(pids)
            cpu_postgres = cpu_of(postgres)
            load_end = load_average()
            sampler.stop.set()
            thread.join()
            stop_services(services)
            services.clear()
            _report(
                url,
                args,
                dispatchers=dispatchers,
                sampler=sampler,
                wall=wall,
                timed_out=timed_out,
                claim_before=claim_before,
                device_before=device_before,
            )
            say(
                f"CPU seconds: dispatchers {cpu_dispatch:.0f}, PostgreSQL backends "
                f"{cpu_postgres:.0f} (of {wall:.0f} s); load average at the start {load_start}, "
                f"at the end {load_end}; receiver: {receiver.recorder.stats()}"
            )
    finally:
        end_run(url, services, receiver, broker)


def _report(
    url: str,
    args: argparse.Namespace,
    *,
    dispatchers: int,
    sampler: Sampler,
    wall: float,
    timed_out: bool,
    claim_before: list[float],
    device_before: list[float],
) -> None:
    spans = {
        bool(device): (int(n), first, last)
        for device, n, first, last in rows(
            url,
            "SELECT channel = 'device', count(*), min(delivered_at), max(delivered_at)"
            " FROM notifications WHERE state = 'delivered' GROUP BY 1",
        )
    }
    attempts = dict(rows(url, "SELECT result, count(*) FROM notification_attempts GROUP BY 1"))
    state = "TIMED OUT, " + f"{sampler.left():,} pending" if timed_out else "drained"
    say(f"{dispatchers} dispatcher(s): {state} after {wall:.0f} s; attempts by result {attempts}")
    goal = {True: GOAL_DEVICE_PER_S, False: GOAL_WEBHOOK_PER_S}
    for device, name in ((True, "device messages"), (False, "webhooks")):
        n, first, last = spans.get(device, (0, None, None))
        span = (last - first).total_seconds() if first and last else 0.0
        own = n / span if span > 0 else float("nan")
        print(
            f"  {name:16s} {n:>8,} delivered: {own:7.1f}/s over their own span ({span:.0f} s), "
            f"{n / wall:7.1f}/s over the drain   goal (one dispatcher) >= "
            f"{goal[device]:.0f}/s",
            flush=True,
        )
    for what, before, during in (
        (f"claim of {CLAIM_LIMIT} (webhook lane)", claim_before, sampler.claim_ms),
        (f"claim of {DEVICE_BATCH} (device lane)", device_before, sampler.device_claim_ms),
    ):
        print(
            f"  {what}: on the seeded outbox median {percentile(before, 50):.1f} ms; during the "
            f"drain p50 {percentile(during, 50):.1f} ms, p95 {percentile(during, 95):.1f} ms "
            f"({len(during)} samples)",
            flush=True,
        )
    for at, device, webhooks in sampler.pending[:: max(1, len(sampler.pending) // 10)]:
        print(f"    at {at:6.0f} s pending: {device:>8,} device messages, {webhooks:>7,} webhooks")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device-messages", type=int, default=100_000)
    parser.add_argument("--webhooks", type=int, default=10_000)
    parser.add_argument("--centres", type=int, default=500)
    parser.add_argument("--dispatchers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    args = bench_args(parser, QUICK)
    say(f"shared machine ({os.cpu_count()} cores, load average {load_average()}): figures vary")
    for count in args.dispatchers:
        one_run(args, count)


if __name__ == "__main__":
    main()
