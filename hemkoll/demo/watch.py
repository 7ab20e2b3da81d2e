"""While the demo runs: a summary line now and then, the detection report once the replay has
settled, the checkpoint and summary.json kept current; a final summary at the stop.

Monitoring, paused while past days are replayed (see ``cohort``), is resumed once the replay has
settled (and at the stop, should that come first), so the database is never left paused.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from hemkoll.alerts.worker import LEASE_S
from hemkoll.demo import cohort, console
from hemkoll.demo.errors import DemoError
from hemkoll.demo.replay import Replay
from hemkoll.demo.report import detection_report, score_json
from hemkoll.demo.services import Running
from hemkoll.demo.state import DataDir, DemoState
from hemkoll.demo.summary import Summary, read_counts
from hemkoll.simulator import Simulation
from hemkoll.store.connect import connect

log = logging.getLogger(__name__)

# Without a change, a summary line at least this often (a quiet live phase shows it is on).
HEARTBEAT_S = 60.0
# After catching up, the report waits for feedback and evaluations to settle, at most this: a
# rules worker that lost its batch (a deadlock, a reconnect) gets it back when its lease runs out.
REPORT_SETTLE_S = LEASE_S + 30.0


@dataclass
class Watcher:
    data: DataDir
    database_url: str
    centre: UUID
    sim: Simulation
    state: DemoState
    running: Running
    replay: Replay
    started: float
    replay_started: float
    # Monitoring is paused while the replay catches up.
    paused: bool = False
    summary: Summary | None = None
    report: dict[str, Any] | None = None
    _last_line: str = ""
    _last_print: float = 0.0

    def __post_init__(self) -> None:
        self._conn = connect(self.database_url)

    def close(self) -> None:
        self._conn.close()

    def tick(self) -> None:
        """One round: summary, perhaps a line, perhaps the report, the checkpoint saved."""
        if self.replay.error is not None:
            raise DemoError(f"the simulated devices stopped: {self.replay.error}")
        summary = self._summary()
        line = summary.line()
        now = time.monotonic()
        changed = line.split("]", 1)[1] != self._last_line.split("]", 1)[-1]
        if changed or now - self._last_print >= HEARTBEAT_S:
            console.say(line)
            self._last_line, self._last_print = line, now
        if self.report is None and self._settled(summary, now):
            self._report(now)
        self._save()
        self._write(summary)

    def _save(self) -> None:
        self.state = self.state.with_checkpoint(self.replay.checkpoint(), datetime.now(UTC))
        self.data.save(self.state)

    def pause(self) -> None:
        cohort.set_paused(self._conn, self.centre, paused=True)
        self.paused = True

    def resume(self) -> None:
        if self.paused:
            cohort.set_paused(self._conn, self.centre, paused=False)  # queues each patient
            self.paused = False

    def final(self) -> None:
        """After the services stopped: what the database holds now, printed and written."""
        self.resume()
        self._save()  # the devices have stopped: where they got to, and when
        summary = self._summary()
        console.say("final: " + summary.line())
        self._write(summary)

    def _summary(self) -> Summary:
        self.summary = Summary(
            elapsed_s=time.monotonic() - self.started,
            counts=read_counts(self._conn, self.centre),
            replay=self.replay.progress(),
            receiver=self.running.receiver.recorder.stats(),
            nurse=None if self.running.nurse is None else self.running.nurse.stats(),
        )
        return self.summary

    def _settled(self, summary: Summary, now: float) -> bool:
        caught_up = summary.replay.caught_up_at
        if caught_up is None:
            return False
        quiet = summary.replay.awaiting_feedback == 0 and summary.counts.evaluations_queued == 0
        return quiet or now - caught_up >= REPORT_SETTLE_S

    def _report(self, now: float) -> None:
        replayed = self._replayed_days()
        console.say(
            f"replay done: {self.replay.progress().replayed:,} messages of {replayed} days in "
            f"{now - self.replay_started:.0f} s; monitoring resumed; live from now on"
        )
        self.resume()
        text, scores = detection_report(
            self._conn,
            self.centre,
            references=self.sim.plan.references,
            episodes=self.sim.episodes,
            start=self.state.start,
            days=replayed,
            timezone=self.sim.parameters.timezone,
        )
        console.say(text)
        self.report = {
            "replay_s": round(now - self.replay_started, 1),
            "replayed_days": replayed,
            **{name: score_json(s) for name, s in scores.items()},
        }

    def _replayed_days(self) -> int:
        """Days the report covers: replayed with their own times (not those of a paced live
        phase, whose readings are stamped on the wall clock, hemkoll.demo.clock)."""
        zone = ZoneInfo(self.sim.parameters.timezone)
        own_times_until = self.state.clock.identity_until or datetime.now(UTC)
        last = own_times_until.astimezone(zone).date()
        return max(0, min((last - self.state.start).days, self.sim.timeline.days))

    def _write(self, summary: Summary) -> None:
        doc: dict[str, Any] = {**summary.as_json(), "detection": self.report}
        self.data.file("summary.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
