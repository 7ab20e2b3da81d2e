"""A national-scale simulation: ingest, rules and dispatch against 250,000 enrolled patients and
their morning peak, compressed in time (issue 18).

    nice .venv/bin/python bench/scale.py [--patients 250000] [--history-days 7]
        [--peak-minutes 20] [--probe-share 0.005] [--rules-workers 1] [--dispatchers 1]
        [--drain-timeout 1800] [--quick]

In a database of its own (local PostgreSQL, plain path): --patients patients in health centres
of 500 with one gateway each, --history-days days of readings and each patient's deadline,
COPY'd (bench/scale_world.py). A Mosquitto of its own (the project's limits), ``hemkoll
ingest``, --rules-workers ``hemkoll rules`` and --dispatchers ``hemkoll dispatch``, each its own
process as deployed; every centre's webhooks go to the simulator's receiver (signatures
verified). Then the morning: every patient's gateway sends her morning's messages (weighing,
blood pressure, questionnaire, on the days she uses them) within --peak-minutes, shaped like a
peak (bench/scale_peak.py); --probe-share of them answer severe breathlessness, which opens a
red alert whose webhook times the chain (publish -> signed webhook received). The bench waits
until the rules queue is empty and the outbox delivered (or --drain-timeout).

Prints: messages and readings; evaluations/s (over the run, and the best 30 s); the queue
depth over time; alert latency p50/p99 of the probes, and of every alert a morning reading
opened, urgent readings (served first by the queue) apart from routine ones; database size
(and per table, per patient); CPU seconds per component (ingest, rules, dispatch, broker,
PostgreSQL's backends of this database, the publisher) and of the machine. A real peak of
250,000 patients lasts about two hours: --peak-minutes compresses it, and the message rate
printed says by how much.
--quick: 2,000 patients, 2 days, a 1-minute peak (under a minute or two).
The machine is shared (2 cores with other helpers' work): run it with ``nice``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cohort import start_centre
from common import (
    RunServices,
    Service,
    backend_pids,
    bench_args,
    end_run,
    fresh_database,
    load_average,
    one,
    percentile,
    rows,
    say,
    start_broker,
    stop_services,
    wait_for,
)
from scale_peak import PeakPlan, Samples, counters, start_publisher
from scale_world import Morning, load

from hemkoll.simulator.receiver.health_centre import WebhookReceiver

# A real morning peak: four fifths of a day's readings within two hours (docs/scaling.md).
REAL_PEAK_S = 2 * 3600
# Progress and the queue's depth are sampled this often.
SAMPLE_S = 5.0
# The best sustained evaluation rate is taken over windows this long.
RATE_WINDOW_S = 30.0
# Until every service is up (its metrics answer).
READY_TIMEOUT_S = 60.0
QUICK = {"patients": 2_000, "history_days": 2, "peak_minutes": 1.0, "drain_timeout": 300.0}


def _sizes(url: str) -> list[tuple[str, int]]:
    return [
        (str(name), int(size))
        for name, size in rows(
            url,
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class"
            " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            " ORDER BY 2 DESC LIMIT 6",
        )
    ]


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--history-days", type=int, default=7)
    parser.add_argument("--peak-minutes", type=float, default=20.0)
    parser.add_argument("--probe-share", type=float, default=0.005)
    parser.add_argument("--rules-workers", type=int, default=1)
    parser.add_argument("--dispatchers", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=1800.0)
    args = bench_args(parser, QUICK)
    say(
        f"shared machine ({os.cpu_count()} cores, load average {load_average()}): figures vary "
        "from run to run"
    )
    now = datetime.now(UTC)
    url = fresh_database("scale")
    prefix = f"hemkoll-scale-{os.getpid()}"
    services: list[Service] = []
    broker = receiver = proc = None
    try:
        if one(url, "SHOW autovacuum") != "on":
            # The outbox grows from nothing during the run: never analysed, its claim is planned
            # for an empty table and sorts the whole backlog each time (docs/scaling.md).
            say(
                "WARNING: this PostgreSQL runs with autovacuum off, unlike any deployment: the"
                " tables the run fills are never analysed or vacuumed, and the dispatcher's"
                " figures are not a deployment's"
            )
        t0 = time.perf_counter()
        morning = load(
            url,
            patients=args.patients,
            history_days=args.history_days,
            probe_share=args.probe_share,
            now=now,
        )
        size_before = int(one(url, "SELECT pg_database_size(current_database())"))
        probes = sum(m.probe for m in morning.messages)
        readings = sum(len(m.readings) for m in morning.messages)
        say(
            f"loaded {args.patients:,} patients, {morning.history_readings:,} history readings "
            f"({args.history_days} days) in {time.perf_counter() - t0:.0f} s; database "
            f"{_mib(size_before)}; the morning: {len(morning.messages):,} messages, "
            f"{readings:,} readings, {probes:,} probes; the patients' time zone {morning.timezone}"
        )
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            broker = start_broker(work)
            seconds = args.peak_minutes * 60
            plan = PeakPlan(broker.host, broker.port, prefix, seconds, seed=7)
            proc, go, out = start_publisher(plan, morning)  # forked before any thread
            receiver = start_centre(url)
            run = RunServices.of_run(url, broker.url, prefix, work, services)
            ports = run.ports
            run.start("ingest", "ingest")
            for k in range(args.rules_workers):
                run.start(f"rules-{k}", "rules")
            run.start_dispatchers(args.dispatchers, prefix)

            def ready() -> bool:
                try:
                    for port in ports.values():
                        counters(port)
                except httpx.HTTPError:
                    return False
                return True

            wait_for(ready, READY_TIMEOUT_S, "every service's /metrics", services=services)
            time.sleep(2.0)  # ingest's subscription in place
            assert broker.process is not None
            groups = {s.name.split("-")[0]: [] for s in services}
            for s in services:
                groups[s.name.split("-")[0]].append(s.pid)
            groups["broker"] = [broker.process.pid]
            groups["publisher"] = [int(proc.pid or 0)]
            groups["postgres"] = backend_pids(url)
            samples = Samples()
            began = time.monotonic()
            samples.take(url, began, ports, groups, 0)
            go.set()
            drained_at, result = _peak(
                url,
                args,
                morning,
                samples,
                began,
                ports=ports,
                groups=groups,
                services=services,
                out=out,
                receiver=receiver,
                readings=readings,
            )
            proc.join(timeout=30)
            sent, acked, first, last, probe_sent = result
            say(f"the publisher sent for {last - first:,.0f} s")
            deliveries = receiver.recorder.deliveries()
            stop_services(services)
            services.clear()
        _report(
            url,
            args=args,
            samples=samples,
            drained_at=drained_at,
            sent=sent,
            acked=acked,
            probe_sent=probe_sent,
            deliveries=deliveries,
            morning_began=first,
        )
        size_after = int(one(url, "SELECT pg_database_size(current_database())"))
        say(
            f"database: {_mib(size_before)} before the morning, {_mib(size_after)} after; "
            f"{size_after / args.patients / 1024:,.1f} KiB a patient with {args.history_days} "
            "days of history; largest tables: "
            + ", ".join(f"{n} {_mib(b)}" for n, b in _sizes(url))
        )
    finally:
        stop_services(services)
        if proc is not None and proc.is_alive():
            proc.terminate()
        end_run(url, services, receiver, broker)  # the services are stopped: only the rest


def _peak(
    url: str,
    args: argparse.Namespace,
    morning: Morning,
    samples: Samples,
    began: float,
    *,
    ports: dict[str, int],
    groups: dict[str, list[int]],
    services: list[Service],
    out: Any,
    receiver: WebhookReceiver,
    readings: int,
) -> tuple[float | None, Any]:
    """Sample until the queue and the outbox are empty and every reading is stored (or the
    drain timeout); (seconds after the start it drained, or None; the publisher's result)."""
    seconds = args.peak_minutes * 60
    rate = len(morning.messages) / seconds
    say(
        f"the morning: {len(morning.messages):,} messages over {args.peak_minutes:g} min "
        f"({rate:,.0f} messages/s; a real two-hour peak of these patients: "
        f"{len(morning.messages) / REAL_PEAK_S:,.1f}/s, compressed "
        f"{REAL_PEAK_S / seconds:.1f}x)"
    )
    print(
        f"  {'t (s)':>7}{'queue':>9}{'evaluated':>11}{'eval/s':>8}{'stored':>11}"
        f"{'alerts':>8}{'outbox':>8}{'webhooks':>10}",
        flush=True,
    )
    result = None
    while True:
        time.sleep(SAMPLE_S)
        for s in services:
            s.check_alive()
        groups["postgres"] = sorted(set(groups["postgres"]) | set(backend_pids(url)))
        prev = samples.taken[-1]
        s = samples.take(url, began, ports, groups, len(receiver.recorder.deliveries()))
        per_s = (s.evaluations - prev.evaluations) / (s.at - prev.at)
        print(
            f"  {s.at:7.0f}{s.queue:9,}{s.evaluations:11,.0f}{per_s:8.0f}{s.stored:11,.0f}"
            f"{s.alerts:8,}{s.pending:8,}{s.webhooks:10,}",
            flush=True,
        )
        if result is None and not out.empty():
            result = out.get()
        # Drained: everything published, ingest idle (every reading stored, or a refused one
        # dead-lettered: stored no longer grows), the queue and the outbox empty.
        idle = s.stored >= readings or s.stored == prev.stored
        if result is not None and idle and s.queue == 0 and s.pending == 0:
            return s.at, result
        if s.at > seconds + args.drain_timeout:
            say("drain timeout: the queue or the outbox did not empty")
            return None, result if result is not None else out.get(timeout=60)


def _report(
    url: str,
    *,
    args: argparse.Namespace,
    samples: Samples,
    drained_at: float | None,
    sent: int,
    acked: int,
    probe_sent: dict[str, float],
    deliveries: tuple[object, ...],
    morning_began: float,
) -> None:
    taken = samples.taken
    first, end = taken[0], taken[-1]
    evaluations = end.evaluations - first.evaluations
    busy = [s for s in taken if s.evaluations > first.evaluations]
    span = (busy[-1].at - taken[0].at) if busy else float("nan")
    best = 0.0
    for i, a in enumerate(taken):
        for b in taken[i + 1 :]:
            if b.at - a.at >= RATE_WINDOW_S:
                best = max(best, (b.evaluations - a.evaluations) / (b.at - a.at))
                break
    refused = one(url, "SELECT count(*) FROM dead_letters")
    say(
        f"published {sent:,} messages ({acked:,} acknowledged); ingest stored "
        f"{end.stored - first.stored:,.0f} readings, dead-lettered {refused:,}"
    )
    say(
        f"rules: {evaluations:,.0f} evaluations in {span:,.0f} s = {evaluations / span:,.0f}/s "
        f"over the run, best {RATE_WINDOW_S:.0f} s {best:,.0f}/s ({args.rules_workers} worker(s)); "
        f"the queue's deepest {max(s.queue for s in taken):,}, empty "
        + ("never" if drained_at is None else f"{drained_at:,.0f} s after the peak began")
    )
    received: dict[str, float] = {}
    for d in deliveries:
        payload = getattr(d, "payload", {})
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, dict) and data.get("rule_id") == "breathlessness_at_rest":
            pid = str(data.get("patient_id"))
            received.setdefault(pid, float(getattr(d, "received_at", 0.0)))
    latencies = [(received[p] - t) * 1000 for p, t in probe_sent.items() if p in received]
    missing = len(probe_sent) - len(latencies)
    say(
        f"alert latency (probe published -> signed webhook received), {len(latencies)} probes: "
        f"p50 {percentile(latencies, 50):,.0f} ms, p99 {percentile(latencies, 99):,.0f} ms, "
        f"max {max(latencies, default=float('nan')):,.0f} ms; {missing} without a webhook; "
        f"webhooks in all {len(deliveries):,}, alerts {end.alerts:,}"
    )
    _latency_by_urgency(url, deliveries, morning_began)
    by_rule = rows(
        url, "SELECT rule_id, severity, count(*) FROM alerts GROUP BY 1, 2 ORDER BY 3 DESC"
    )
    say("alerts opened by rule: " + ", ".join(f"{r} ({s}) {n:,}" for r, s, n in by_rule))
    wall = end.cpu.wall - first.cpu.wall
    busy_cpu = end.cpu.machine[0] - first.cpu.machine[0]
    total_cpu = end.cpu.machine[1] - first.cpu.machine[1]
    parts = []
    for name, pids in end.cpu.processes.items():
        before = first.cpu.processes.get(name, {})
        used = sum(cpu - before.get(pid, 0.0) for pid, cpu in pids.items())
        parts.append(f"{name} {used:,.0f} s")
    say(
        f"CPU over {wall:,.0f} s: " + ", ".join(parts) + f"; the machine {busy_cpu:,.0f} of "
        f"{total_cpu:,.0f} core-seconds busy ({100 * busy_cpu / total_cpu:.0f} %, other "
        "helpers' work included)"
    )


