"""The API's Prometheus metrics: requests by route template and status, and their duration.

``GET /metrics`` serves them (no patient data: route templates, statuses, counts). Expose it to
the monitoring network only (the reverse proxy should not route it from outside).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hemkoll.observability import metrics


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The template, never the path itself: paths carry patient and alert ids.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.API_REQUESTS.labels(route, str(response.status_code)).inc()
        metrics.API_REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
