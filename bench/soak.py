"""Soak: a steady, realistic load for a long time; throughput, ingest lag, alert latency and the
memory of every process sampled over time (it must stay flat).

    .venv/bin/python bench/soak.py [--duration 600] [--patients 5000] [--wearables 200]
                                   [--sample-every 15] [--json out.json]

Everything runs as deployed, each a process of its own: a PostgreSQL cluster of the bench's own
(bench/faults.py's OwnPostgres: the machine's cluster is shared and its memory would not be
ours to measure), a Mosquitto with the project's limits (LocalMosquitto) and the deployed
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
import contextlib
import multiprocessing as mp
import os
import queue
import random
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faults
import lean_publisher
import numpy as np
import orjson
import psycopg

from hemkoll.ingest.local_broker import LocalMosquitto
from hemkoll.ingest.protocol import readings_topic
from hemkoll.simulator.receiver import WebhookReceiver
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.health_centres import new_signing_secret

CENTRE = "Soak VC"
# Morning sessions, one message each: (metric, unit, mean, sd); weight is the patient's own.
SESSIONS: tuple[tuple[tuple[str, str, float, float], ...], ...] = (
    (("body_weight", "kg", 0.0, 0.2),),
    (
        ("systolic_bp", "mm[Hg]", 128.0, 8.0),
        ("diastolic_bp", "mm[Hg]", 78.0, 5.0),
        ("heart_rate", "/min", 70.0, 5.0),
    ),
    (("spo2", "%", 96.5, 0.8), ("heart_rate", "/min", 71.0, 5.0)),
    (
        ("symptom_breathlessness", "{score}", 0.0, 0.0),
        ("symptom_ankle_swelling", "{score}", 0.0, 0.0),
        ("symptom_fatigue", "{score}", 0.0, 0.0),
    ),
)
WEARABLE = (("spo2", "%", 96.5, 0.8), ("heart_rate", "/min", 72.0, 6.0))
# Keep values well inside the preset's limits (BP 80-170, HR 40-110, SpO2 >= 90).
CLAMP = {
    "systolic_bp": (105.0, 150.0),
    "diastolic_bp": (62.0, 92.0),
    "heart_rate": (55.0, 95.0),
    "spo2": (93.0, 99.0),
}
MORNING_SESSION_GAP_S = 60.0
TICK_S = 0.02
FLAT_SHARE = 0.05
FLAT_MIB = 5.0


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def value(rng: np.random.Generator, weight: float, metric: str, mean: float, sd: float) -> float:
    if metric == "body_weight":
        return round(weight + float(rng.normal(0, sd)), 1)
    if metric.startswith("symptom_"):
        return 0.0
    low, high = CLAMP[metric]
    return float(round(min(max(mean + float(rng.normal(0, sd)), low), high)))


# --- set-up -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Patient:
    patient_id: str
    device_id: str
    weight: float


def enrol_cohort(
    url: str, count: int, prefix: str, seed: int, kind: str = "gateway"
) -> list[Patient]:
    """``count`` patients with a device of ``kind`` each (the patient is reused if the
    reference exists: a second device of the same patient)."""
    rng = np.random.default_rng(seed)
    out = []
    with connect(url) as conn:
        for i in range(count):
            e = enrol_device(
                conn,
                health_centre_name=CENTRE,
                patient_reference=f"{prefix}-{i:05d}",
                device_kind=kind,
            )
            out.append(Patient(str(e.patient.id), str(e.device.id), float(rng.uniform(60, 100))))
        conn.execute("UPDATE devices SET enrolled_at = now() - interval '400 days'")
        conn.commit()
    return out


def seed_history(url: str, patients: Sequence[Patient], days: int, seed: int) -> int:
    """Daily in-range mornings for ``days`` days up to yesterday, written straight to the store."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY readings (patient_id, device_id, metric, value, measured_at) FROM STDIN"
        ) as copy:
            for p in patients:
                for day in range(days, 0, -1):
                    at = now - timedelta(days=day, minutes=float(rng.uniform(-60, 60)))
                    for s, session in enumerate(SESSIONS):
                        t = at + timedelta(minutes=s)
                        for metric, _unit, mean, sd in session:
                            v = value(rng, p.weight, metric, mean, sd)
                            copy.write_row((p.patient_id, p.device_id, metric, v, t))
                            rows += 1
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return rows


