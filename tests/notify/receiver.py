"""A webhook receiver for the tests: a real HTTP server on a local port, answering as scripted.

It records every request (headers, body, when) and how many were being handled at once, in
all and per webhook-id. ``respond(request, nth)`` decides the answer; ``nth`` counts the
requests with the same webhook-id, from 1.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hemkoll.local_services.ports import free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


Answer = tuple[int, dict[str, str]]
Respond = Callable[[Received, int], Answer]


def always_ok(request: Received, nth: int) -> Answer:
    return 200, {}


@dataclass
class Receiver:
    respond: Respond = always_ok
    delay_s: float = 0.0
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    max_concurrent: int = 0
    max_concurrent_per_id: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _active: Counter[str] = field(default_factory=Counter)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/hemkoll"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                request = Received(
                    {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()
                )
                status, headers = receiver._handle(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, request: Received) -> Answer:
        key = request.webhook_id
        with self._lock:
            self.requests.append(request)
            nth = sum(1 for r in self.requests if r.webhook_id == key)
            self._active[key] += 1
            self.max_concurrent = max(self.max_concurrent, sum(self._active.values()))
            self.max_concurrent_per_id = max(self.max_concurrent_per_id, self._active[key])
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return self.respond(request, nth)
        finally:
            with self._lock:
                self._active[key] -= 1

    def count_by_id(self) -> Counter[str]:
        with self._lock:
            return Counter(r.webhook_id for r in self.requests)

    def of(self, webhook_id: object) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.webhook_id == str(webhook_id)]
