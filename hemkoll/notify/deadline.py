"""A deadline on a whole HTTP attempt, which httpx's own timeouts do not give.

httpx's timeouts are per operation: the read timeout counts from the last byte received, so a
receiver that trickles its answer (a byte of a header every few seconds) holds a send for as
long as it likes (encode/httpx#1450, open: a total timeout is wanted in httpcore, not built).
For the dispatcher that meant a send outlasting its claim's lease, and another dispatcher
sending the same webhook while the first still waited.

Here every read, write and connect of an HTTP connection is given at most the time left until
the deadline of the attempt running on this thread (``attempt_deadline``), and fails as a
timeout once it has passed: httpcore's own timeout errors, which httpx maps to its own, so the
caller sees an ``httpx.TimeoutException`` like any other timeout. The connections stay
httpcore's and are pooled as before; only their streams are wrapped (``deadline_transport``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

_local = threading.local()


@contextmanager
def attempt_deadline(seconds: float) -> Iterator[None]:
    """Within the block, this thread's HTTP operations (over a ``deadline_transport``) end
    by ``seconds`` from now."""
    outer = getattr(_local, "at", None)
    at = time.monotonic() + seconds
    _local.at = at if outer is None else min(outer, at)
    try:
        yield
    finally:
        _local.at = outer


def _left(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """The operation's timeout, cut to the time left until this thread's deadline."""
    at: float | None = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the attempt's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _Stream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _Stream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(limits: httpx.Limits) -> httpx.HTTPTransport:
    """httpx's transport whose connections keep this thread's ``attempt_deadline`` (a proxy
    that a client takes from the environment, HTTPS_PROXY, gets a transport of httpx's own,
    without it).

    httpx does not let a caller give its connection pool a network backend, so the pool's is
    wrapped after it is made; should a release of httpx build its pool otherwise, this fails
    here, at the start, rather than sending without a deadline (tests/notify/
    test_webhook_deadline.py sends to a trickling receiver through it)."""
    transport = httpx.HTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(pool, httpcore.ConnectionPool) or not isinstance(
        backend, httpcore.NetworkBackend
    ):
        raise TypeError(
            "httpx.HTTPTransport no longer keeps an httpcore.ConnectionPool with a network "
            "backend in _pool: the webhook deadline (hemkoll.notify.deadline) needs updating"
        )
    pool._network_backend = _Backend(backend)  # private: see the docstring
    return transport
