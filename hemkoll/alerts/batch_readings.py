"""What the rules worker reads of a batch's readings (``hemkoll.alerts.evaluation``): the
requests (a patient, and the readings that prompted her evaluation), the readings of each
patient over the history her rules need and those that prompted it, read by the batch's own
transaction or ahead of it on a connection of their own (``read_ahead``: the worker reads the
next batch while it evaluates this one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from hemkoll.protocol.measurements import METRICS
from hemkoll.rules.config import RuleSet
from hemkoll.rules.engine import required_history
from hemkoll.rules.judged import off_rules
from hemkoll.store import evaluation_queue
from hemkoll.store.connect import Conn
from hemkoll.store.readings import (
    Prompted,
    SeriesArrays,
    readings_received_since,
    series_of_patients_between,
    without_jit,
)


@dataclass(frozen=True)
class Request:
    """A patient to evaluate, and the readings that prompted it (their devices get feedback)."""

    patient_id: UUID
    prompt: Prompted | None = None


def request_of(claimed: evaluation_queue.Claim) -> Request:
    since, oldest = claimed.feedback_since, claimed.feedback_oldest
    if not claimed.feedback_devices or since is None or oldest is None:
        return Request(claimed.patient_id)
    return Request(
        claimed.patient_id, Prompted(claimed.patient_id, claimed.feedback_devices, since, oldest)
    )


@dataclass(frozen=True)
class ReadAhead:
    """A batch's readings read before its evaluation, on a connection of their own
    (``read_ahead``): the rules worker reads the next batch while it evaluates this one."""

    requests: tuple[Request, ...]
    now: datetime
    since: datetime
    readings: dict[UUID, SeriesArrays]
    prompted: dict[UUID, list[tuple[str, datetime, float]]]

    def serves(self, requests: Sequence[Request], *, now: datetime, since: datetime) -> bool:
        """Whether these are the readings ``evaluate_patients`` would read itself."""
        return self.now == now and self.since <= since and self.requests == tuple(requests)


def read_ahead(
    conn: Conn, programme: RuleSet, requests: Sequence[Request], *, now: datetime
) -> ReadAhead:
    """What ``evaluate_patients`` reads of the readings, for a batch that will be evaluated
    at ``now`` under ``programme`` (should a patient's overrides need a longer history, the
    evaluation reads the batch again itself), in one transaction of ``conn``'s."""
    with conn.transaction():
        without_jit(conn)
        return read_batch(conn, requests, now - history_of(programme), now)


def read_batch(
    conn: Conn, requests: Sequence[Request], since: datetime, now: datetime
) -> ReadAhead:
    """The requested patients' readings from ``since`` to ``now``, and those that prompted
    each request: the prompting ones first, so that every reading the patient is told about is
    among those the rules judge (one committed between the two reads is in both, or in the
    series only)."""
    prompts = [r.prompt for r in requests if r.prompt is not None]
    prompted = readings_received_since(conn, prompts, list(METRICS))
    readings = series_of_patients_between(
        conn, sorted({r.patient_id for r in requests}), since, now
    )
    return ReadAhead(tuple(requests), now, since, readings, prompted)


def since_of(series: SeriesArrays, start_us: int) -> SeriesArrays:
    """The readings measured from ``start_us`` on (a batch is read from its longest need)."""
    out: SeriesArrays = {}
    for metric, (t, v) in series.items():
        keep = t >= start_us
        out[metric] = (t, v) if keep.all() else (t[keep], v[keep])
    return out


def history_of(rule_set: RuleSet) -> timedelta:
    """The history an evaluation reads: its enabled rules', and the rules that are off, which
    may still keep the patient from being told her readings look as usual."""
    off = off_rules(rule_set)
    return max(required_history(rule_set), required_history(off) if off else timedelta(0))