def _latency_by_urgency(url: str, deliveries: tuple[object, ...], since: float) -> None:
    """Alert latency of every alert a morning reading opened, urgent readings apart from routine
    ones: the reading's measured_at (the publisher stamps it as it sends) -> the alert's first
    webhook received. Urgent: a red threshold or symptom alert, whose reading is beyond the
    programme's red limits (hemkoll.rules.urgency: the queue serves it first); routine: the
    others (trends, yellow levels). Missing-measurement alerts have no reading: left out."""
    opened: dict[str, float] = {}
    for d in deliveries:
        payload = getattr(d, "payload", {})
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, dict) and payload.get("type") == "alert.opened":
            opened.setdefault(str(data.get("alert_id")), float(getattr(d, "received_at", 0.0)))
    found: dict[str, list[float]] = {"urgent": [], "routine": []}
    for alert_id, kind, severity, fired in rows(
        url,
        "SELECT id::text, rule_kind, severity, extract(epoch FROM first_fired_at)::float8"
        " FROM alerts WHERE rule_kind <> 'missing' AND first_fired_at >= to_timestamp(%(since)s)",
        {"since": since - 1},
    ):
        if alert_id in opened:
            urgent = severity == "red" and kind in ("threshold", "symptom")
            found["urgent" if urgent else "routine"].append((opened[alert_id] - fired) * 1000)
    for name, latencies in found.items():
        say(
            f"alert latency of {name} readings (measured -> webhook received), "
            f"{len(latencies)} alerts: p50 {percentile(latencies, 50):,.0f} ms, "
            f"p99 {percentile(latencies, 99):,.0f} ms, "
            f"max {max(latencies, default=float('nan')):,.0f} ms"
        )


if __name__ == "__main__":
    main()
