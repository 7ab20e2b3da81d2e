"""A simulated nurse: acknowledges, then resolves, each alert she is notified of, via the API.

For each alert named by a first-time ``alert.opened``, ``alert.severity_raised`` or
``alert.escalated`` notification, ``acknowledge_after_s`` after the notification she POSTs
``{api_url}/api/v1/alerts/{alert_id}/acknowledge`` with ``{"note": ...}``, and
``resolve_after_s`` after it ``.../resolve`` with ``{"outcome": ..., "note": ...}``, as a bearer
of ``token``. She takes an alert on once: later notifications about it (a raised severity, an
escalation) are counted, not acted on again.

The outcome is drawn from ``OUTCOME_WEIGHTS`` by a generator seeded with ``seed`` and the alert
id, so an alert gets the same outcome whatever order notifications arrive in.

A 409 (someone else acknowledged or resolved it first) is fine and counted; any other answer
or no answer is counted, logged with the alert id and kept in ``calls()``. The calls run one at
a time on a worker thread; ``stop()`` ends it, and logs and counts actions still scheduled.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from hemkoll.simulator.receiver.recorder import Delivery

log = logging.getLogger(__name__)

ALERT_EVENTS = frozenset({"alert.opened", "alert.severity_raised", "alert.escalated"})
# How a heart-failure nurse closes home-monitoring alerts, in plausible proportions
# [assumption, not measured]: most lead to a call with the patient; a diuretic or other dose
# change is common; a fair share need nothing (already known, a trend that settled) or were
# false alarms (a scale on a soft carpet, weighed in clothes); few are referred on.
OUTCOME_WEIGHTS: Mapping[str, float] = {
    "contacted_patient": 0.40,
    "medication_adjusted": 0.20,
    "no_action_needed": 0.20,
    "false_alarm": 0.15,
    "referred": 0.05,
}
ACKNOWLEDGE_NOTE = "Seen by the simulated nurse; following up."
RESOLVE_NOTES: Mapping[str, str] = {
    "contacted_patient": "Called the patient; advice given.",
    "medication_adjusted": "Called the patient; dose adjusted with the physician.",
    "no_action_needed": "Reviewed; no action needed.",
    "false_alarm": "Measurement error confirmed with the patient.",
    "referred": "Referred to the heart-failure clinic.",
}
CONFLICT_STATUS = 409
# A worker waiting on a slow API call finishes it within the request timeout; this much more.
JOIN_MARGIN_S = 5.0

Action = Literal["acknowledge", "resolve"]


@dataclass(frozen=True)
class NurseConfig:
    api_url: str
    token: str
    # During office hours a nurse sees a notification within minutes and closes the alert
    # after calling the patient; tests and the demo shorten both.
    acknowledge_after_s: float = 120.0
    resolve_after_s: float = 900.0
    seed: int = 0
    request_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.acknowledge_after_s <= self.resolve_after_s:
            raise ValueError("need 0 <= acknowledge_after_s <= resolve_after_s")


@dataclass(frozen=True)
class NurseCall:
    alert_id: str
    action: Action
    outcome: str | None
    # None: no answer (connection refused, timeout).
    status_code: int | None
    error: str | None
    # time.time() when the answer (or the failure) came.
    at: float

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class NurseStats:
    # Alerts taken on, and later notifications about one of them.
    alerts: int
    repeat_notifications: int
    # Alert notifications without a usable alert id (logged).
    unusable_notifications: int
    acknowledged: int
    resolved: int
    # 409 answers: someone else acknowledged or resolved the alert first.
    conflicts: int
    # Any other answer, or none.
    failures: int
    pending: int
    # Still scheduled when the nurse stopped.
    abandoned: int


def outcome_for(alert_id: str, seed: int = 0) -> str:
    # Not security-relevant: a reproducible draw for a simulation.
    rng = random.Random(f"{seed}:{alert_id}")  # noqa: S311
    return rng.choices(list(OUTCOME_WEIGHTS), weights=list(OUTCOME_WEIGHTS.values()))[0]


@dataclass
class _Counts:
    """NurseStats' counters, under the nurse's lock."""

    repeat_notifications: int = 0
    unusable_notifications: int = 0
    acknowledged: int = 0
    resolved: int = 0
    conflicts: int = 0
    failures: int = 0
    abandoned: int = 0


@dataclass(frozen=True, order=True)
class _Scheduled:
    due: float  # time.monotonic()
    seq: int
    alert_id: str
    action: Action


class Nurse:
    """``start()``/``stop()`` or ``with``; runs once. ``transport`` replaces httpx's network."""

    def __init__(
        self, config: NurseConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.config = config
        self._client = httpx.Client(
            base_url=config.api_url,
            headers={"Authorization": f"Bearer {config.token}"},
            timeout=config.request_timeout_s,
            transport=transport,
        )
        self._cond = threading.Condition()
        self._queue: list[_Scheduled] = []
        self._seq = 0
        self._alerts: set[str] = set()
        self._calls: list[NurseCall] = []
        self._in_flight = False
        self._stopping = False
        self._crash: Exception | None = None
        self._thread: threading.Thread | None = None
        self._counts = _Counts()

    def __enter__(self) -> Nurse:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._thread is not None or self._stopping:
            raise RuntimeError("a nurse starts once")
        self._thread = threading.Thread(target=self._run, name="hemkoll-sim-nurse", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the worker after the call in hand; count and log what is still scheduled."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(self.config.request_timeout_s + JOIN_MARGIN_S)
            if self._thread.is_alive():
                raise RuntimeError("the nurse's worker did not stop")
        self._client.close()
        with self._cond:
            abandoned = len(self._queue)
            self._queue.clear()
            self._counts.abandoned += abandoned
        if abandoned:
            log.warning("nurse stopped with %d acknowledge/resolve actions not done", abandoned)
        if self._crash is not None:
            raise RuntimeError("the nurse's worker failed") from self._crash

    # --- called by the receiver (on its event loop: enqueue only) -------------------------

    def on_notification(self, delivery: Delivery) -> None:
        if delivery.event_type not in ALERT_EVENTS:
            return
        try:
            alert_id = str(uuid.UUID(delivery.alert_id or ""))
        except ValueError:
            log.warning("nurse: webhook %r names no valid alert id", delivery.webhook_id)
            with self._cond:
                self._counts.unusable_notifications += 1
            return
        now = time.monotonic()
        with self._cond:
            if alert_id in self._alerts:
                self._counts.repeat_notifications += 1
                return
            if self._stopping:
                log.warning("nurse stopped: alert %s not taken on", alert_id)
                self._counts.abandoned += 2
                return
            self._alerts.add(alert_id)
            self._schedule(now + self.config.acknowledge_after_s, alert_id, "acknowledge")
            self._schedule(now + self.config.resolve_after_s, alert_id, "resolve")
            self._cond.notify_all()

    # --- results ---------------------------------------------------------------------------

    def calls(self) -> tuple[NurseCall, ...]:
        with self._cond:
            return tuple(self._calls)

    def stats(self) -> NurseStats:
        with self._cond:
            counts = self._counts
            return NurseStats(
                alerts=len(self._alerts),
                repeat_notifications=counts.repeat_notifications,
                unusable_notifications=counts.unusable_notifications,
                acknowledged=counts.acknowledged,
                resolved=counts.resolved,
                conflicts=counts.conflicts,
                failures=counts.failures,
                pending=len(self._queue) + int(self._in_flight),
                abandoned=counts.abandoned,
            )

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until nothing is scheduled or in flight (True) or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue or self._in_flight:
                if self._crash is not None:
                    raise RuntimeError("the nurse's worker failed") from self._crash
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    # --- the worker ------------------------------------------------------------------------

    def _schedule(self, due: float, alert_id: str, action: Action) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Scheduled(due, self._seq, alert_id, action))

    def _run(self) -> None:
        try:
            while (item := self._next_due()) is not None:
                call = self._perform(item)
                with self._cond:
                    self._record(call)
                    self._in_flight = False
                    self._cond.notify_all()
        except Exception as exc:
            log.exception("the nurse's worker failed")
            with self._cond:
                self._crash = exc
                self._in_flight = False
                self._cond.notify_all()

    def _next_due(self) -> _Scheduled | None:
        with self._cond:
            while not self._stopping:
                wait = self._queue[0].due - time.monotonic() if self._queue else None
                if wait is not None and wait <= 0:
                    self._in_flight = True
                    return heapq.heappop(self._queue)
                self._cond.wait(wait)
            return None

    def _perform(self, item: _Scheduled) -> NurseCall:
        outcome = None
        if item.action == "acknowledge":
            body = {"note": ACKNOWLEDGE_NOTE}
        else:
            outcome = outcome_for(item.alert_id, self.config.seed)
            body = {"outcome": outcome, "note": RESOLVE_NOTES[outcome]}
        path = f"/api/v1/alerts/{item.alert_id}/{item.action}"
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            log.warning("nurse: %s of alert %s got no answer: %r", item.action, item.alert_id, exc)
            return NurseCall(item.alert_id, item.action, outcome, None, repr(exc), time.time())
        status = response.status_code
        error = None
        if status == CONFLICT_STATUS:
            log.info("nurse: alert %s was already handled (409 on %s)", item.alert_id, item.action)
        elif not response.is_success:
            error = response.text[:200]
            log.warning("nurse: %s of alert %s answered %d", item.action, item.alert_id, status)
        else:
            log.debug("nurse: %s of alert %s done", item.action, item.alert_id)
        return NurseCall(item.alert_id, item.action, outcome, status, error, time.time())

    def _record(self, call: NurseCall) -> None:
        self._calls.append(call)
        if call.succeeded and call.action == "acknowledge":
            self._counts.acknowledged += 1
        elif call.succeeded:
            self._counts.resolved += 1
        elif call.status_code == CONFLICT_STATUS:
            self._counts.conflicts += 1
        else:
            self._counts.failures += 1
