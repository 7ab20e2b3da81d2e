"""A periodic progress line on stderr for long runs (no dependency needed)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

# Often enough to show a long run is alive, rarely enough not to flood a log.
DEFAULT_INTERVAL_S = 5.0


class Progress:
    """Counts work done and writes ``label: done/total (pct) rate/s`` every ``interval_s``."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._interval = interval_s
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._started = time.monotonic()
        self._last = self._started

    def advance(self, count: int = 1, detail: str = "") -> None:
        self.done += count
        now = time.monotonic()
        if self._enabled and now - self._last >= self._interval:
            self._last = now
            self._write(now, detail)

    def finish(self, detail: str = "") -> None:
        if self._enabled:
            self._write(time.monotonic(), detail)

    def _write(self, now: float, detail: str) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            share = f"{self.done:,}/{self.total:,} ({100.0 * self.done / self.total:.0f}%)"
        else:
            share = f"{self.done:,}"
        extra = f", {detail}" if detail else ""
        self._stream.write(f"{self.label}: {share}, {rate:,.0f}/s, {elapsed:.0f} s{extra}\n")
        self._stream.flush()
