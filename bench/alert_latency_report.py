"""The figures of bench/alert_latency.py: the probes' latency and where it went, the outbox, the
rules workers' throughput, and the CPU each process used in the measured window.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence

import psycopg
from alert_latency_load import PROBE_METRICS, PROBE_RULES, ProbeSent
from alert_latency_measure import Outcome
from alert_latency_run import BG_PREFIX, Run, patient_of
from common import CpuSnapshot, percentile

from hemkoll.simulator.receiver import Delivery

GOAL_P99_S = 1.0


def summary(values: Sequence[float]) -> str:
    if not values:
        return "no values"
    return (
        f"p50 {percentile(values, 50) * 1000:7.0f}  p90 {percentile(values, 90) * 1000:7.0f}  "
        f"p99 {percentile(values, 99) * 1000:7.0f}  max {max(values) * 1000:7.0f} ms"
    )


STAGES_SQL = """
SELECT a.patient_id::text,
       extract(epoch FROM (SELECT min(r.received_at) FROM readings AS r
                            WHERE r.patient_id = a.patient_id AND r.metric = %(metric)s
                              AND r.measured_at >= to_timestamp(%(since)s))),
       extract(epoch FROM a.opened_at),
       extract(epoch FROM n.created_at),
       extract(epoch FROM (SELECT min(t.started_at) FROM notification_attempts AS t
                            WHERE t.notification_id = n.id)),
       n.attempts
FROM alerts AS a
JOIN notifications AS n
  ON n.alert_id = a.id AND n.channel = 'care_team' AND n.event = 'alert.opened'