# --- the load generator (a process of its own) --------------------------------------------


@dataclass(frozen=True)
class LoadJob:
    host: str
    port: int
    client_id: str
    prefix: str
    morning: tuple[tuple[str, float], ...]  # (device id, weight)
    wearables: tuple[str, ...]  # device ids (of morning patients)
    probes: tuple[str, ...]  # device ids, one probe each, in order
    duration_s: float
    wearable_every_s: float
    probe_every_s: float
    seed: int


def _schedule(job: LoadJob) -> list[tuple[float, int, int, int]]:
    """(offset s, kind 0 morning / 1 wearable / 2 probe, who, session) sorted by time."""
    rng = random.Random(job.seed)
    plan = []
    # Steady: mornings start uniformly over the run, and a morning that would run past its end
    # continues at its start (so the rate is the same from the first second to the last).
    gap = min(MORNING_SESSION_GAP_S, job.duration_s / 10)  # short test runs: closer sessions
    for i in range(len(job.morning)):
        start = rng.uniform(0, job.duration_s)
        plan.extend(((start + s * gap) % job.duration_s, 0, i, s) for s in range(len(SESSIONS)))
    for i in range(len(job.wearables)):
        t = rng.uniform(0, job.wearable_every_s)
        while t < job.duration_s:
            plan.append((t, 1, i, 0))
            t += job.wearable_every_s
    for i in range(len(job.probes)):
        plan.append(((i + 0.5) * job.probe_every_s, 2, i, 0))
    plan.sort()
    return plan


def load_generator(job: LoadJob, go: Any, stop: Any, counters: Any, probes_out: Any) -> None:
    """Publish the schedule on the wall clock; count messages and readings; report probes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rng = np.random.default_rng(job.seed)
    plan = _schedule(job)
    morning_topics = [readings_topic(job.prefix, d) for d, _ in job.morning]
    wearable_topics = [readings_topic(job.prefix, d) for d in job.wearables]
    probe_topics = [readings_topic(job.prefix, d) for d in job.probes]
    with socket.create_connection((job.host, job.port)) as sock:
        lean_publisher.handshake(sock, job.client_id, keepalive=0)
        go.wait()
        start = time.monotonic()
        packet_id = 0
        pending = b""
        messages = readings = acked = 0
        nxt = 0
        while nxt < len(plan) and not stop.is_set():
            now_s = time.monotonic() - start
            chunk = bytearray()
            while nxt < len(plan) and plan[nxt][0] <= now_s:
                _, kind, who, session = plan[nxt]
                nxt += 1
                at = datetime.now(UTC).isoformat(timespec="milliseconds")
                if kind == 0:
                    topic = morning_topics[who]
                    weight = job.morning[who][1]
                    items = [
                        {
                            "metric": m,
                            "value": value(rng, weight, m, mu, sd),
                            "unit": u,
                            "measured_at": at,
                        }
                        for m, u, mu, sd in SESSIONS[session]
                    ]
                elif kind == 1:
                    topic = wearable_topics[who]
                    items = [
                        {
                            "metric": m,
                            "value": value(rng, 0.0, m, mu, sd),
                            "unit": u,
                            "measured_at": at,
                        }
                        for m, u, mu, sd in WEARABLE
                    ]
                else:
                    topic = probe_topics[who]
                    items = [
                        {
                            "metric": "symptom_breathlessness",
                            "value": 3,
                            "unit": "{score}",
                            "measured_at": at,
                        }
                    ]
                payload = orjson.dumps({"msg_id": uuid.uuid4().hex[:16], "readings": items})
                packet_id = packet_id % 65535 + 1
                chunk += lean_publisher.publish_packet(topic, payload, packet_id)
                if kind == 2:
                    probes_out.put((who, time.time()))
                messages += 1
                readings += len(items)
            if chunk:
                sock.sendall(chunk)
                counters[0], counters[1] = messages, readings
            pending, count = lean_publisher.drain_pubacks(sock, pending, 0.0)
            acked += count
            counters[2] = acked
            time.sleep(TICK_S)
        deadline = time.monotonic() + 30
        while acked < messages and time.monotonic() < deadline:
            pending, count = lean_publisher.drain_pubacks(sock, pending, 0.5)
            acked += count
            counters[2] = acked
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    probes_out.put(None)


# --- sampling -----------------------------------------------------------------------------


def proc_memory_cpu(pid: int) -> tuple[float, float, float] | None:
    """(VmRSS MiB, RssAnon MiB, CPU seconds) of a process, or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    fields = {
        line.split(":", 1)[0]: line.split(":", 1)[1] for line in status.splitlines() if ":" in line
    }
    rss = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    anon = int(fields.get("RssAnon", "0 kB").split()[0]) / 1024
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, anon, (int(stat[11]) + int(stat[12])) / ticks


