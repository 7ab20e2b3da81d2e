"""``/metrics`` (Prometheus text format) and ``/healthz`` for a worker, on a port of its own.

The workers (ingest, rules, dispatch) have no HTTP server of their own; this small one runs on
a daemon thread beside them when ``HEMKOLL_METRICS_PORT`` is set. ``/healthz`` answers 200 while
the worker's loop beats and none of its periodic jobs is failing (``health.Heartbeat``), 503
otherwise, with the reason: ``{"status": "stalled"}`` or ``{"status": "failing", "failing":
["escalation"]}``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from prometheus_client import make_wsgi_app

from hemkoll.observability.health import Heartbeat

StartResponse = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log: scrapes every 15 s would drown the service's own lines."""


class _Server(WSGIServer):
    daemon_threads = True


class MetricsServer:
    def __init__(self, host: str, port: int, heartbeat: Heartbeat) -> None:
        metrics_app = make_wsgi_app()

        def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/healthz":
                status = heartbeat.status()
                start_response(
                    "200 OK" if status.healthy else "503 Service Unavailable",
                    [("Content-Type", "application/json")],
                )
                body: dict[str, Any] = {"status": status.state}
                if status.failing_jobs:
                    body["failing"] = list(status.failing_jobs)
                return [orjson.dumps(body)]
            result: Iterable[bytes] = metrics_app(environ, start_response)
            return result

        self._server = make_server(host, port, app, _Server, handler_class=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
