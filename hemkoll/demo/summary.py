"""The running summary: what the database holds for the demo's health centre, and what the
simulated devices and health centre saw.

Counts come from the database (one query, filtered by the demo's centre, so a shared external
database's other data is not counted); the webhook figures from the receiver, the replay's
from the publisher.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from hemkoll.demo.replay import ReplayProgress
from hemkoll.simulator.receiver import NurseStats, ReceiverStats
from hemkoll.store.connect import Conn

COUNTS_SQL = """
WITH p AS (SELECT id FROM patients WHERE health_centre_id = %(centre)s),
     a AS (SELECT state FROM alerts WHERE patient_id IN (SELECT id FROM p)),
     n AS (SELECT channel, state FROM notifications WHERE health_centre_id = %(centre)s)
SELECT
    (SELECT count(*) FROM readings WHERE patient_id IN (SELECT id FROM p)),
    (SELECT count(*) FROM dead_letters WHERE device_id IN (
        SELECT d.id FROM devices d WHERE d.patient_id IN (SELECT id FROM p))),
    (SELECT count(*) FROM a WHERE state = 'open'),
    (SELECT count(*) FROM a WHERE state = 'acknowledged'),
    (SELECT count(*) FROM a WHERE state = 'resolved'),
    (SELECT count(*) FROM n WHERE channel <> 'device' AND state = 'delivered'),
    (SELECT count(*) FROM n WHERE channel <> 'device' AND state = 'pending'),
    (SELECT count(*) FROM n WHERE channel = 'device' AND state = 'delivered'),
    (SELECT count(*) FROM n WHERE channel = 'device' AND state = 'pending'),
    (SELECT count(*) FROM evaluation_queue WHERE patient_id IN (SELECT id FROM p))
"""


@dataclass(frozen=True)
class Counts:
    readings: int
    dead_letters: int
    alerts_open: int
    alerts_acknowledged: int
    alerts_resolved: int
    webhooks_delivered: int
    webhooks_pending: int
    device_messages_delivered: int
    device_messages_pending: int
    evaluations_queued: int


def read_counts(conn: Conn, centre: UUID) -> Counts:
    row = conn.execute(COUNTS_SQL, {"centre": centre}).fetchone()
    conn.commit()
    if row is None:
        raise RuntimeError("the counts query returned no row")
    return Counts(*(int(value) for value in row))


@dataclass(frozen=True)
class Summary:
    elapsed_s: float
    counts: Counts
    replay: ReplayProgress
    receiver: ReceiverStats
    nurse: NurseStats | None  # None: no simulated nurse (--nurse off)

    def line(self) -> str:
        c, r = self.counts, self.replay
        if r.caught_up_at is None:
            share = 100.0 * r.replayed / r.backlog if r.backlog else 100.0
            phase = f"replay {r.replayed:,}/{r.backlog:,} messages ({share:.0f}%)"
        elif r.finished:
            phase = f"simulation ended ({r.published:,} messages)"
        else:
            phase = f"live ({r.published:,} messages)"
        return (
            f"[{self.elapsed_s:5.0f} s] {phase} | readings {c.readings:,}, dead letters "
            f"{c.dead_letters:,} | alerts {c.alerts_open} open, {c.alerts_acknowledged} "
            f"acknowledged, {c.alerts_resolved} resolved | webhooks {c.webhooks_delivered} "
            f"delivered, {c.webhooks_pending} pending, {self.receiver.notifications} received | "
            f"device messages {c.device_messages_delivered:,} delivered"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "elapsed_s": round(self.elapsed_s, 1),
            "database": asdict(self.counts),
            "replay": {
                "messages_before_start": self.replay.backlog,
                "published": self.replay.published,
                "skipped_as_published_before": self.replay.skipped,
                "awaiting_feedback": self.replay.awaiting_feedback,
                "caught_up": self.replay.caught_up_at is not None,
            },
            "receiver": {
                "notifications": self.receiver.notifications,
                "deliveries": self.receiver.deliveries,
                "duplicates": self.receiver.duplicates,
                "rejected": dict(self.receiver.rejected),
            },
            "nurse": None if self.nurse is None else asdict(self.nurse),
        }
