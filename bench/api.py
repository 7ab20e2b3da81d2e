"""The care-team API at a region's scale: latency of the worklist, one alert, a patient's charts
and the patient list, API and console (issue 18).

    nice .venv/bin/python bench/api.py [--patients 10000] [--days 365] [--centres 20]
        [--requests 300] [--concurrency 16] [--quick]

In a database of its own (local PostgreSQL, plain path): --patients patients over --centres
health centres, each with --days days of daily readings and the alerts the programme would
have raised on them, open, acknowledged and resolved (bench/api_world.py), loaded with COPY;
a nurse with a token at every centre. Then ``hemkoll serve`` in a process of its own,
connected as the API's deployed role (deploy/postgres/roles.sql, ``hemkoll_api``), and for
each endpoint --requests requests over a real socket (httpx): first one client after another
(the goal's figures), then --concurrency clients at once, each request a random nurse's about
a random patient or alert of her centre (bench/api_clients.py). Every request writes its
audit rows, as in production.

Prints per endpoint p50, p95, p99 (ms) beside the goal (p99 <= 50 ms sequentially for the
worklist and the 90-day chart) and whether it is met; with concurrency, requests/s too.
--quick: 600 patients, 3 centres, 120 days, 40 requests, 4 clients (well under a minute).
The machine is shared (2 cores with other helpers' work): run it with ``nice``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from api_clients import endpoints as endpoints_of
from api_clients import measure
from api_world import load, world_of
from common import (
    ADMIN_URL,
    POLL_S,
    Service,
    bench_args,
    drop_database,
    fresh_database,
    load_average,
    one,
    percentile,
    say,
    service_env,
    wait_for,
)
from psycopg.conninfo import make_conninfo

from hemkoll.local_services.ports import free_port

ROLES_SQL = Path(__file__).resolve().parents[1] / "deploy" / "postgres" / "roles.sql"
API_ROLE = "hemkoll_api"
# The bench is one caller making hundreds of requests a second: the per-caller rate limit
# (50/s, 600/min by default) would answer most of them 429.
UNLIMITED = str(10**9)
# The server is up within seconds (imports, the pool's first connections).
START_TIMEOUT_S = 60.0
# Before timing: each endpoint this many times (psycopg prepares a statement on its 5th
# execution, the pool opens its connections, the templates compile).
WARM_UP = 12
QUICK = {"patients": 600, "centres": 3, "days": 120, "requests": 40, "concurrency": 4}


def _url(database: str) -> str:
    """A database's URL, or its name on the machine's PostgreSQL."""
    return database if "://" in database else make_conninfo(ADMIN_URL, dbname=database)


def _apply_roles(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ROLES_SQL.read_bytes())


def _server(url: str, log_dir: Path) -> tuple[Service, str]:
    port = free_port()
    env = service_env(
        make_conninfo(url, user=API_ROLE),
        "mqtt://127.0.0.1:1883",
        "hemkoll-bench-api",
        api_rate_per_second=UNLIMITED,
        api_rate_per_minute=UNLIMITED,
        log_level="WARNING",
    )
    service = Service("api", "serve", env, log_dir, args=["--port", str(port)])
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=POLL_S * 10).status_code == 200
        except httpx.HTTPError:
            return False

    service.start()
    wait_for(up, START_TIMEOUT_S, "the API to answer /healthz", services=[service])
    return service, base


def _row(name: str, values: list[float], goal: float | None, extra: str = "") -> str:
    p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
    goal_text = "" if goal is None else f"<= {goal:.0f}"
    met = "" if goal is None else ("met" if p99 <= goal else "NOT met")
    return f"  {name:<52}{p50:8.1f}{p95:8.1f}{p99:8.1f}{goal_text:>9}{met:>9}{extra}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--centres", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and mode")
    parser.add_argument("--concurrency", type=int, default=16, help="1: one client only")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--database",
        help="measure in this database (URL or name), which a run with --keep loaded; kept",
    )
    args = bench_args(parser, QUICK)
    say(
        f"shared machine ({os.cpu_count()} cores, load average {load_average()}):"
        " figures vary from run to run"
    )
    now = datetime.now(UTC)
    url = fresh_database("api") if args.database is None else _url(args.database)
    args.keep = args.keep or args.database is not None
    service = None
    try:
        t0 = time.perf_counter()
        if args.database:
            world = world_of(url)
            args.patients = sum(len(c.patients) for c in world.centres)
        else:
            world = load(
                url, patients=args.patients, centres=args.centres, days=args.days, now=now, say=say
            )
        _apply_roles(url)
        size = one(url, "SELECT pg_size_pretty(pg_database_size(current_database()))")
        say(
            f"loaded {args.patients:,} patients over {len(world.centres)} centres, "
            f"{world.readings:,} readings, {world.alerts:,} alerts "
            f"({', '.join(f'{n:,} {s}' for s, n in sorted(world.by_state.items()))}) in "
            f"{time.perf_counter() - t0:.0f} s; database {size}"
        )
        with tempfile.TemporaryDirectory() as logs:
            service, base = _server(url, Path(logs))
            found = endpoints_of(world, now)
            for endpoint in found:  # warm up
                measure(base, endpoint, WARM_UP, 1, seed=0)
            header = f"  {'endpoint':<52}{'p50':>8}{'p95':>8}{'p99':>8}{'goal':>9}{'met?':>9}"
            for clients in (1, args.concurrency) if args.concurrency > 1 else (1,):
                label = "one client at a time" if clients == 1 else f"{clients} clients at once"
                say(f"{args.requests} requests per endpoint, {label} (ms):")
                print(header + ("" if clients == 1 else "    req/s"), flush=True)
                for i, endpoint in enumerate(found):
                    values, wall = measure(base, endpoint, args.requests, clients, seed=i + 1)
                    goal = endpoint.goal_ms if clients == 1 else None
                    extra = "" if clients == 1 else f"{len(values) / wall:9.0f}"
                    print(_row(endpoint.name, values, goal, extra), flush=True)
            service.stop()
            service = None
        say(
            f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; audit rows "
            f"written: {one(url, 'SELECT count(*) FROM audit_log'):,}"
        )
    finally:
        if service is not None:
            service.stop()
        if args.keep:
            say(f"kept {url}")
        else:
            drop_database(url)


if __name__ == "__main__":
    main()
