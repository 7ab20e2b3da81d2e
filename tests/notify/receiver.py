"""A webhook receiver for the tests: a real HTTP server on a local port, answering as scripted.

It records every request (headers, body, when) and how many were being handled at once, in
all and per webhook-id. ``respond(request, nth)`` decides the answer; ``nth`` counts the
requests with the same webhook-id, from 1.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hemkoll.local_services.ports import free_port
from hemkoll.notify.webhook import HTTP_TIMEOUT


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()
    client_port: int = 0  # the sender's end of the connection: one per connection kept alive

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
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                    client_port=self.client_address[1],
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


# How long the trickling receiver keeps a request going: far past the HTTP read timeout, which
# it never trips (a byte of its answer's headers comes every TRICKLE_S).
TRICKLE_FOR_S = 3 * (HTTP_TIMEOUT.read or 10.0)
TRICKLE_S = 0.5


class TricklingReceiver:
    """An endpoint that answers every request with a status line and then one byte of a
    header every TRICKLE_S for TRICKLE_FOR_S, without ever finishing: httpx's read timeout
    counts from each byte, so only the attempt's deadline (hemkoll.notify.deadline) ends a
    send to it."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.requests = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/slow"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5.0)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                with self._lock:
                    self.requests += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                until = time.monotonic() + TRICKLE_FOR_S
                while time.monotonic() < until and not self._stopping.wait(TRICKLE_S):
                    conn.sendall(b"a")
            except OSError:
                return

    def stop(self) -> None:
        self._stopping.set()
        self._server.close()
