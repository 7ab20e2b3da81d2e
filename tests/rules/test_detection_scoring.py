"""Scoring findings against episodes: detection window, lead time, alert grouping, warm-up."""

from __future__ import annotations

import numpy as np
import pytest

from hemkoll.detection.scoring import (
    ALERT_OPEN_DAYS,
    WARMUP_DAYS,
    WINDOW_DAYS,
    Episodes,
    RuleHits,
    combine,
    score,
)
from hemkoll.rules.localtime import US_PER_DAY

START = 0
END = 365 * US_PER_DAY


def at(*days: float) -> np.ndarray:
    return np.asarray([round(d * US_PER_DAY) for d in days], dtype=np.int64)


def hits(patients: list[int], days: list[float]) -> RuleHits:
    return RuleHits(patient=np.asarray(patients, dtype=np.int64), t=at(*days))


# Patient 0: an episode with onset on day 100, in hospital until day 106.
EPISODES = Episodes(
    patient=np.asarray([0], dtype=np.int64),
    onset=at(100),
    discharge=at(106),
    in_window=np.asarray([True]),
)


def test_detection_window_and_lead_time() -> None:
    s = score([hits([0, 0], [90, 99])], EPISODES, patients=2, start=START, end=END)
    assert (s.episodes, s.detected) == (1, 1)
    assert s.median_lead_days == pytest.approx(10)
    # a finding just before the window, or at onset, does not detect
    early = 100 - WINDOW_DAYS - 0.01
    s = score([hits([0, 0], [early, 100])], EPISODES, patients=2, start=START, end=END)
    assert s.detected == 0
    # another patient's finding does not detect
    assert score([hits([1], [95])], EPISODES, patients=2, start=START, end=END).detected == 0


def test_findings_close_together_are_one_alert_and_explained_if_any_precedes_onset() -> None:
    # days 80, 84, 88: one alert (gaps <= 7 days) whose last finding is 12 days before onset
    s = score([hits([0, 0, 0], [80, 84, 88])], EPISODES, patients=1, start=START, end=END)
    assert (s.alerts, s.unexplained) == (1, 0)
    gap = ALERT_OPEN_DAYS + 1
    s = score([hits([1, 1], [200, 200 + gap])], EPISODES, patients=2, start=START, end=END)
    assert (s.alerts, s.unexplained) == (2, 2)
    years = 2 * (365 - WARMUP_DAYS) / 365.25
    assert s.per_year(s.unexplained) == pytest.approx(2 / years)


def test_rules_count_apart_and_merge_per_patient() -> None:
    a, b = hits([1], [200]), hits([1], [201])
    s = score([a, b], EPISODES, patients=2, start=START, end=END)
    assert (s.alerts, s.unexplained, s.patient_alerts, s.patient_unexplained) == (2, 2, 1, 1)


def test_warm_up_after_discharge_and_pooling() -> None:
    # an alert in the warm-up is not counted; one 10 days after discharge is counted apart
    s = score([hits([1, 0], [WARMUP_DAYS - 1, 116])], EPISODES, patients=2, start=START, end=END)
    assert (s.alerts, s.unexplained, s.unexplained_after_discharge) == (1, 1, 1)
    # an episode whose window reaches into the warm-up is not evaluable
    early = Episodes(
        patient=np.asarray([0]),
        onset=at(WARMUP_DAYS + 5),
        discharge=at(50),
        in_window=np.asarray([True]),
    )
    assert score([], early, patients=1, start=START, end=END).episodes == 0
    both = combine([score([hits([0], [95])], EPISODES, patients=1, start=START, end=END)] * 2)
    assert (both.patients, both.episodes, both.detected) == (2, 2, 2)
    assert both.lead_days.tolist() == [5.0, 5.0]
