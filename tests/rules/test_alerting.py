"""What findings do to alerts: open, raise, touch, and the cooldown after a resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hemkoll.rules.alerting import (
    RESOLUTION_COOLDOWN,
    AlertState,
    Open,
    Raise,
    RuleAlert,
    Touch,
    decide,
)
from hemkoll.rules.findings import Finding

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def finding(rule: str, severity: str, hours: float) -> Finding:
    return Finding(
        rule_id=rule,
        kind="threshold",
        severity=severity,  # type: ignore[arg-type]
        fired_at=T0 + timedelta(hours=hours),
        evidence={},
        explanation_en="",
        explanation_sv="",
    )


def test_a_first_finding_opens_and_a_worse_one_raises() -> None:
    decisions = decide([finding("spo2", "red", 5), finding("spo2", "yellow", 1)], {})
    assert decisions == [Open(finding("spo2", "yellow", 1)), Raise(finding("spo2", "red", 5))]


def test_findings_already_seen_change_nothing() -> None:
    seen = {"spo2": RuleAlert(AlertState.OPEN, "yellow", T0 + timedelta(hours=5))}
    assert decide([finding("spo2", "red", 5), finding("spo2", "yellow", 1)], seen) == []


def test_a_finding_no_worse_than_the_open_alert_only_touches_it() -> None:
    open_red = {"spo2": RuleAlert(AlertState.ACKNOWLEDGED, "red", T0)}
    assert decide([finding("spo2", "yellow", 2)], open_red) == [
        Touch("spo2", T0 + timedelta(hours=2))
    ]


def test_cooldown_after_resolution_lets_only_a_worse_finding_through() -> None:
    resolved_at = T0 + timedelta(hours=1)
    resolved = {"spo2": RuleAlert(AlertState.RESOLVED, "yellow", T0, resolved_at)}
    inside = (resolved_at + RESOLUTION_COOLDOWN - T0) / timedelta(hours=1) - 0.5
    assert decide([finding("spo2", "yellow", inside)], resolved) == [
        Touch("spo2", T0 + timedelta(hours=inside))
    ]
    assert decide([finding("spo2", "red", inside)], resolved) == [
        Open(finding("spo2", "red", inside))
    ]
    after = inside + 1
    assert decide([finding("spo2", "yellow", after)], resolved) == [
        Open(finding("spo2", "yellow", after))
    ]


def test_rules_are_independent() -> None:
    decisions = decide(
        [finding("spo2", "yellow", 1), finding("weight_trend", "yellow", 1)],
        {"spo2": RuleAlert(AlertState.OPEN, "yellow", T0)},
    )
    assert decisions == [
        Touch("spo2", T0 + timedelta(hours=1)),
        Open(finding("weight_trend", "yellow", 1)),
    ]
