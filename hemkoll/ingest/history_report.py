"""What a history import says: a progress line every few seconds, and its report at the end.

Counts only: no patient reference, device id or value is ever printed (the dead letters keep
the refused lines for an operator).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hemkoll.ingest.history import Tally

# A progress line at most this often (seconds).
PROGRESS_EVERY_S = 5.0


def _elapsed(tally: Tally) -> float:
    return max(time.monotonic() - tally.started, 1e-9)


class Progress:
    """Calls ``write`` with a progress line at most every ``every_s`` seconds: lines read,
    lines/s, and with the input's size known (``size_bytes``) how far and an ETA."""

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        size_bytes: int | None = None,
        every_s: float = PROGRESS_EVERY_S,
    ) -> None:
        self._write = write
        self._size = size_bytes if size_bytes else None
        self._every = every_s
        self._last = time.monotonic()

    def __call__(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self._last < self._every:
            return
        self._last = now
        self._write(progress_line(tally, self._size))


def progress_line(tally: Tally, size_bytes: int | None) -> str:
    elapsed = _elapsed(tally)
    rate = tally.lines / elapsed
    line = f"{tally.lines:,} lines read, {rate:,.0f} lines/s, {tally.stored:,} stored"
    if size_bytes and tally.bytes_read:
        done = min(tally.bytes_read / size_bytes, 1.0)
        eta = elapsed * (1.0 - done) / done
        line += f", {done:.0%} of the file, about {eta:,.0f} s to go"
    return line


@dataclass(frozen=True)
class Report:
    lines: int
    stored: int
    duplicates: int
    dead_lettered: dict[str, int]
    patients: int
    patients_with_new_readings: int
    seconds: float
    readings_per_s: float
    alerts: bool

    @classmethod
    def of(cls, tally: Tally, *, alerts: bool) -> Report:
        elapsed = _elapsed(tally)
        return cls(
            lines=tally.lines,
            stored=tally.stored,
            duplicates=tally.duplicates,
            dead_lettered=dict(sorted(tally.dead_lettered.items())),
            patients=len(tally.patients),
            patients_with_new_readings=len(tally.patients_with_new),
            seconds=round(elapsed, 3),
            readings_per_s=round((tally.stored + tally.duplicates) / elapsed, 1),
            alerts=alerts,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "dead_lettered": sum(self.dead_lettered.values()),
            "dead_lettered_by_reason": self.dead_lettered,
            "patients": self.patients,
            "patients_with_new_readings": self.patients_with_new_readings,
            "seconds": self.seconds,
            "readings_per_s": self.readings_per_s,
            "alerts": self.alerts,
        }

    def as_text(self) -> str:
        refused = sum(self.dead_lettered.values())
        rows = [
            f"lines read        {self.lines:,}",
            f"stored            {self.stored:,}",
            f"duplicates        {self.duplicates:,}"
            + ("  (nothing new: every reading was stored already)" if self._rerun else ""),
            f"dead-lettered     {refused:,}",
            *(f"  {code:<16}{count:,}" for code, count in self.dead_lettered.items()),
            f"patients          {self.patients:,} "
            f"({self.patients_with_new_readings:,} with new readings)",
            f"time              {self.seconds:,.1f} s, {self.readings_per_s:,.0f} readings/s",
            "alerts            "
            + (
                "opened for findings in the history, as the live path would (--alerts)"
                if self.alerts
                else "none for findings in the history (a backtest shows them)"
            ),
        ]
        return "\n".join(rows)

    @property
    def _rerun(self) -> bool:
        return self.stored == 0 and self.duplicates > 0
