"""The care-team API application: configuration, lifespan (the connection pool), routes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import FastAPI
from psycopg_pool import ConnectionPool
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from hemkoll.api import console, mitt, observe, problems
from hemkoll.api.fhir import ingest as fhir_ingest
from hemkoll.api.fhir import patient_side as fhir_patient_side
from hemkoll.api.fhir import routes as fhir_routes
from hemkoll.api.guards import ApiLimits, Guards
from hemkoll.api.oidc_client import OidcClient, OidcConfig
from hemkoll.api.routes import (
    alerts,
    audit_log,
    care_team,
    centres,
    contacts,
    devices,
    enrolments,
    health,
    hospital_stays,
    notifications,
    patient_app,
    patients,
    readings,
    staff,
    thresholds,
)
from hemkoll.rules.config import RuleSet
from hemkoll.rules.urgency import urgent_limits
from hemkoll.store.connect import Conn, configure

# Connections: uvicorn runs sync routes on a thread pool of 40; a pool of 10 keeps PostgreSQL's
# connection count modest per API replica while requests, a few ms each, rarely queue.
POOL_MIN_SIZE = 2
POOL_MAX_SIZE = 10
# A request waits at most this long for a connection before it fails (503 would be next).
POOL_TIMEOUT_S = 10.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiConfig:
    database_url: str
    programme: RuleSet
    public_url: str = "http://127.0.0.1:8000"
    topic_prefix: str = "hemkoll"
    clock: Callable[[], datetime] = field(default=_utc_now)
    # When the care team's acknowledgements and resolutions are stamped (None: the database's
    # now). The demo gives its replay's simulated clock, which the rules worker judges by, so
    # that a replayed alert is resolved at a replayed moment (hemkoll.demo.lockstep).
    alert_clock: Callable[[], datetime] | None = None
    # Requests per caller and the largest body (settings HEMKOLL_API_*); see guards.ApiLimits.
    limits: ApiLimits = field(default_factory=ApiLimits)
    # Staff sign in to the console through this OpenID Connect provider (HEMKOLL_OIDC_*);
    # None: with a pasted API token (development).
    oidc: OidcConfig | None = None


def _configure(conn: Conn) -> None:
    configure(conn)
    conn.commit()


def create_app(config: ApiConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: ConnectionPool[Conn] = ConnectionPool(
            config.database_url,
            min_size=POOL_MIN_SIZE,
            max_size=POOL_MAX_SIZE,
            timeout=POOL_TIMEOUT_S,
            configure=_configure,
            open=False,
            name="hemkoll-api",
        )
        pool.open(wait=True, timeout=POOL_TIMEOUT_S)
        app.state.pool = pool
        # What the start made (modules, routes, pydantic schemas, templates, the pool) lives as
        # long as the process; a full collection that traverses it all took about 100 ms in the
        # middle of a request, which was the 90-day chart's p99 (bench/api.py). Frozen, the
        # collector no longer visits it (gc.freeze: the Python docs' advice for long-lived
        # servers); what requests make is collected as before.
        gc.freeze()
        try:
            yield
        finally:
            pool.close()
            if oidc is not None:
                oidc.close()

    app = FastAPI(
        title="hemkoll care-team API",
        version="1",
        description="Alerts worklist, thresholds, patients and devices, notifications and the "
        "audit log of hemkoll, the home-monitoring backend. Errors are RFC 9457 problem "
        "details. Authenticate with a bearer token (`hemkoll token create`).",
        lifespan=lifespan,
    )
    oidc = None if config.oidc is None else OidcClient(config.oidc)
    app.state.oidc = oidc
    app.state.clock = config.clock
    app.state.alert_clock = config.alert_clock
    app.state.programme = config.programme
    # Which readings make their patient urgent in the evaluation queue (FHIR ingest, the
    # patient app's answers): the programme's red limits.
    app.state.urgent = urgent_limits(config.programme)
    app.state.public_url = config.public_url
    app.state.topic_prefix = config.topic_prefix
    problems.install(app)
    observe.install(app)
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=config.limits.max_body_bytes)
    app.add_middleware(Guards, limits=config.limits)  # the last added runs first
    app.include_router(health.router)
    for module in (
        centres,
        staff,
        patients,
        devices,
        enrolments,
        readings,
        alerts,
        contacts,
        hospital_stays,
        patient_app,
        care_team,
        thresholds,
        notifications,
        audit_log,
        fhir_routes,
        fhir_ingest,
        fhir_patient_side,
    ):
        app.include_router(module.router)
    console.install(app)
    mitt.install(app)
    return app
