"""The figures of bench/soak.py at the end: throughput, ingest lag per window and over the run,
alert latency, stored against published, memory per process, CPU; as JSON and printed.
"""

from __future__ import annotations

import os
from typing import Any

from common import one, percentile, rows
from soak_run import Run, Totals
from soak_sampling import WATCHED, memory_verdicts


def analyse(run: Run, totals: Totals) -> dict[str, Any]:
    args = run.args
    started_wall, published_readings = totals.started_wall, totals.published_readings
    assert run.receiver is not None
    window = args.sample_every
    # Ingest lag per window of publish time, from the readings the load published.
    lag_rows = rows(
        run.url,
        """
        SELECT floor(extract(epoch FROM measured_at - to_timestamp(%(t0)s)) / %(w)s)::int AS k,
               count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY lag),
               max(lag)
        FROM (SELECT measured_at, extract(epoch FROM received_at - measured_at) AS lag
              FROM readings WHERE measured_at >= to_timestamp(%(t0)s)) AS live
        GROUP BY 1 ORDER BY 1
        """,
        {"t0": started_wall - 1.0, "w": window},
    )
    overall = rows(
        run.url,
        """
        SELECT count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY lag),
               max(lag)
        FROM (SELECT extract(epoch FROM received_at - measured_at) AS lag
              FROM readings WHERE measured_at >= to_timestamp(%(t0)s)) AS live
        """,
        {"t0": started_wall - 1.0},
    )[0]
    stored_live = int(overall[0])
    dead = int(one(run.url, "SELECT count(*) FROM dead_letters"))
    # Alert latency: probe publish -> first webhook for that patient at the receiver.
    by_patient = {}
    for d in run.receiver.recorder.notifications():
        pid = d.payload.get("data", {}).get("patient_id")
        if pid is not None and pid not in by_patient:
            by_patient[pid] = d.received_at
    latencies = []
    per_quarter: list[list[float]] = [[], [], [], []]
    missing = 0
    for index, sent in sorted(run.probe_sent.items()):
        got = by_patient.get(run.probes[index].patient_id)
        if got is None:
            missing += 1
            continue
        latencies.append(got - sent)
        quarter = min(int((sent - started_wall) / (args.duration / 4)), 3)
        per_quarter[quarter].append(got - sent)
    stats = run.receiver.recorder.stats()
    cpu = {}
    first, last = run.samples[0], run.samples[-1]
    for name in WATCHED:
        used = last.cpu.get(name, 0.0) - first.cpu.get(name, 0.0)
        cpu[name] = round(used / max(last.t - first.t, 1.0), 3)
    # No patient reference in any service's or the broker's log.
    logs = [s.log_path for s in run.services.values() if s.log_path is not None]
    if run.broker is not None:
        logs.append(run.broker.log)
    leaks = {
        path.name: count
        for path in logs
        if (count := path.read_text(errors="replace").count(args.reference_tag))
    }
    return {
        "args": {k: v for k, v in vars(args).items() if k not in ("json",)},
        "log_leaks": leaks,
        "published": {
            "messages": totals.published_messages,
            "readings": published_readings,
            "acked_by_broker": totals.acked,
        },
        "stored_live_readings": stored_live,
        "stored_equals_published": stored_live == published_readings,
        "dead_letters": dead,
        "throughput_readings_per_s": round(published_readings / run.load_s, 1),
        "drain_after_load_s": round(totals.drain_s, 1),
        "ingest_lag_s": {
            "p50": round(float(overall[1] or 0), 3),
            "p99": round(float(overall[2] or 0), 3),
            "max": round(float(overall[3] or 0), 3),
            "per_window": [
                {
                    "t": k * window,
                    "readings": n,
                    "p50": round(float(p50), 3),
                    "p99": round(float(p99), 3),
                    "max": round(float(mx), 3),
                }
                for k, n, p50, p99, mx in lag_rows
            ],
        },
        "alert_latency_s": {
            "probes": len(run.probe_sent),
            "notified": len(latencies),
            "missing": missing,
            "p50": round(percentile(latencies, 50), 3),
            "p90": round(percentile(latencies, 90), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(max(latencies), 3) if latencies else None,
            "p99_per_quarter": [round(percentile(q, 99), 3) for q in per_quarter],
            "duplicates_at_receiver": stats.duplicates,
            "refused_signatures": dict(stats.rejected),
        },
        "load_s": round(run.load_s, 1),
        "memory": memory_verdicts(run.samples, run.load_s),
        "cpu_cores_used": cpu,
        "loadavg_end": os.getloadavg(),
        "samples": [
            {
                "t": round(s.t),
                "published": s.published,
                "stored": s.stored,
                "queue": s.queue,
                "pending": s.pending,
                "load1": round(s.load1, 2),
                "rss_mib": {k: round(v, 1) for k, v in s.rss.items()},
            }
            for s in run.samples
        ],
    }


def print_result(result: dict[str, Any]) -> None:
    lag, alert = result["ingest_lag_s"], result["alert_latency_s"]
    pub = result["published"]
    equal = "== published" if result["stored_equals_published"] else "NOT equal to published"
    print(
        f"\npublished {pub['readings']:,} readings in {pub['messages']:,} messages "
        f"({result['throughput_readings_per_s']} readings/s), stored "
        f"{result['stored_live_readings']:,} ({equal}), dead letters {result['dead_letters']}; "
        f"drained {result['drain_after_load_s']} s after the load ended"
    )
    print(
        f"ingest lag (published -> stored): p50 {lag['p50'] * 1000:.0f} ms, p99 "
        f"{lag['p99'] * 1000:.0f} ms, max {lag['max'] * 1000:.0f} ms; per window p99 "
        + ", ".join(f"{w['p99'] * 1000:.0f}" for w in lag["per_window"])
        + " ms"
    )
    print(
        f"alert latency (published -> signed webhook received), {alert['notified']}/"
        f"{alert['probes']} probes: p50 {alert['p50']:.3f} s, p90 {alert['p90']:.3f} s, p99 "
        f"{alert['p99']:.3f} s, max {alert['max']} s; p99 per quarter {alert['p99_per_quarter']};"
        f" duplicates {alert['duplicates_at_receiver']}"
    )
    print("\nmemory over the second half (RSS; PostgreSQL: private memory of all its processes):")
    print(
        f"  {'process':<18}{'start':>8}{'half':>8}{'end':>8}{'max':>8}{'MiB/h':>8}{'growth':>8}"
        "  verdict"
    )
    for name, m in result["memory"].items():
        print(
            f"  {name:<18}{m['rss_start_mib']:8.1f}{m['rss_second_half_first_mib']:8.1f}"
            f"{m['rss_end_mib']:8.1f}{m['rss_max_mib']:8.1f}{m['slope_mib_per_hour']:8.1f}"
            f"{m['second_half_growth_mib']:8.1f}  {'flat' if m['flat'] else 'GROWING'}"
        )
    print(f"patient references in the services' and broker's logs: {result['log_leaks'] or 0}")
    cores = ", ".join(f"{k} {v:.2f}" for k, v in result["cpu_cores_used"].items())
    load = result["loadavg_end"]
    print(
        f"\nCPU (cores used on average): {cores}; load average at the end {load[0]:.1f} "
        f"{load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
    )