def children_of(parent: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == parent:
            out.append(int(entry.name))
    return out


def postmaster_pid(pg: faults.OwnPostgres) -> int:
    return int((pg.data / "postmaster.pid").read_text().splitlines()[0])


@dataclass
class Sample:
    t: float  # seconds since the load started
    published: int
    stored: int
    queue: int
    pending: int
    rss: dict[str, float]
    cpu: dict[str, float]  # seconds so far
    load1: float


@dataclass
class Run:
    args: argparse.Namespace
    workdir: Path
    pg: faults.OwnPostgres | None = None
    url: str = ""
    broker: LocalMosquitto | None = None
    receiver: WebhookReceiver | None = None
    services: dict[str, faults.Service] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    probe_sent: dict[int, float] = field(default_factory=dict)
    probes: list[Patient] = field(default_factory=list)
    baseline_inserts: int = 0
    load_s: float = 0.0


def processes(run: Run) -> dict[str, list[int]]:
    assert run.pg is not None
    assert run.broker is not None
    assert run.broker.process is not None
    master = postmaster_pid(run.pg)
    return {
        **{name: [s.pid] for name, s in run.services.items()},
        "mosquitto": [run.broker.process.pid],
        "postgres": [master, *children_of(master)],
        "bench (receiver)": [os.getpid()],
    }


def sample(run: Run, t: float, published: int) -> Sample:
    rss: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name, pids in processes(run).items():
        total_rss = total_cpu = 0.0
        for pid in pids:
            got = proc_memory_cpu(pid)
            if got is None:
                continue
            # PostgreSQL: private memory only (shared buffers count in every backend's RSS).
            total_rss += got[1] if name == "postgres" else got[0]
            total_cpu += got[2]
        rss[name], cpu[name] = total_rss, total_cpu
    inserted, depth, pending = faults.rows(
        run.url,
        "SELECT (SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables"
        "          WHERE relname = 'readings' AND schemaname = 'public'),"
        " (SELECT count(*) FROM evaluation_queue),"
        " (SELECT count(*) FROM notifications WHERE state = 'pending')",
    )[0]
    return Sample(
        t=t,
        published=published,
        stored=int(inserted) - run.baseline_inserts,
        queue=int(depth),
        pending=int(pending),
        rss=rss,
        cpu=cpu,
        load1=os.getloadavg()[0],
    )


# --- the run ------------------------------------------------------------------------------


def set_up(run: Run) -> tuple[list[Patient], list[Patient]]:
    args = run.args
    run.pg = faults.OwnPostgres().start()
    run.url = run.pg.create_database("hemkoll_soak")
    t0 = time.monotonic()
    tag = uuid.uuid4().hex[:6]
    cohort = enrol_cohort(run.url, args.patients, f"SOAK{tag}", args.seed)
    # The wearable is a device of its own (a pulse oximeter) of the first --wearables patients.
    wearables = enrol_cohort(run.url, args.wearables, f"SOAK{tag}", args.seed, "pulse_oximeter")
    probe_count = int(args.duration // args.probe_every) + 1
    run.probes = enrol_cohort(run.url, probe_count, f"SOAKPROBE{tag}", args.seed + 1)
    history = seed_history(run.url, cohort, args.history_days, args.seed)
    say(
        f"set up: {len(cohort):,} patients ({args.wearables} with a wearable) and "
        f"{probe_count} probe patients enrolled, {history:,} history readings "
        f"({args.history_days} days) in {time.monotonic() - t0:.0f} s"
    )
    persistence = (
        "persistence true\n"
        f"persistence_location {run.workdir / 'broker'}/\n"
        "autosave_on_changes true\nautosave_interval 100\n"
    )
    run.broker = LocalMosquitto(run.workdir / "broker", persistence)
    run.broker.start()
    secret = new_signing_secret()
    run.receiver = WebhookReceiver(secret)
    run.receiver.start()
    with connect(run.url) as conn:
        conn.execute(
            "UPDATE health_centres SET notification_url = %s, signing_secret = %s",
            (run.receiver.url, secret),
        )
        conn.commit()
    prefix = f"soak-{tag}"
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": run.url,
        "HEMKOLL_MQTT_URL": run.broker.url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": prefix,
        "HEMKOLL_MQTT_CLIENT_ID": f"{prefix}-ingest",
        "HEMKOLL_DISPATCH_CLIENT_ID": f"{prefix}-dispatch",
        "HEMKOLL_PUBLIC_URL": "https://hemkoll.example",
        "HEMKOLL_LOG_LEVEL": "INFO",
    }
    run.args.prefix = prefix
    run.args.reference_tag = f"SOAK{tag}"
    for name in ("ingest", "rules", "dispatch"):
        run.services[name] = faults.Service(name, name, env, run.workdir).start()
    # Ingest's persistent session must exist before the load (a message published before its
    # subscription is not kept); the rules workers' start-up pass evaluates everyone: let it end.
    broker_log = run.broker.log
    faults.wait_for(
        lambda: f" as {prefix}-ingest " in broker_log.read_text(errors="replace"),
        60,
        "ingest to connect",
    )
    t1 = time.monotonic()
    rules_log = run.services["rules"].log_path
    faults.wait_for(
        lambda: (
            "scheduled evaluation of" in rules_log.read_text(errors="replace")
            and faults.one(run.url, "SELECT count(*) FROM evaluation_queue") == 0
        ),
        900,
        "the rules worker's start-up pass",
    )
    say(f"services up; the rules worker's start-up pass took {time.monotonic() - t1:.0f} s")
    return cohort, wearables


def soak(run: Run, cohort: list[Patient], wearables: list[Patient]) -> dict[str, Any]:
    args = run.args
    assert run.broker is not None
    assert run.receiver is not None
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    counters = ctx.Array("q", 3, lock=False)
    probes_out = ctx.Queue()
    job = LoadJob(
        host=run.broker.host,
        port=run.broker.port,
        client_id=f"{args.prefix}-load",
        prefix=args.prefix,
        morning=tuple((p.device_id, p.weight) for p in cohort),
        wearables=tuple(p.device_id for p in wearables),
        probes=tuple(p.device_id for p in run.probes),
        duration_s=args.duration,
        wearable_every_s=args.wearable_every,
        probe_every_s=args.probe_every,
        seed=args.seed,
    )
    generator = ctx.Process(
        target=load_generator, args=(job, go, stop, counters, probes_out), name="load"
    )
    generator.start()
    run.baseline_inserts = int(
        faults.one(
            run.url,
            "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables"
            " WHERE relname = 'readings' AND schemaname = 'public'",
        )
    )
    started_wall = time.time()
    started = time.monotonic()
    go.set()
    say(
        f"load on for {args.duration:.0f} s: {len(cohort):,} mornings, {len(wearables)} "
        f"wearables every {args.wearable_every:.0f} s, a probe every {args.probe_every:.0f} s; "
        f"sampling every {args.sample_every:.0f} s"
    )
    print_header()
    run.samples.append(sample(run, 0.0, 0))
    print_sample(run.samples[-1], None)
    generator_done = False
    next_sample = started + args.sample_every
    while True:
        for service in run.services.values():
            if not service.alive:
                raise RuntimeError(f"{service.name} died:\n{service.tail()}")
        with contextlib.suppress(queue.Empty):
            while True:
                item = probes_out.get(timeout=0.2)
                if item is None:
                    generator_done = True
                    break
                run.probe_sent[item[0]] = item[1]
        now = time.monotonic()
        if now >= next_sample:
            next_sample += args.sample_every
            run.samples.append(sample(run, now - started, int(counters[1])))
            print_sample(run.samples[-1], run.samples[-2])
        if generator_done and not generator.is_alive():
            break
        if not generator.is_alive() and not generator_done:
            raise RuntimeError(f"the load generator died ({generator.exitcode})")
    load_end = time.monotonic()
    run.load_s = load_end - started
    published_messages, published_readings, acked = (int(c) for c in counters[:3])
    # Drain: until every published reading is stored and every probe notified.
    deadline = time.monotonic() + args.drain_timeout
    probe_ids = {p.patient_id for p in run.probes}
    while time.monotonic() < deadline:
        stored = faults.one(
            run.url,
            "SELECT count(*) FROM readings WHERE measured_at >= to_timestamp(%(t0)s)",
            {"t0": started_wall - 1.0},
        )
        notified = {
            d.payload.get("data", {}).get("patient_id")
            for d in run.receiver.recorder.notifications()
        } & probe_ids
        if stored >= published_readings and len(notified) >= len(run.probe_sent):
            break
        time.sleep(2.0)
    drain_s = time.monotonic() - load_end
    run.samples.append(sample(run, time.monotonic() - started, published_readings))
    print_sample(run.samples[-1], run.samples[-2])
    return analyse(
        run,
        started_wall,
        published_messages=published_messages,
        published_readings=published_readings,
        acked=acked,
        drain_s=drain_s,
    )


# --- analysis and output ------------------------------------------------------------------

WATCHED = ("ingest", "rules", "dispatch", "mosquitto", "postgres", "bench (receiver)")


def print_header() -> None:
    names = "".join(f"{n.split()[0][:9]:>10}" for n in WATCHED)
    print(
        f"\n{'t s':>6}{'published':>11}{'stored':>9}{'rd/s':>7}{'backlog':>8}{'evalq':>6}"
        f"{'pend':>6}{'load':>6} | RSS MiB:{names}"
    )


def print_sample(s: Sample, previous: Sample | None) -> None:
    rate = 0.0
    if previous is not None and s.t > previous.t:
        rate = (s.stored - previous.stored) / (s.t - previous.t)
    memory = "".join(f"{s.rss.get(n, 0.0):10.1f}" for n in WATCHED)
    print(
        f"{s.t:6.0f}{s.published:11,}{s.stored:9,}{rate:7.0f}{s.published - s.stored:8,}"
        f"{s.queue:6}{s.pending:6}{s.load1:6.1f} |         {memory}",
        flush=True,
    )


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def memory_verdicts(samples: Sequence[Sample], duration_s: float) -> dict[str, dict[str, Any]]:
    """Per process: RSS over the second half of the load; slope by least squares; flat or not."""
    half = [s for s in samples if duration_s / 2 <= s.t <= duration_s]
    out = {}
    for name in WATCHED:
        t = np.asarray([s.t for s in half])
        y = np.asarray([s.rss.get(name, 0.0) for s in half])
        if len(half) < 3 or not y.any():
            continue
        slope = float(np.polyfit(t, y, 1)[0])  # MiB per second
        growth = slope * (t[-1] - t[0])
        mean = float(y.mean())
        out[name] = {
            "rss_start_mib": round(float(samples[0].rss.get(name, 0.0)), 1),
            "rss_second_half_first_mib": round(float(y[0]), 1),
            "rss_end_mib": round(float(y[-1]), 1),
            "rss_max_mib": round(max(s.rss.get(name, 0.0) for s in samples), 1),
            "slope_mib_per_hour": round(slope * 3600, 1),
            "second_half_growth_mib": round(float(growth), 1),
            "flat": bool(growth < max(FLAT_SHARE * mean, FLAT_MIB)),
        }
    return out


def analyse(
    run: Run,
    started_wall: float,
    *,
    published_messages: int,
    published_readings: int,
    acked: int,
    drain_s: float,
) -> dict[str, Any]:
    args = run.args
    assert run.receiver is not None
    window = args.sample_every
    # Ingest lag per window of publish time, from the readings the load published.
    lag_rows = faults.rows(
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
    overall = faults.rows(
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
    dead = int(faults.one(run.url, "SELECT count(*) FROM dead_letters"))
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
    logs = [s.log_path for s in run.services.values()]
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
            "messages": published_messages,
            "readings": published_readings,
            "acked_by_broker": acked,
        },
        "stored_live_readings": stored_live,
        "stored_equals_published": stored_live == published_readings,
        "dead_letters": dead,
        "throughput_readings_per_s": round(published_readings / run.load_s, 1),
        "drain_after_load_s": round(drain_s, 1),
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
        result = soak(run, cohort, wearables)
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
        for service in run.services.values():
            service.terminate()
        for service in run.services.values():
            service.stop()
        if run.receiver is not None:
            run.receiver.stop()
        if run.broker is not None:
            run.broker.stop()
        if run.pg is not None:
            run.pg.stop()
        if not args.keep:
            import shutil  # noqa: PLC0415

            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
