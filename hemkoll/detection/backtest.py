"""Backtest a rule set over an ingested cohort and score it against the simulation's episodes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.detection.scoring import Episodes, RuleHits, Score, score
from hemkoll.rules.config import RuleSet
from hemkoll.rules.engine import evaluate_cohort
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.series import Series
from hemkoll.simulator import Episode

# Findings of these kinds are reminders to measure, not signs of deterioration.
NOT_DETECTIONS = frozenset({"missing"})


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


def backtest(
    rule_set: RuleSet,
    series: Sequence[Series],
    episodes: Episodes,
    *,
    tz: ZoneInfo,
    start: date,
    end: date,
) -> Score:
    """Evaluate the rule set over every patient's whole history and score its findings."""
    found = evaluate_cohort(rule_set, series, tz=tz)
    kinds = {rule.id: rule.kind for rule in rule_set.rules}
    hits = [
        RuleHits(patient=h.patient, t=h.t)
        for rule_id, h in zip(found.rule_ids, found.hits, strict=True)
        if kinds[rule_id] not in NOT_DETECTIONS
    ]
    return score(
        hits,
        episodes,
        patients=len(series),
        start=local_midnight(start, tz),
        end=local_midnight(end, tz),
    )
