"""The API bench's requests and clients: what each endpoint's request is, and its latencies
measured over a real socket with httpx, one client after another or many at once
(bench/api.py).

Every request is a nurse's of a random centre about a random patient or alert of that centre;
the API's routes carry her bearer token, the console's pages her session cookie. A response
other than 200 stops the bench: a latency of an error is no latency of the endpoint.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from api_world import Centre, World

from hemkoll.api.console.auth import SESSION_COOKIE

# A request that takes longer than this is a hung server, not a latency.
REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Endpoint:
    name: str
    goal_ms: float | None  # p99, sequential (issue 18); None: measured, no goal
    make: Callable[[random.Random], Request]


def _api(centre: Centre) -> dict[str, str]:
    return {"Authorization": f"Bearer {centre.nurse_token}"}


def _console(centre: Centre) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={centre.nurse_token}"}


def endpoints(world: World, now: datetime) -> list[Endpoint]:
    centres = world.centres
    with_alerts = [c for c in centres if c.alerts]

    def pick(rng: random.Random) -> Centre:
        return rng.choice(centres)

    def chart(days: int) -> Callable[[random.Random], Request]:
        def make(rng: random.Random) -> Request:
            c = pick(rng)
            return Request(
                f"/api/v1/patients/{rng.choice(c.patients)}/readings",
                {
                    "resolution": "day",
                    "from": (now - timedelta(days=days)).isoformat(),
                    "until": now.isoformat(),
                },
                _api(c),
            )

        return make

    def one_alert(rng: random.Random) -> Request:
        c = rng.choice(with_alerts)
        return Request(f"/api/v1/alerts/{rng.choice(c.alerts)}", {}, _api(c))

    def worklist(rng: random.Random) -> Request:
        c = pick(rng)
        return Request("/api/v1/alerts", {}, _api(c))

    def patient_list(rng: random.Random) -> Request:
        c = pick(rng)
        return Request("/api/v1/patients", {}, _api(c))

    def console_worklist(rng: random.Random) -> Request:
        c = pick(rng)
        return Request("/console/worklist", {}, _console(c))

    def console_patient(rng: random.Random) -> Request:
        c = pick(rng)
        return Request(f"/console/patients/{rng.choice(c.patients)}", {"days": "90"}, _console(c))

    def console_patients(rng: random.Random) -> Request:
        c = pick(rng)
        return Request("/console/patients", {}, _console(c))

    found = [
        Endpoint("API worklist (GET /api/v1/alerts)", 50.0, worklist),
        Endpoint("API one alert (GET /api/v1/alerts/{id})", None, one_alert),
        Endpoint("API chart, 90 days (readings?resolution=day)", 50.0, chart(90)),
        Endpoint("API chart, 365 days (readings?resolution=day)", None, chart(365)),
        Endpoint("API patient list (GET /api/v1/patients, 100)", None, patient_list),
        Endpoint("console worklist (/console/worklist)", None, console_worklist),
        Endpoint("console patient, 90 days (/console/patients/{id})", None, console_patient),
        Endpoint("console patient list (/console/patients)", None, console_patients),
    ]
    return found if with_alerts else [e for e in found if e.make is not one_alert]


async def _one(client: httpx.AsyncClient, request: Request) -> float:
    t0 = time.perf_counter()
    response = await client.get(request.path, params=request.params, headers=request.headers)
    await response.aread()
    elapsed = (time.perf_counter() - t0) * 1000
    if response.status_code != 200:
        raise RuntimeError(
            f"GET {request.path} answered {response.status_code}: {response.text[:300]}"
        )
    return elapsed


async def _run(
    base_url: str, endpoint: Endpoint, requests: int, clients: int, seed: int
) -> tuple[list[float], float]:
    """Latencies (ms) of ``requests`` requests by ``clients`` concurrent clients, each with its
    own connection, and the wall time (s) of the whole."""
    rng = random.Random(seed)
    planned = [endpoint.make(rng) for _ in range(requests)]
    latencies: list[float] = []

    async def client_loop(mine: list[Request]) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=base_url, timeout=REQUEST_TIMEOUT_S, limits=limits
        ) as client:
            for request in mine:
                latencies.append(await _one(client, request))

    t0 = time.perf_counter()
    await asyncio.gather(*(client_loop(planned[i::clients]) for i in range(clients)))
    return latencies, time.perf_counter() - t0


def measure(
    base_url: str, endpoint: Endpoint, requests: int, clients: int, seed: int
) -> tuple[list[float], float]:
    return asyncio.run(_run(base_url, endpoint, requests, clients, seed))
