"""Scoring alerts against episodes: the live alert model (one alert per deterioration, the
backtest's nurse), detection window, lead time, unexplained alerts, warm-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hemkoll.detection.backtest import alert_times
from hemkoll.detection.scoring import WARMUP_DAYS, WINDOW_DAYS, Episodes, Score, combine, score
from hemkoll.rules.alerting import RECOVERY
from hemkoll.rules.backtest import alerts_of
from hemkoll.rules.config import Severity
from hemkoll.rules.findings import Finding, FindingContent, epoch_us
from hemkoll.rules.localtime import US_PER_DAY

T0 = datetime(2025, 1, 1, tzinfo=UTC)
START = epoch_us(T0)
END = START + 365 * US_PER_DAY


def finding(rule_id: str, day: float, severity: Severity = "yellow") -> Finding:
    return Finding(
        rule_id,
        "threshold",
        severity,
        T0 + timedelta(days=day),
        FindingContent({"value": day}, f"{rule_id} fired", f"{rule_id} utlöstes"),
    )


def at(*days: float) -> np.ndarray:
    return np.asarray([START + round(d * US_PER_DAY) for d in days], dtype=np.int64)


# Patient 0: an episode with onset on day 100, in hospital until day 106.
EPISODES = Episodes(
    patient=np.asarray([0], dtype=np.int64),
    onset=at(100),
    discharge=at(106),
    in_window=np.asarray([True]),
)


def scored(*patients: Sequence[Finding], episodes: Episodes = EPISODES) -> Score:
    until = T0 + timedelta(days=365)
    alerts = [alerts_of(findings, until=until) for findings in patients]
    return score(alert_times(alerts), episodes, patients=len(patients), start=START, end=END)


def test_detection_window_and_lead_time() -> None:
    s = scored([finding("a", 90), finding("a", 99)], [])
    assert (s.episodes, s.detected) == (1, 1)
    assert s.median_lead_days == pytest.approx(10)
    # an alert just before the window, or at onset, does not detect
    early = 100 - WINDOW_DAYS - 0.01
    assert scored([finding("a", early), finding("b", 100)], []).detected == 0
    # another patient's alert does not detect
    assert scored([], [finding("a", 95)]).detected == 0


def test_a_deterioration_going_on_after_the_nurse_resolved_it_is_one_alert() -> None:
    # Opened before the window; resolved within hours; the same rule (and another) fire on
    # within RECOVERY: recorded on that alert, no notice, so the episode is not detected, but
    # the alert is explained (its findings reach into the window).
    early = 100 - WINDOW_DAYS - 0.5
    s = scored([finding("a", early), finding("a", early + 3), finding("b", early + 5)], [])
    assert (s.alerts, s.unexplained, s.detected) == (1, 0, 0)
    # A red finding on the resolved yellow alert gets through: a new alert, a detection.
    s = scored([finding("a", early), finding("b", early + 3, "red")], [])
    assert (s.alerts, s.detected) == (2, 1)
    assert s.median_lead_days == pytest.approx(WINDOW_DAYS + 0.5 - 3)


def test_two_rules_while_the_alert_is_handled_are_one_alert_and_recovery_opens_another() -> None:
    one = scored([], [finding("a", 200), finding("b", 200.05)])
    assert (one.alerts, one.unexplained) == (1, 1)
    gap = RECOVERY / timedelta(days=1) + 1
    two = scored([], [finding("a", 200), finding("b", 200 + gap)])
    assert (two.alerts, two.unexplained) == (2, 2)
    years = 2 * (365 - WARMUP_DAYS) / 365.25
    assert two.per_year(two.unexplained) == pytest.approx(2 / years)


def test_warm_up_after_discharge_and_pooling() -> None:
    # an alert in the warm-up is not counted; one 10 days after discharge is counted apart
    s = scored([finding("a", 116)], [finding("a", WARMUP_DAYS - 1)])
    assert (s.alerts, s.unexplained, s.unexplained_after_discharge) == (1, 1, 1)
    # an episode whose window reaches into the warm-up is not evaluable
    early = Episodes(
        patient=np.asarray([0]),
        onset=at(WARMUP_DAYS + 5),
        discharge=at(50),
        in_window=np.asarray([True]),
    )
    assert scored([], episodes=early).episodes == 0
    both = combine([scored([finding("a", 95)])] * 2)
    assert (both.patients, both.episodes, both.detected) == (2, 2, 2)
    assert both.lead_days.tolist() == [5.0, 5.0]
