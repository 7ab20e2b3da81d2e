"""The fast replay in lockstep: the devices, ingest, the rules worker and the nurse on one
simulated clock, so that a replay's alerts are a backtest's of the same readings.

The replay advances ``SimulatedClock`` step by step through the past days. A step ends at the
next message's publish time plus ``STEP``, or earlier at the moment the replay's nurse next
resolves an alert (``ReplayNurse.next_resolve``), and never after the present. Each step:

1. the clock is set to the step's end, which the rules worker reads as its ``now``;
2. the step's messages (published before its end) are published, and the step waits until
   each has its feedback from ingest (stored, duplicate or refused: ingest answers only after
   its transaction, which also queued the patients for evaluation, has committed);
3. the patients whose deadline passed by the step's end are queued (the worker's own
   ``queue_due``, on the same clock), and the step waits until no patient in the evaluation
   queue is due (every one evaluated at the step's end);
4. the nurse does what is due by the step's end, through the API, the clock set to each
   action's own simulated moment while she acts (the API stamps her with it).

A finding is thus decided against the alerts as the backtest's nurse leaves them at its own
time: a step is never longer than ``STEP`` (= the nurse's ``RESOLVED_AFTER``), so an alert
opened in a step is never due to be resolved before another finding of that step, and a step
stops at each resolution. The waits are on those conditions (the publisher's outstanding
feedback, the queue in the database), looked at every ``POLL_S``, never on a guess of time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from hemkoll.demo.replay_nurse import ReplayNurse
from hemkoll.rules.backtest import RESOLVED_AFTER
from hemkoll.simulator.plan import PlannedMessage
from hemkoll.simulator.publisher import PlanPublisher
from hemkoll.store import evaluation_queue
from hemkoll.store.connect import Conn, connect

# The longest step of simulated time: the backtest's nurse resolves an alert this long after
# its first finding, so no two findings of one step are that far apart and none of a step is
# judged against a resolution the backtest would not yet have made. Longer steps would be
# fewer (faster) but could differ from the backtest; shorter ones only slower.
STEP = RESOLVED_AFTER
# How often a step looks at what it waits for (feedback, the queue): one look is a few hundred
# microseconds; a step's work (ingest's commit, an evaluation) takes milliseconds.
POLL_S = 0.002


class SimulatedClock:
    """The replay's simulated time, read by the rules worker from its own thread; once
    ``go_live()`` is called, the wall clock (the live demo stamps readings on it)."""

    def __init__(self, at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._at = at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at

    def go_live(self) -> None:
        with self._lock:
            self._at = None

    @property
    def live(self) -> bool:
        """Not replaying (any more): the clock is the wall clock."""
        with self._lock:
            return self._at is None

    def now(self) -> datetime:
        with self._lock:
            at = self._at
        return datetime.now(UTC) if at is None else at


@dataclass(frozen=True)
class LockstepParts:
    database_url: str
    clock: SimulatedClock
    # The rules worker's look for passed deadlines (``RulesWorker.queue_due``), on ``clock``.
    queue_due: Callable[[], None]
    # None: --nurse off (nobody acts on the replay's alerts).
    nurse: ReplayNurse | None
    # Called once the replay has caught up and the clock is live (the live nurse takes over).
    caught_up: Callable[[], None] = lambda: None


class Lockstep:
    def __init__(
        self,
        parts: LockstepParts,
        publisher: PlanPublisher,
        stop: threading.Event,
        on_published: Callable[[PlannedMessage], None],
    ) -> None:
        self._parts = parts
        self._publisher = publisher
        self._stop = stop
        self._on_published = on_published
        self.steps = 0
        # The end of the last step done: the simulated moment the replay has reached.
        self.reached: datetime | None = None
        # Wall seconds spent waiting for ingest's feedback, for the worker, and on the nurse
        # (the replay's log says where its time went).
        self.waited_s = {"ingest": 0.0, "rules": 0.0, "nurse": 0.0}

    def run(
        self, first: PlannedMessage | None, rest: Iterator[PlannedMessage], *, until: datetime
    ) -> PlannedMessage | None:
        """Replay ``first`` and ``rest`` up to ``until`` in steps; the first message not
        replayed (None: none left, or stopped)."""
        message = first
        with connect(self._parts.database_url) as conn:
            while message is not None and message.publish_at < until:
                end = min(message.publish_at + STEP, until)
                nurse = self._parts.nurse
                due = None if nurse is None else nurse.next_resolve(conn)
                if due is not None:
                    end = min(end, due)
                self._parts.clock.set(end)
                while message is not None and message.publish_at < end:
                    if not self._publisher.wait_until(0.0):  # the feedback limit; stop
                        return None
                    self._publisher.publish(message)
                    self._on_published(message)
                    message = next(rest, None)
                began = time.monotonic()
                if not self._wait_stored():
                    return None
                stored = time.monotonic()
                if not self._wait_evaluated(conn):
                    return None
                evaluated = time.monotonic()
                if nurse is not None:
                    nurse.act_until(conn, end, self._parts.clock)
                self._took(began, stored, evaluated)
                self.steps += 1
                self.reached = end
        return message

    def _took(self, began: float, stored: float, evaluated: float) -> None:
        self.waited_s["ingest"] += stored - began
        self.waited_s["rules"] += evaluated - stored
        self.waited_s["nurse"] += time.monotonic() - evaluated

    def _wait_stored(self) -> bool:
        """Until every message published has its feedback (resending meanwhile); False if
        stopped first."""
        publisher = self._publisher
        while publisher.awaiting_feedback():
            publisher.service()
            if self._stop.wait(POLL_S):
                return False
        return True

    def _wait_evaluated(self, conn: Conn) -> bool:
        """Queue the patients whose deadline passed, then wait until nobody queued is due;
        False if stopped first."""
        self._parts.queue_due()
        while evaluation_queue.due_count(conn):
            conn.commit()
            if self._stop.wait(POLL_S):
                return False
        conn.commit()
        return True
