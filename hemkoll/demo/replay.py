"""The simulated devices publishing their plan: the past as fast as possible, then live.

The simulation starts ``days`` before today, so its plan is mostly in the past: those messages
are published at once, in lockstep with ingest, the rules worker and the replay's nurse on a
simulated clock (``hemkoll.demo.lockstep``; without one, paced only by feedback: at most
``max_awaiting_feedback`` outstanding), and from today on each message waits for its
``publish_at`` on the wall clock. Every device is
its own MQTT client with its enrolment password and resends what gets no feedback
(``hemkoll.simulator.publisher``). A stopped run leaves a checkpoint, the plan time of its
oldest message without feedback (or of its next message): the next run starts there.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from hemkoll.demo.lockstep import Lockstep, LockstepParts
from hemkoll.simulator.plan import MessagePlan, PlannedMessage
from hemkoll.simulator.publisher import PlanPublisher, PublisherConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayProgress:
    # Messages due before the replay started (the part replayed fast), skipped ones included.
    backlog: int
    published: int
    skipped: int
    awaiting_feedback: int
    # When the first message due in the future was reached (None: still replaying).
    caught_up_at: float | None
    finished: bool

    @property
    def replayed(self) -> int:
        return min(self.skipped + self.published, self.backlog)


class Replay:
    def __init__(
        self,
        plan: MessagePlan,
        credentials: Mapping[str, tuple[str, str]],
        config: PublisherConfig,
        *,
        resume_at: datetime | None,
        lockstep: LockstepParts | None = None,
    ) -> None:
        """``lockstep``: replay the past on its simulated clock (None: as fast as feedback
        allows, the worker on its own clock)."""
        self._plan = plan
        self._lockstep = lockstep
        self._config = config
        self._stop = threading.Event()
        self._publisher = PlanPublisher(credentials, config, stop=self._stop)
        started = int(time.time())
        self._started = datetime.fromtimestamp(started, UTC)
        # Steps of the lockstep replay, and the simulated moment its last one ended (None:
        # none done): every evaluation and nurse action of the replay was at or before it.
        self.steps = 0
        self.replayed_until: datetime | None = None
        self.backlog = int(np.count_nonzero(plan.publish_at < started))
        self.skipped = (
            0
            if resume_at is None
            else int(np.count_nonzero(plan.publish_at < int(resume_at.timestamp())))
        )
        self._published = 0
        self._next_at: datetime | None = resume_at
        self._caught_up_at: float | None = None
        self._finished = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hemkoll-sim-devices", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._publisher.close()

    def progress(self) -> ReplayProgress:
        return ReplayProgress(
            backlog=self.backlog,
            published=self._published,
            skipped=self.skipped,
            awaiting_feedback=self._publisher.awaiting_feedback(),
            caught_up_at=self._caught_up_at,
            finished=self._finished,
        )

    def checkpoint(self) -> datetime | None:
        """Where a next run starts: the oldest message without feedback, or the next one."""
        oldest = self._publisher.oldest_awaiting()
        upcoming = self._next_at
        if oldest is None:
            return upcoming
        return oldest if upcoming is None else min(oldest, upcoming)

    def _run(self) -> None:
        try:
            self._publish()
        except BaseException as exc:
            log.exception("the simulated devices stopped publishing")
            self.error = exc

    def _published_one(self, message: PlannedMessage) -> None:
        self._next_at = message.publish_at
        self._published += 1

    def _replay_in_lockstep(self, parts: LockstepParts) -> Iterator[PlannedMessage]:
        """The past in lockstep; the messages left (from the first one due from now on)."""
        messages = itertools.islice(self._plan, self.skipped, None)
        lockstep = Lockstep(parts, self._publisher, self._stop, self._published_one)
        try:
            left = lockstep.run(next(messages, None), messages, until=self._started)
        finally:
            parts.clock.go_live()
            if parts.nurse is not None:
                parts.nurse.close()
            self.steps, self.replayed_until = lockstep.steps, lockstep.reached
        if not self._stop.is_set():
            parts.caught_up()
        waited = lockstep.waited_s
        log.info(
            "replayed the past in %d steps of simulated time (waited %.1f s for ingest, "
            "%.1f s for the rules worker, %.1f s on the nurse)",
            lockstep.steps,
            waited["ingest"],
            waited["rules"],
            waited["nurse"],
        )
        if left is None or self._stop.is_set():
            return iter(())
        return itertools.chain((left,), messages)

    def _publish(self) -> None:
        publisher = self._publisher
        last: datetime | None = None
        if self._lockstep is None:
            messages: Iterator[PlannedMessage] = itertools.islice(self._plan, self.skipped, None)
        else:
            messages = self._replay_in_lockstep(self._lockstep)
            if self._stop.is_set():
                return
            last = None if self._published == 0 else self._next_at
        for message in messages:
            self._next_at = last = message.publish_at
            ahead = (message.publish_at - datetime.now(UTC)).total_seconds()
            if ahead > 0 and self._caught_up_at is None:
                self._caught_up_at = time.monotonic()
                log.info("replay caught up with the present; publishing live from now on")
            if not publisher.wait_until(time.monotonic() + ahead):
                return
            publisher.publish(message)
            self._published += 1
        if last is not None:  # a next run has nothing left to publish
            self._next_at = last + timedelta(seconds=1)
        if self._caught_up_at is None:
            self._caught_up_at = time.monotonic()
        publisher.drain(self._config.drain_timeout_s)
        self._finished = True
        log.info("the simulated period has ended: every planned message is published")
