"""``GET /healthz``: the process answers and reaches PostgreSQL (for load balancers)."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Request
from psycopg_pool import PoolTimeout

from hemkoll.api.problems import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and database reachability")
def healthz(request: Request) -> dict[str, str]:
    try:
        with request.app.state.pool.connection() as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, PoolTimeout) as exc:
        raise Problem(
            503, "unavailable", "Unavailable", f"database unreachable ({type(exc).__name__})"
        ) from exc
    return {"status": "ok"}
