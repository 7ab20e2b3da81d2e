"""Backtest a rule set over an ingested cohort and score it against the simulation's episodes.

The cohort's findings go through the live alert model (``hemkoll.rules.backtest.alerts_of``:
``alerting.decide`` with the backtest's nurse), patient by patient, and the alerts it gives
are scored (``scoring``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.detection.scoring import AlertTimes, Episodes, Score, score
from hemkoll.rules.alerting import REMINDER_KINDS
from hemkoll.rules.backtest import BacktestAlert, alerts_of
from hemkoll.rules.config import RuleSet
from hemkoll.rules.engine import CohortFindings, evaluate_cohort
from hemkoll.rules.findings import epoch_us, utc
from hemkoll.rules.series import Series
from hemkoll.simulator import Episode


def episode_arrays(episodes: Sequence[Episode], references: Sequence[str]) -> Episodes:
    index = {ref: i for i, ref in enumerate(references)}
    return Episodes(
        patient=np.asarray([index[e.patient] for e in episodes], dtype=np.int64),
        onset=np.asarray([epoch_us(e.onset_at) for e in episodes], dtype=np.int64),
        discharge=np.asarray([epoch_us(e.discharge_at) for e in episodes], dtype=np.int64),
        in_window=np.asarray([e.in_window for e in episodes], dtype=bool),
    )


def local_midnight(day: date, tz: ZoneInfo) -> int:
    return epoch_us(datetime(day.year, day.month, day.day, tzinfo=tz))


def alert_times(alerts: Sequence[Sequence[BacktestAlert]]) -> AlertTimes:
    """Each patient's alerts (by patient index) as the columns ``scoring`` reads: a notice at
    its opening, at each raise and at each other rule's evidence added."""
    return AlertTimes.of(
        (
            p,
            epoch_us(alert.opened_at),
            [epoch_us(f.fired_at) for f in (alert.opening, *alert.raises, *alert.evidence_added)],
            [epoch_us(at) for at in alert.fired],
        )
        for p, mine in enumerate(alerts)
        for alert in mine
    )


def backtest(
    rule_set: RuleSet,
    series: Sequence[Series],
    episodes: Episodes,
    *,
    tz: ZoneInfo,
    start: date,
    end: date,
) -> Score:
    """Evaluate the rule set over every patient's whole history, give each patient's detection
    findings to the live alert model and score its alerts."""
    found = evaluate_cohort(rule_set, series, tz=tz)
    keep = [i for i, kind in enumerate(found.kinds) if kind not in REMINDER_KINDS]
    detections = CohortFindings(
        found.n_patients,
        tuple(found.rule_ids[i] for i in keep),
        tuple(found.kinds[i] for i in keep),
        tuple(found.hits[i] for i in keep),
    )
    until = utc(local_midnight(end, tz))
    alerts = [alerts_of(findings, until=until) for findings in detections.all()]
    return score(
        alert_times(alerts),
        episodes,
        patients=len(series),
        start=local_midnight(start, tz),
        end=local_midnight(end, tz),
    )
