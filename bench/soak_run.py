"""The run of bench/soak.py: set-up (its own PostgreSQL cluster, the cohort and its history, the
broker, the receiver, the services), then the load with a sample every --sample-every
seconds, then the drain until every published reading is stored and every probe notified.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import queue
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cohort import Enrolled, enrol, seed_history, start_centre
from common import PUBLIC_URL, Service, one, rows, say, service_env, wait_for, wait_for_log
from soak_load import SESSIONS, LoadJob, load_generator
from soak_sampling import Sample, children_of, print_header, print_sample, proc_memory_cpu

from hemkoll.local_services.mosquitto import LocalMosquitto
from hemkoll.local_services.postgres_cluster import PostgresCluster
from hemkoll.simulator.receiver import WebhookReceiver

# Every device enrolled long before its history starts.
ENROLLED_DAYS_AGO = 400
# The history's mornings: within +-60 minutes of the run's time of day, sessions a minute apart.
HISTORY_SPREAD_MIN = 60.0
HISTORY_SESSION_GAP_MIN = 1.0
CENTRE = "Soak VC"
# Ingest connects within seconds of its start.
CONNECT_TIMEOUT_S = 60.0
# The rules worker's start-up pass evaluates every patient with its history: minutes for
# thousands of patients on a shared machine.
STARTUP_PASS_TIMEOUT_S = 900.0
# The load loop waits this long for a probe's report before it looks at the clock again.
QUEUE_WAIT_S = 0.2
# The drain looks at the store and the receiver this often (a count over the run's readings).
DRAIN_POLL_S = 2.0


@dataclass
class Run:
    args: argparse.Namespace
    workdir: Path
    pg: PostgresCluster | None = None
    url: str = ""
    broker: LocalMosquitto | None = None
    receiver: WebhookReceiver | None = None
    services: dict[str, Service] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    probe_sent: dict[int, float] = field(default_factory=dict)
    probes: list[Enrolled] = field(default_factory=list)
    baseline_inserts: int = 0
    load_s: float = 0.0


@dataclass(frozen=True)
class Totals:
    """What the load published, and how long the drain after it took."""

    started_wall: float  # time.time() when the load began
    published_messages: int
    published_readings: int
    acked: int  # messages the broker acknowledged
    drain_s: float


def processes(run: Run) -> dict[str, list[int]]:
    assert run.pg is not None
    assert run.broker is not None
    assert run.broker.process is not None
    master = run.pg.postmaster_pid
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
    inserted, depth, pending = rows(
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


def enrol_cohort(
    url: str, count: int, prefix: str, seed: int, kind: str = "gateway"
) -> list[Enrolled]:
    """``count`` patients ``<prefix>-00000``... with a device of ``kind`` each (the patient is
    reused if the reference exists: a second device of the same patient)."""
    references = [f"{prefix}-{i:05d}" for i in range(count)]
    return enrol(
        url, references, centre=CENTRE, seed=seed, enrolled_days_ago=ENROLLED_DAYS_AGO, kind=kind
    )


def set_up(run: Run) -> tuple[list[Enrolled], list[Enrolled]]:
    args = run.args
    run.pg = PostgresCluster().start()
    run.url = run.pg.create_database("hemkoll_soak")
    t0 = time.monotonic()
    tag = uuid.uuid4().hex[:6]
    cohort = enrol_cohort(run.url, args.patients, f"SOAK{tag}", args.seed)
    # The wearable is a device of its own (a pulse oximeter) of the first --wearables patients.
    wearables = enrol_cohort(run.url, args.wearables, f"SOAK{tag}", args.seed, "pulse_oximeter")
    probe_count = int(args.duration // args.probe_every) + 1
    run.probes = enrol_cohort(run.url, probe_count, f"SOAKPROBE{tag}", args.seed + 1)
    history = seed_history(
        run.url,
        cohort,
        SESSIONS,
        days=args.history_days,
        seed=args.seed,
        spread_min=HISTORY_SPREAD_MIN,
        session_gap_min=HISTORY_SESSION_GAP_MIN,
        vacuum=True,
    )
    say(
        f"set up: {len(cohort):,} patients ({args.wearables} with a wearable) and "
        f"{probe_count} probe patients enrolled, {history:,} history readings "
        f"({args.history_days} days) in {time.monotonic() - t0:.0f} s"
    )
    folder = run.workdir / "broker"
    deployed_persistence = "autosave_on_changes true\nautosave_interval 100"
    run.broker = LocalMosquitto(folder, deployed_persistence, persistence=folder)
    run.broker.start()
    run.receiver = start_centre(run.url)
    prefix = f"soak-{tag}"
    env = service_env(
        run.url,
        run.broker.url,
        prefix,
        dispatch_client_id=f"{prefix}-dispatch",
        public_url=PUBLIC_URL,
        log_level="INFO",
    )
    run.args.prefix = prefix
    run.args.reference_tag = f"SOAK{tag}"
    for name in ("ingest", "rules", "dispatch"):
        run.services[name] = Service(name, name, env, run.workdir).start()
    # Ingest's persistent session must exist before the load (a message published before its
    # subscription is not kept); the rules workers' start-up pass evaluates everyone: let it end.
    wait_for_log(run.broker.log, f" as {prefix}-ingest ", CONNECT_TIMEOUT_S, "ingest to connect")
    t1 = time.monotonic()
    rules_log = run.services["rules"].log_path
    assert rules_log is not None
    wait_for(
        lambda: (
            "scheduled evaluation of" in rules_log.read_text(errors="replace")
            and one(run.url, "SELECT count(*) FROM evaluation_queue") == 0
        ),
        STARTUP_PASS_TIMEOUT_S,
        "the rules worker's start-up pass",
    )
    say(f"services up; the rules worker's start-up pass took {time.monotonic() - t1:.0f} s")
    return cohort, wearables


def soak(run: Run, cohort: list[Enrolled], wearables: list[Enrolled]) -> Totals:
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
        one(
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
            service.check_alive()
        with contextlib.suppress(queue.Empty):
            while True:
                item = probes_out.get(timeout=QUEUE_WAIT_S)
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
        stored = one(
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
        time.sleep(DRAIN_POLL_S)
    drain_s = time.monotonic() - load_end
    run.samples.append(sample(run, time.monotonic() - started, published_readings))
    print_sample(run.samples[-1], run.samples[-2])
    return Totals(started_wall, published_messages, published_readings, acked, drain_s)
