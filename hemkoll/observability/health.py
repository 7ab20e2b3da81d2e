"""Liveness of a worker: its main loop beats; a loop that stopped beating is unhealthy."""

from __future__ import annotations

import threading
import time

# The workers' loops wait at most 5 s (IDLE_WAIT_S) between rounds, and reconnect with a
# backoff capped at 30 s; a loop silent for longer than this is stuck, not waiting.
STALE_AFTER_S = 60.0


class Heartbeat:
    def __init__(self, stale_after_s: float = STALE_AFTER_S) -> None:
        self._stale_after_s = stale_after_s
        self._last: float | None = None
        self._lock = threading.Lock()

    def beat(self) -> None:
        with self._lock:
            self._last = time.monotonic()

    def healthy(self) -> bool:
        with self._lock:
            last = self._last
        return last is not None and time.monotonic() - last <= self._stale_after_s