WHERE a.patient_id = ANY(%(ids)s::uuid[])
"""


STAGE_NAMES = (
    "publish -> ingest's write begins",
    "-> rules evaluation begins",
    "evaluation (-> outbox row)",
    "outbox row -> dispatcher sends",
    "send -> receiver has it",
)


def probe_stages(
    url: str, sent: dict[str, ProbeSent], received: dict[str, float], metric: str, since: float
) -> list[tuple[float, list[float]]]:
    """Per notified probe: (total latency, the five stages), from the database's timestamps.

    ingest's write begins: readings.received_at (now() of ingest's batch transaction: after the
    MQTT hop and the batch window). Rules evaluation begins: alerts.opened_at (now() of the
    evaluation's transaction: after ingest's commit, the NOTIFY, the wait in the queue and for
    the rest of the worker's claimed batch). Outbox row: notifications.created_at
    (clock_timestamp() as the evaluation writes it). Sends: the dispatcher's first attempt's
    started_at (after the rules commit, the NOTIFY, the claim). Receiver: its own time.
    """
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            STAGES_SQL, {"metric": metric, "since": since, "ids": list(sent)}
        ).fetchall()
    out = []
    for pid, stored, opened, queued, started, _attempts in rows:
        if pid not in received or None in (stored, opened, queued, started):
            continue
        points = [sent[pid].published, stored, opened, queued, started, received[pid]]
        stages = [float(b) - float(a) for a, b in itertools.pairwise(points)]
        out.append((received[pid] - sent[pid].published, stages))
    return sorted(out, reverse=True)


def report(run: Run, outcome: Outcome) -> None:
    args = run.args
    assert run.receiver is not None
    assert run.warmup is not None
    sent = outcome.sent
    probe_ids = {p.patient_id for p in run.probes}
    rule_id = PROBE_RULES[args.probe]
    first: dict[str, Delivery] = {}
    per_probe: dict[str, int] = {}
    unexpected: dict[str, int] = {}
    for d in run.receiver.recorder.deliveries():
        pid = patient_of(d)
        if pid in probe_ids and d.event_type == "alert.opened":
            per_probe[pid] = per_probe.get(pid, 0) + 1
            first.setdefault(pid, d)
        elif pid != run.warmup.patient_id:
            data = d.payload.get("data")
            key = f"{d.event_type}/{data.get('rule_id') if isinstance(data, dict) else None}"
            unexpected[key] = unexpected.get(key, 0) + 1
    wrong_rule = sum(1 for d in first.values() if d.payload["data"].get("rule_id") != rule_id)
    missing = sorted(set(sent) - set(first))
    duplicated = sum(1 for n in per_probe.values() if n > 1)
    stats = run.receiver.recorder.stats()
    received = {pid: d.received_at for pid, d in first.items() if pid in sent}
    latencies = [received[pid] - sent[pid].published for pid in sent if pid in received]
    pubacks = [s.puback - s.published for s in sent.values() if s.puback is not None]

    bg = outcome.background
    published = sum(r.readings for r in bg)
    messages = sum(r.messages for r in bg)
    seconds = max(r.last for r in bg) - min(r.first for r in bg)
    drained = outcome.drained_s
    print()
    print(
        f"background: {published:,} readings in {messages:,} messages over {seconds:.1f} s = "
        f"{published / max(seconds, 1e-9):,.0f} readings/s achieved (target "
        f"{args.background_rate:,.0f}); PUBACKed {sum(r.acked for r in bg):,} of {messages:,} "
        f"messages; stored {outcome.stored:,} of {published:,} readings"
        + (f" (the last {drained:.1f} s after the load stopped)" if drained > 0.5 else "")
    )
    print(
        f"probes: {len(sent)} of {args.probes} published; {len(first)} got their webhook, "
        f"missing {len(missing)}, with duplicate deliveries {duplicated} (receiver duplicates "
        f"in all: {stats.duplicates}); refused by the receiver {sum(stats.rejected.values())}; "
        f"from another rule than {rule_id}: {wrong_rule}; webhooks not from a probe: "
        f"{sum(unexpected.values())} {unexpected or ''}"
    )
    if missing:
        more = " ..." if len(missing) > 10 else ""
        print(f"  missing (patient ids): {', '.join(missing[:10])}{more}")
    print(f"publish -> broker PUBACK (client side):  {summary(pubacks)}")
    print(f"\nlatency, probe published -> signed webhook received, n = {len(latencies)}:")
    print(f"  {summary(latencies)}")
    if latencies:
        p99 = percentile(latencies, 99)
        verdict = "met" if p99 <= GOAL_P99_S and not missing else "NOT met"
        print(
            f"  goal p99 <= {GOAL_P99_S:.0f} s with every probe notified: {verdict} "
            f"(p99 {p99:.3f} s, {len(missing)} missing)"
        )
        order = sorted(sent, key=lambda pid: sent[pid].published)
        size = max(1, len(order) // 4)
        print("  by quarter of the run (in publish order):")
        for q in range(4):
            part = order[q * size : (q + 1) * size if q < 3 else None]
            values = [received[pid] - sent[pid].published for pid in part if pid in received]
            print(f"    {q + 1}: n {len(values):3}  {summary(values)}")

    rows = probe_stages(run.url, sent, received, PROBE_METRICS[args.probe], outcome.probe_since)
    print("\nwhere the time goes, per probe (database timestamps; one clock):")
    for k, name in enumerate(STAGE_NAMES):
        print(f"  {name:<34}{summary([stages[k] for _, stages in rows])}")
    print("  slowest probes, total = the stages above (ms):")
    for total, stages in rows[:5]:
        print(f"    {total * 1000:6.0f} = " + " + ".join(f"{p * 1000:.0f}" for p in stages))
    report_outbox(run.url, outcome.probe_since)
    report_rules(run, outcome, messages / max(seconds, 1e-9))
    print_cpu(*outcome.cpu)


def report_outbox(url: str, since: float) -> None:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT n.channel, n.state, count(*), avg(t.duration_ms) "
            "FROM notifications AS n LEFT JOIN notification_attempts AS t "
            "ON t.notification_id = n.id AND t.attempt = 1 "
            "WHERE n.created_at >= to_timestamp(%(since)s) GROUP BY 1, 2 ORDER BY 1, 2",
            {"since": since},
        ).fetchall()
        alerts = conn.execute(
            "SELECT count(*) FILTER (WHERE p.reference LIKE %(bg)s), count(*) "
            "FROM alerts AS a JOIN patients AS p ON p.id = a.patient_id",
            {"bg": f"{BG_PREFIX}%"},
        ).fetchone()
    print("\noutbox rows written since the probes began (channel, state, rows, first attempt):")
    for channel, state, count, mean_ms in rows:
        mean = f"{mean_ms:.1f} ms mean" if mean_ms is not None else "-"
        print(f"  {channel:<10}{state:<11}{count:>8,}  {mean}")
    if alerts:
        print(f"alerts: {alerts[1]} in all, {alerts[0]} of them for background patients")


RULES_SQL = """
SELECT count(*), count(DISTINCT n.patient_id)
FROM notifications AS n
WHERE n.channel = 'device' AND n.event LIKE 'readings.%%'
  AND n.created_at BETWEEN to_timestamp(%(a)s) AND to_timestamp(%(b)s)
"""


def report_rules(run: Run, outcome: Outcome, requests_per_s: float) -> None:
    """The rules workers' throughput against what the background asks of them.

    Every background message queues its patient; each evaluation that answers a device's
    readings writes one ``readings.*`` device message (one device per patient here),
    so those rows count the evaluations (a patient re-queued while being evaluated is evaluated
    again without one: a lower bound).
    """
    a, b = outcome.window
    with psycopg.connect(run.url) as conn:
        row = conn.execute(RULES_SQL, {"a": a, "b": b}).fetchone()
    done, patients = row if row else (0, 0)
    print(
        f"rules ({run.args.rules_workers} worker(s)): about {done / (b - a):,.0f} evaluations/s "
        f"done in the window against {requests_per_s:,.0f} patient requests/s from the "
        f"background; {patients:,} of {len(run.background):,} background patients evaluated "
        f"in it; largest queue seen {run.max_queue:,}"
    )


def print_cpu(before: CpuSnapshot, after: CpuSnapshot) -> None:
    wall = after.wall - before.wall
    cores = os.cpu_count() or 1
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    print(f"\nCPU over the measured window ({wall:.0f} s wall, {cores} cores):")
    ours = 0.0
    for name, pids in after.processes.items():
        old = before.processes.get(name, {})
        # A process born in the window (a pooled connection) counts whole.
        used = sum(cpu - old.get(pid, 0.0) for pid, cpu in pids.items())
        ours += used
        print(f"  {name:<28}{used:8.1f} s  ({used / wall:5.0%} of one core)")
    print(
        f"  {'whole machine, busy':<28}{busy:8.1f} s  ({busy / total:5.0%} of all cores); "
        f"not ours (other engineers' runs, the OS): about {max(busy - ours, 0.0):.1f} s"
    )
