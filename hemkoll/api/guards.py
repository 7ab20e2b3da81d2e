"""Limits every request meets before any route: body size, and a rate per caller.

* A body larger than ``MAX_BODY_BYTES`` is refused with 413 before it is read into memory
  (announced by Content-Length, or counted as it streams in): Starlette's
  ``RequestBodyLimitMiddleware``, answered as problem details by our handlers.
* Each caller (its bearer token, or its address when it has none) may make ``RATE_LIMIT``
  requests; past it, 429 with Retry-After. The ``limits`` library keeps the moving windows (in
  this process's memory: with several API replicas each enforces its own share; a shared store
  such as Redis is a one-line change in ``limits`` should a region want one limit across
  replicas).
"""

from __future__ import annotations

import hashlib
import math
import time

import orjson
from limits import parse, strategies
from limits.storage import MemoryStorage
from starlette.types import ASGIApp, Receive, Scope, Send

from hemkoll.api.problems import MEDIA_TYPE, TYPE_BASE

# The largest request the API takes: a threshold layer or a backtest proposal is a few KiB; a
# megabyte leaves room for any legitimate body and refuses a memory-filling one early.
MAX_BODY_BYTES = 1024 * 1024
# Per caller: a console refreshing its worklist and a nurse clicking through patients make a
# few requests a second at most; scripts and schemathesis runs stay far below this too. A
# password-guessing or scraping client is slowed to it.
RATE_LIMIT = "50/second;600/minute"


async def _problem(
    send: Send,
    *,
    status: int,
    kind: str,
    title: str,
    detail: str,
    instance: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = orjson.dumps(
        {
            "type": TYPE_BASE + kind,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# The console's session cookie (hemkoll.api.console.auth.SESSION_COOKIE) holds a token.
_SESSION = b"hemkoll_console="


class Guards:
    """Pure ASGI middleware: refuses before any route runs or any body is read."""

    def __init__(self, app: ASGIApp, *, rate_limit: str = RATE_LIMIT) -> None:
        self._app = app
        self._limits = [parse(item) for item in rate_limit.split(";")]
        self._limiter = strategies.MovingWindowRateLimiter(MemoryStorage())

    def _caller(self, scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            # A bearer token, or the console's session cookie (which holds one): staff behind
            # one NAT address each get their own budget. The key is a hash: the limiter's
            # memory never holds a usable token.
            if name == b"authorization":
                return "t:" + hashlib.sha256(value).hexdigest()[:32]
            if name == b"cookie" and _SESSION in value:
                session = value.split(_SESSION, 1)[1].split(b";", 1)[0]
                return "t:" + hashlib.sha256(session).hexdigest()[:32]
        client = scope.get("client")
        return "a:" + (client[0] if client else "?")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in {"/healthz", "/metrics"}:
            await self._app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        caller = self._caller(scope)
        for item in self._limits:
            if not self._limiter.hit(item, caller):
                reset = self._limiter.get_window_stats(item, caller).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                await _problem(
                    send,
                    status=429,
                    kind="rate-limited",
                    title="Too many requests",
                    detail=f"more than {item} requests; retry in {wait} s",
                    instance=path,
                    headers=[(b"retry-after", str(wait).encode())],
                )
                return
        # An announced oversized body is refused here as problem details; Starlette's body
        # limit (inside) counts a streamed one and answers our handlers' 413.
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
                await _problem(
                    send,
                    status=413,
                    kind="too-large",
                    title="Content too large",
                    detail=f"the body is {int(value)} bytes; at most {MAX_BODY_BYTES}",
                    instance=path,
                )
                return
        await self._app(scope, receive, send)
