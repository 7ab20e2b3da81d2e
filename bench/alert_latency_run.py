"""The run of bench/alert_latency.py around its measured window: set-up (database, history,
broker, publisher processes waiting, receiver), the services and a warm-up probe through the
chain, and the shutdown of everything it started (on success, error and Ctrl-C alike).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lean_publisher
from alert_latency_load import (
    SESSIONS,
    BackgroundJob,
    ProbeJob,
    background_publisher,
    probe_offsets,
    probe_payload,
    probe_publisher,
)
from cohort import Enrolled, enrol, seed_history, start_centre
from common import PUBLIC_URL, Service, one, service_env, stop_services, wait_for

from hemkoll.local_services.mosquitto import LocalMosquitto
from hemkoll.protocol.topics import readings_topic
from hemkoll.simulator.receiver import Delivery, WebhookReceiver
from hemkoll.store.migrate import migrate

# The history's mornings: within +-90 minutes of the run's time of day, sessions 5 minutes apart.
HISTORY_SPREAD_MIN = 90.0
HISTORY_SESSION_GAP_MIN = 5.0
CENTRE = "Bench VC latency"
BG_PREFIX = "BG-"  # patient references: background, probe, warm-up
PROBE_PREFIX = "PROBE-"
WARMUP_REF = "WARMUP-1"
# multiprocessing children asked to stop: they drain their PUBACKs and report, then go.
STOP_TIMEOUT_S = 20.0
SLOW_STOP_S = 3.0  # a shutdown step slower than this is reported
# Until the services are up and a warm-up probe has been through the chain.
READY_TIMEOUT_S = 60.0
# A publisher process that ignored its stop event gets SIGTERM, then SIGKILL, each this long.
KILL_TIMEOUT_S = 5.0
# The warm-up probe is published again this often until ingest has stored it.
WARMUP_RESEND_S = 1.0


@dataclass
class Run:
    """Everything the run starts (for shutdown) and what the steps hand each other."""

    args: argparse.Namespace
    url: str
    prefix: str
    workdir: Path
    broker: LocalMosquitto | None = None
    receiver: WebhookReceiver | None = None
    services: list[Service] = field(default_factory=list)
    procs: list[Any] = field(default_factory=list)
    background: list[Enrolled] = field(default_factory=list)
    probes: list[Enrolled] = field(default_factory=list)
    warmup: Enrolled | None = None
    # multiprocessing objects: events, queues, shared counters.
    stop_event: Any = None
    go_background: Any = None
    go_probes: Any = None
    background_out: Any = None
    probes_out: Any = None
    counters: list[Any] = field(default_factory=list)
    max_queue: int = 0  # the rules queue's largest depth seen by the progress lines


def stop_processes(procs: Sequence[Any]) -> None:
    """multiprocessing children: asked via their stop event already; then SIGTERM, then kill."""
    for p in procs:
        p.join(timeout=STOP_TIMEOUT_S)
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(timeout=KILL_TIMEOUT_S)
        if p.is_alive():
            p.kill()
            p.join(timeout=KILL_TIMEOUT_S)


def patient_of(delivery: Delivery) -> str | None:
    data = delivery.payload.get("data")
    if isinstance(data, dict):
        pid = data.get("patient_id")
        return str(pid) if pid is not None else None
    return None


def set_up(run: Run) -> None:
    """Database, registry and history, broker, publisher processes (waiting), receiver."""
    args = run.args
    t0 = time.monotonic()
    migrate(run.url)
    refs = (
        [f"{BG_PREFIX}{i}" for i in range(args.background_devices)]
        + [f"{PROBE_PREFIX}{i}" for i in range(args.probes)]
        + [WARMUP_REF]
    )
    # Every device enrolled (backdated) before its history starts.
    enrolled = enrol(
        run.url, refs, centre=CENTRE, seed=args.seed, enrolled_days_ago=args.history_days + 2
    )
    run.background = enrolled[: args.background_devices]
    run.probes = enrolled[args.background_devices : args.background_devices + args.probes]
    run.warmup = enrolled[-1]
    history = seed_history(
        run.url,
        run.background + run.probes,
        SESSIONS,
        days=args.history_days,
        seed=args.seed,
        spread_min=HISTORY_SPREAD_MIN,
        session_gap_min=HISTORY_SESSION_GAP_MIN,
        vacuum=False,
    )
    print(
        f"setup: {len(enrolled):,} patients enrolled, {history:,} history readings "
        f"({args.history_days} days) in {time.monotonic() - t0:.1f} s",
        flush=True,
    )

    run.broker = broker = LocalMosquitto(run.workdir / "broker")
    broker.start()

    ctx = mp.get_context("spawn")  # this process has threads (the receiver): no fork
    run.stop_event, run.go_background, run.go_probes = ctx.Event(), ctx.Event(), ctx.Event()
    run.background_out, run.probes_out = ctx.Queue(), ctx.Queue()
    for k in range(args.publishers):
        share = run.background[k :: args.publishers]
        counter = ctx.Value("q", 0, lock=False)
        run.counters.append(counter)
        job = BackgroundJob(
            broker.host,
            broker.port,
            f"{run.prefix}-bg-{k}",
            run.prefix,
            tuple((p.device_id, p.weight) for p in share),
            args.background_rate / args.publishers,
            args.seed * 100 + k,
        )
        run.procs.append(
            ctx.Process(
                target=background_publisher,
                args=(job, run.go_background, run.stop_event, counter, run.background_out),
                name=f"bg-publisher-{k}",
            )
        )
    probe_job = ProbeJob(
        broker.host,
        broker.port,
        f"{run.prefix}-probes",
        run.prefix,
        args.probe,
        tuple((p.patient_id, p.device_id) for p in run.probes),
        probe_offsets(args.probes, args.duration, args.seed),
    )
    run.procs.append(
        ctx.Process(
            target=probe_publisher,
            args=(probe_job, run.go_probes, run.stop_event, run.probes_out),
            name="probe-publisher",
        )
    )
    for proc in run.procs:
        proc.start()

    run.receiver = start_centre(run.url)


def start_services(run: Run) -> None:
    """ingest, the rules worker(s) and the dispatcher(s), each ``python -m hemkoll``; then a
    warm-up probe through the whole chain."""
    args = run.args
    assert run.broker is not None
    env = service_env(
        run.url, run.broker.url, run.prefix, public_url=PUBLIC_URL, log_level=args.log_level
    )
    run.services.append(Service("ingest", "ingest", env, run.workdir).start())
    for k in range(args.rules_workers):
        run.services.append(Service(f"rules-{k}", "rules", env, run.workdir).start())
    for k in range(args.dispatchers):
        dispatch_env = {**env, "HEMKOLL_DISPATCH_CLIENT_ID": f"{run.prefix}-dispatch-{k}"}
        service = Service(f"dispatch-{k}", "dispatch", dispatch_env, run.workdir)
        run.services.append(service.start())
    try:
        took = warm_up(run)
        # Each rules worker's start-up pass queues every patient: let them finish.
        wait_for(
            lambda: one(run.url, "SELECT count(*) FROM evaluation_queue") == 0,
            READY_TIMEOUT_S,
            "the rules workers' start-up pass",
            services=run.services,
        )
    except Exception:
        for s in run.services:
            print(s.tail(), file=sys.stderr)
        raise
    stray = one(
        run.url,
        "SELECT count(*) FROM alerts AS a JOIN patients AS p ON p.id = a.patient_id "
        "WHERE p.reference <> %(w)s",
        {"w": WARMUP_REF},
    )
    print(
        f"services up: ingest, {args.rules_workers} rules, {args.dispatchers} dispatch "
        f"(warm-up probe through the chain in {took:.1f} s; alerts from the history: {stray})",
        flush=True,
    )


def warm_up(run: Run) -> float:
    """One probe through the whole chain before measuring: every service is up and connected,
    the dispatcher has its HTTP connection and MQTT session. Republished until ingest has it
    (a message sent before ingest's subscription is in place is not kept)."""
    assert run.broker is not None
    assert run.receiver is not None
    assert run.warmup is not None
    warmup, recorder = run.warmup, run.receiver.recorder
    started = time.monotonic()
    topic = readings_topic(run.prefix, warmup.device_id)

    def stored() -> bool:
        query = "SELECT count(*) FROM readings WHERE device_id = %(d)s"
        return bool(one(run.url, query, {"d": warmup.device_id}))

    while not stored():
        for s in run.services:
            s.check_alive()
        if time.monotonic() > started + READY_TIMEOUT_S:
            raise RuntimeError("ingest stored nothing of the warm-up probe")
        assert run.broker is not None
        payload = probe_payload(run.args.probe, datetime.now(UTC))
        lean_publisher.publish_all(
            run.broker.host, run.broker.port, f"{run.prefix}-warmup", [(topic, payload)]
        )
        time.sleep(WARMUP_RESEND_S)

    def webhook_in() -> bool:
        return any(patient_of(d) == warmup.patient_id for d in recorder.deliveries())

    wait_for(webhook_in, READY_TIMEOUT_S, "the warm-up probe's webhook", services=run.services)
    return time.monotonic() - started


def shutdown(run: Run) -> None:
    """Stop everything started, in order, each step whatever the previous one did."""
    # Publishers still waiting for their start (an error before it) see the stop at once.
    for event in (run.stop_event, run.go_background, run.go_probes):
        if event is not None:
            event.set()
    steps: list[tuple[str, Callable[[], object]]] = [
        ("publishers", lambda: stop_processes(run.procs)),
        ("services", lambda: stop_services(run.services)),
    ]
    if run.broker is not None:
        steps.append(("broker", run.broker.stop))
    if run.receiver is not None:
        steps.append(("receiver", run.receiver.stop))
    for name, step in steps:
        started = time.monotonic()
        try:
            step()
        except Exception as exc:  # noqa: BLE001 (the other steps must still run)
            print(f"stopping the {name} failed: {exc!r}", file=sys.stderr)
        if time.monotonic() - started > SLOW_STOP_S:
            print(f"stopping the {name} took {time.monotonic() - started:.1f} s", file=sys.stderr)
