"""What the simulated health centre received: every verified delivery, and the counts of the rest.

Thread-safe: the server's event loop records, tests and benchmarks read and wait from other
threads. A delivery whose webhook-id was seen before is kept (marked ``duplicate``) and counted,
but is not a new notification: that is how a receiver dedupes a sender's retries.

With ``jsonl_path``, each verified delivery is also appended as one JSON line (before it is
recorded in memory, so a failed write leaves no trace and the request fails)::

    {"webhook_id": "msg_...", "webhook_timestamp": 1767225600, "received_at": "2026-01-01T...Z",
     "received_at_epoch": 1767225600.123, "duplicate": false, "payload": {...the JSON body...}}

That file holds the notification bodies (patient reference, summaries) for the demo's report;
logs never do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson


@dataclass(frozen=True)
class Delivery:
    """One verified request."""

    webhook_id: str
    # The sender's webhook-timestamp header (signing time, whole seconds since the epoch).
    webhook_timestamp: int
    # time.time() when the request reached the handler (before any slow-mode delay).
    received_at: float
    body: bytes
    payload: Mapping[str, Any]
    duplicate: bool

    @property
    def event_type(self) -> str:
        return str(self.payload.get("type"))

    @property
    def alert_id(self) -> str | None:
        data = self.payload.get("data")
        alert_id = data.get("alert_id") if isinstance(data, Mapping) else None
        return alert_id if isinstance(alert_id, str) else None

    @property
    def received_at_utc(self) -> datetime:
        return datetime.fromtimestamp(self.received_at, UTC)

    def to_json_line(self) -> bytes:
        return orjson.dumps(
            {
                "webhook_id": self.webhook_id,
                "webhook_timestamp": self.webhook_timestamp,
                "received_at": self.received_at_utc.isoformat().replace("+00:00", "Z"),
                "received_at_epoch": self.received_at,
                "duplicate": self.duplicate,
                "payload": self.payload,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )


@dataclass(frozen=True)
class ReceiverStats:
    # Verified deliveries, duplicates included.
    deliveries: int
    # Distinct webhook-ids among them.
    notifications: int
    # Deliveries beyond the first for their webhook-id.
    duplicates: int
    # Refused before recording, by reason (bad signature, stale timestamp, malformed body).
    rejected: Mapping[str, int]
    # Requests per mode they were answered under (normal, fail, throttle, slow, gone).
    modes: Mapping[str, int]
    # Requests per status answered.
    statuses: Mapping[int, int]


class Recorder:
    def __init__(self, jsonl_path: Path | None = None) -> None:
        self.jsonl_path = jsonl_path
        self._changed = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._first: dict[str, Delivery] = {}
        self._duplicates: dict[str, int] = {}
        self._rejected: dict[str, int] = {}
        self._modes: dict[str, int] = {}
        self._statuses: dict[int, int] = {}

    # --- written by the server -----------------------------------------------------------

    def record(
        self,
        *,
        webhook_id: str,
        webhook_timestamp: int,
        received_at: float,
        body: bytes,
        payload: Mapping[str, Any],
    ) -> Delivery:
        """Keep a verified delivery; its ``duplicate`` says whether its id was seen before."""
        with self._changed:
            delivery = Delivery(
                webhook_id=webhook_id,
                webhook_timestamp=webhook_timestamp,
                received_at=received_at,
                body=body,
                payload=payload,
                duplicate=webhook_id in self._first,
            )
            if self.jsonl_path is not None:
                with self.jsonl_path.open("ab") as file:
                    file.write(delivery.to_json_line())
            self._deliveries.append(delivery)
            if delivery.duplicate:
                self._duplicates[webhook_id] = self._duplicates.get(webhook_id, 0) + 1
            else:
                self._first[webhook_id] = delivery
            self._changed.notify_all()
        return delivery

    def count_rejected(self, reason: str) -> None:
        with self._changed:
            self._rejected[reason] = self._rejected.get(reason, 0) + 1
            self._changed.notify_all()

    def count_answer(self, mode: str, status: int) -> None:
        with self._changed:
            self._modes[mode] = self._modes.get(mode, 0) + 1
            self._statuses[status] = self._statuses.get(status, 0) + 1
            self._changed.notify_all()

    # --- read by tests, benchmarks and the demo ------------------------------------------

    def deliveries(self) -> tuple[Delivery, ...]:
        """Every verified delivery in arrival order, duplicates included."""
        with self._changed:
            return tuple(self._deliveries)

    def notifications(self) -> tuple[Delivery, ...]:
        """The first delivery of each webhook-id, in arrival order."""
        with self._changed:
            return tuple(self._first.values())

    def duplicate_counts(self) -> Mapping[str, int]:
        """Webhook-id -> deliveries beyond the first (only ids delivered more than once)."""
        with self._changed:
            return dict(self._duplicates)

    def stats(self) -> ReceiverStats:
        with self._changed:
            return self._stats()

    def wait_until(self, predicate: Callable[[ReceiverStats], bool], timeout_s: float) -> bool:
        """Block until ``predicate(stats)`` holds (True) or ``timeout_s`` passes (False)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate(self._stats()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_for_notifications(self, count: int, timeout_s: float) -> bool:
        return self.wait_until(lambda stats: stats.notifications >= count, timeout_s)

    def _stats(self) -> ReceiverStats:
        return ReceiverStats(
            deliveries=len(self._deliveries),
            notifications=len(self._first),
            duplicates=sum(self._duplicates.values()),
            rejected=dict(self._rejected),
            modes=dict(self._modes),
            statuses=dict(self._statuses),
        )
