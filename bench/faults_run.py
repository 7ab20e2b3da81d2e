"""One fault scenario from start to verdict: its world built, its faults, the settling,
the figures and checks, everything stopped and its database dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faults_broker_restart
import faults_dispatcher_kill
import faults_endpoint
import faults_ingest_kill
import faults_postgres_restart
import psycopg
from common import drop_database, say
from faults_stream import stream_probes
from faults_verify import checks, figures, settle
from faults_world import World, build_world, teardown

from hemkoll.local_services.postgres_cluster import PostgresCluster
from hemkoll.local_services.tls import Tls


@dataclass(frozen=True)
class Scenario:
    """``run`` starts the stream, does the faults and returns the devices' thread; ``probes``:
    the probe patients it needs; ``own_figures``: figures and failed checks of its own (kept under
    the scenario's name); ``settle_timeout``: how long its end may take to settle."""

    run: Callable[[World], threading.Thread]
    probes: Callable[[argparse.Namespace], int] = stream_probes
    own_figures: Callable[[World], tuple[dict[str, Any], list[str]]] | None = None
    settle_timeout: Callable[[argparse.Namespace], float] = lambda args: float(args.settle_timeout)


SCENARIOS: dict[str, Scenario] = {
    "ingest-kill": Scenario(faults_ingest_kill.run),
    "broker-restart": Scenario(faults_broker_restart.run),
    "postgres-restart": Scenario(faults_postgres_restart.run),
    "endpoint": Scenario(
        faults_endpoint.run,
        faults_endpoint.probes,
        faults_endpoint.own_figures,
        faults_endpoint.settle_timeout,
    ),
    "dispatcher-kill": Scenario(faults_dispatcher_kill.run, faults_dispatcher_kill.probes),
}


def run_scenario(
    name: str, args: argparse.Namespace, pg: PostgresCluster, tls: Tls, workdir: Path
) -> dict[str, Any]:
    say(f"scenario {name}")
    began = time.monotonic()
    scenario = SCENARIOS[name]
    world = build_world(name, args, pg, tls, workdir, probes=scenario.probes(args))
    say(f"  set up in {time.monotonic() - began:.1f} s")
    world.started_wall = time.time()
    try:
        publisher = scenario.run(world)
        timeout = scenario.settle_timeout(args)
        say(f"  faults done at {time.monotonic() - began:.1f} s; settling")
        settle_s = settle(world, publisher, timeout)
        result = figures(world, settle_s)
        if scenario.own_figures is not None:
            own, failed = scenario.own_figures(world)
            result[name] = own
            result["extra_checks"] = failed
    finally:
        stopping = time.monotonic()
        codes = teardown(world)
        say(f"  stopped in {time.monotonic() - stopping:.1f} s")
    result["exit_codes_on_sigterm"] = codes
    for service, code in codes.items():
        if code not in (0, None):
            result.setdefault("extra_checks", []).append(f"{service} exited {code} on SIGTERM")
    result["failed"] = checks(result)
    if not args.keep:
        with contextlib.suppress(psycopg.Error):
            drop_database(world.url, pg.admin_url)
    return result
