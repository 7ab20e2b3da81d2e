"""The demo's clock: where each simulated moment lands on the wall clock once the demo is live.

The simulation runs in simulated time (UTC epoch seconds, starting ``--days`` before today).
Ingest refuses a reading measured more than 10 minutes ahead of its clock
(``hemkoll.protocol.payload.MAX_CLOCK_AHEAD_S``), so a simulated day that passes in five minutes
cannot keep its own timestamps: its readings would soon be days in the future. Instead the
clock maps simulated time onto wall-clock time, piecewise linearly:

* before the first segment, the identity: the past days are replayed with their own times;
* each ``Segment`` from its ``sim_from`` on: simulated time advances ``wall_s_per_day`` wall
  seconds per simulated day from ``wall_from`` (86,400: real time).

Every time in a payload (``measured_at``, ``sent_at``) and every publish time is mapped by the
same function, so a reading's ``measured_at`` is the wall-clock moment it is published at (up
to the device's own clock error, scaled down likewise), never ahead of it; a resend, or the
next run re-publishing from its checkpoint, carries the same bytes, and ingest's duplicate
check (patient, metric, device, measured_at) still holds. Segments are kept in state.json; a
run resumed at a pace adds a segment at the simulated moment where the last one stopped, so
what was published keeps its times and the simulated days go on from there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

# numpy only for the type checker: the command line reads the pace constants before its
# seconds of imports (hemkoll.demo.command), and the arrays bring their own methods.
if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from hemkoll.simulator.plan import MessagePlan

    IntArray = npt.NDArray[np.int64]
SECONDS_PER_DAY = 86_400
# The default pace: a simulated day in five minutes, so that each patient's morning round
# (weight, blood pressure, SpO2, questionnaire) comes about every five minutes, and a visitor
# watching for a quarter of an hour sees three simulated days and what the rules make of them.
DEFAULT_PACE_MINUTES = 5.0
# The fastest pace allowed. Faster, a wall-clock second holds more than 48 simulated minutes:
# stamps are whole seconds and ingest keeps one reading per patient, metric, device and second,
# so the days' sessions would start to collide, and the devices' feedback limit (1,000 messages
# outstanding) rather than the pace would set the rate.
MIN_PACE_MINUTES = 0.5


@dataclass(frozen=True)
class Segment:
    sim_from: int  # UTC epoch seconds, simulated
    wall_from: int  # UTC epoch seconds, wall clock
    wall_s_per_day: int  # SECONDS_PER_DAY: real time

    @property
    def realtime(self) -> bool:
        return self.wall_s_per_day == SECONDS_PER_DAY


def wall_s_per_day(pace_minutes: float | None) -> int:
    """``--pace``: minutes of wall clock per simulated day (None: real time)."""
    if pace_minutes is None:
        return SECONDS_PER_DAY
    return round(pace_minutes * 60)


@dataclass(frozen=True)
class Clock:
    segments: tuple[Segment, ...] = ()

    def stamp(self, sim: IntArray) -> IntArray:
        """Simulated epoch seconds -> wall-clock epoch seconds (monotone, whole seconds)."""
        out = sim.astype("int64", copy=True)
        for segment in self.segments:
            after = sim >= segment.sim_from
            out[after] = segment.wall_from + (
                (sim[after] - segment.sim_from) * segment.wall_s_per_day // SECONDS_PER_DAY
            )
        return out

    def to_sim(self, wall: datetime) -> int:
        """The simulated moment the wall-clock moment ``wall`` shows (the inverse of stamp)."""
        at = int(wall.timestamp())
        for segment in reversed(self.segments):
            if at >= segment.wall_from:
                elapsed = at - segment.wall_from
                return segment.sim_from + elapsed * SECONDS_PER_DAY // segment.wall_s_per_day
        return at

    @property
    def identity_until(self) -> datetime | None:
        """Until when stamps are the simulated times themselves (None: for ever)."""
        for segment in self.segments:
            if not (segment.realtime and segment.sim_from == segment.wall_from):
                return datetime.fromtimestamp(segment.wall_from, tz=UTC)
        return None

    def going_live(self, now: datetime, saved_at: datetime | None, pace_s: int) -> Clock:
        """The clock of a run starting at ``now`` at the pace ``pace_s`` (wall s per day).

        Real time on a clock that is still the identity stays the identity: the days since the
        last run are replayed fast, as their own days. Any other pace, or real time after a
        paced run, starts a segment now, at the simulated moment the last run had reached
        (``saved_at``, when it last saved; a first run: now).
        """
        if pace_s == SECONDS_PER_DAY and self.identity_until is None:
            return self
        wall = int(now.timestamp())
        sim = wall if saved_at is None else self.to_sim(saved_at)
        return Clock((*self.segments, Segment(sim, wall, pace_s)))

    def retime(self, plan: MessagePlan) -> MessagePlan:
        """The plan with every publish, sent and measured time on the wall clock."""
        if not self.segments:
            return plan
        readings = dataclasses.replace(
            plan.readings, measured_at=self.stamp(plan.readings.measured_at)
        )
        return dataclasses.replace(
            plan,
            readings=readings,
            publish_at=self.stamp(plan.publish_at),
            sent_at=self.stamp(plan.sent_at),
        )

    @classmethod
    def from_json(cls, raw: object) -> Clock:
        """From state.json's ``{"segments": [{"sim_from": ..., ...}]}`` (absent: identity)."""
        if not isinstance(raw, dict):
            return cls()
        return cls(
            tuple(
                Segment(int(s["sim_from"]), int(s["wall_from"]), int(s["wall_s_per_day"]))
                for s in raw.get("segments", ())
            )
        )
