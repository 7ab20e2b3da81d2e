"""Limits every request meets before any route: body size, and a rate per caller.

The limits are settings (``ApiLimits``, built from ``HEMKOLL_API_*`` in the entry point):

* A body larger than ``max_body_bytes`` is refused with 413 before it is read into memory
  (announced by Content-Length, or counted as it streams in): Starlette's
  ``RequestBodyLimitMiddleware``, answered as problem details by our handlers.
* Each caller (its bearer token, or its address when it has none) may make ``per_second``
  requests a second ("burst") and ``per_minute`` a minute ("minute"); past either, 429 with
  Retry-After. Every limited answer carries ``RateLimit-Policy`` and ``RateLimit`` in the
  structured-field form of draft-ietf-httpapi-ratelimit-headers-11 (``ratelimit_header``).
  The ``limits`` library keeps the moving windows (in
  this process's memory: with several API replicas each enforces its own share; a shared store
  such as Redis is a one-line change in ``limits`` should a region want one limit across
  replicas).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond, strategies
from limits.storage import MemoryStorage
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hemkoll.api.fhir import outcome as fhir_outcome
from hemkoll.api.problems import MEDIA_TYPE, TYPE_BASE

if TYPE_CHECKING:
    from hemkoll.settings import Settings

# The largest request the API takes: a threshold layer or a backtest proposal is a few KiB; a
# megabyte leaves room for any legitimate body and refuses a memory-filling one early.
MAX_BODY_BYTES = 1024 * 1024
# Per caller: a console refreshing its worklist and a nurse clicking through patients make a
# few requests a second at most; scripts and schemathesis runs stay far below this too. A
# password-guessing or scraping client is slowed to it.
RATE_PER_SECOND = 50
RATE_PER_MINUTE = 600


@dataclass(frozen=True)
class ApiLimits:
    """What one caller may send: the defaults are the documented ones (docs/api.md)."""

    per_second: int = RATE_PER_SECOND
    per_minute: int = RATE_PER_MINUTE
    max_body_bytes: int = MAX_BODY_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        return cls(
            per_second=settings.api_rate_per_second,
            per_minute=settings.api_rate_per_minute,
            max_body_bytes=settings.api_max_body_bytes,
        )


# The policies' names in RateLimit-Policy / RateLimit, with their windows in seconds.
_POLICIES = (("burst", 1), ("minute", 60))


def policy_header(limits: ApiLimits) -> bytes:
    """``RateLimit-Policy``: each policy's quota ``q`` over its window ``w`` (seconds)."""
    quotas = (limits.per_second, limits.per_minute)
    return ", ".join(
        f'"{name}";q={quota};w={window}'
        for (name, window), quota in zip(_POLICIES, quotas, strict=True)
    ).encode()


def ratelimit_header(stats: list[tuple[int, int]]) -> bytes:
    """``RateLimit``: the policy with the fewest requests left (the draft asks for the lower
    remaining value when several windows apply), its remaining quota ``r`` and the seconds
    ``t`` until it resets; on a tie the later reset, the one a client must wait for."""
    (name, _), (remaining, reset) = min(
        zip(_POLICIES, stats, strict=True), key=lambda pair: (pair[1][0], -pair[1][1])
    )
    return f'"{name}";r={remaining};t={reset}'.encode()


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
    problem = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    fhir = fhir_outcome.is_fhir_path(instance)  # FHIR clients read OperationOutcome
    body = orjson.dumps(fhir_outcome.operation_outcome(status, detail) if fhir else problem)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", (fhir_outcome.MEDIA_TYPE if fhir else MEDIA_TYPE).encode()),
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

    def __init__(self, app: ASGIApp, *, limits: ApiLimits) -> None:
        self._app = app
        self._max_body = limits.max_body_bytes
        self._items: list[RateLimitItem] = [
            RateLimitItemPerSecond(limits.per_second),
            RateLimitItemPerMinute(limits.per_minute),
        ]
        self._policy = policy_header(limits)
        self._limiter = strategies.MovingWindowRateLimiter(MemoryStorage())

    def _stats(self, caller: str) -> list[tuple[int, int]]:
        now = time.time()
        out = []
        for item in self._items:
            stats = self._limiter.get_window_stats(item, caller)
            out.append((max(0, stats.remaining), max(0, math.ceil(stats.reset_time - now))))
        return out

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
        for (policy, _), item in zip(_POLICIES, self._items, strict=True):
            if not self._limiter.hit(item, caller):
                stats = self._stats(caller)
                wait = max([1, *(reset for remaining, reset in stats if remaining == 0)])
                await _problem(
                    send,
                    status=429,
                    kind="rate-limited",
                    title="Too many requests",
                    detail=f"more than {item.amount} requests in the {policy} window; "
                    f"retry in {wait} s",
                    instance=path,
                    headers=[
                        (b"retry-after", str(wait).encode()),
                        *self._headers(stats),
                    ],
                )
                return
        limit_headers = self._headers(self._stats(caller))
        # An announced oversized body is refused here as problem details; Starlette's body
        # limit (inside) counts a streamed one and answers our handlers' 413.
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self._max_body:
                await _problem(
                    send,
                    status=413,
                    kind="too-large",
                    title="Content too large",
                    detail=f"the body is {int(value)} bytes; at most {self._max_body}",
                    instance=path,
                    headers=limit_headers,
                )
                return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *limit_headers]}
            await send(message)

        await self._app(scope, receive, send_with_limits)

    def _headers(self, stats: list[tuple[int, int]]) -> list[tuple[bytes, bytes]]:
        return [(b"ratelimit-policy", self._policy), (b"ratelimit", ratelimit_header(stats))]
