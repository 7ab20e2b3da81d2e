"""What findings do to alerts: open, raise, touch, and the cooldown after a resolution."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hemkoll.rules.alerting import (
    RESOLUTION_COOLDOWN,
    AlertState,
    Live,
    Open,
    Raise,
    Resolve,
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


def missing(hours: float) -> Finding:
    return Finding(
        rule_id="weight_missing_48h",
        kind="missing",
        severity="yellow",
        fired_at=T0 + timedelta(hours=hours),
        evidence={},
        explanation_en="",
        explanation_sv="",
    )


def test_live_a_silence_already_over_opens_nothing() -> None:
    live = Live(
        now=T0 + timedelta(days=30),
        judged_from=T0 - timedelta(days=60),
        missing={"weight_missing_48h": T0 + timedelta(days=29)},
    )
    assert decide([missing(1)], {}, live) == []
    assert decide([missing(1)], {}) == [Open(missing(1))]  # a backtest: seen at its time
    ongoing = replace(live, missing={"weight_missing_48h": T0 - timedelta(hours=47)})
    assert decide([missing(1)], {}, ongoing) == [Open(missing(1))]


def test_live_an_alert_its_findings_no_longer_bear_out_is_resolved() -> None:
    now = T0 + timedelta(days=2)
    live = Live(now=now, judged_from=T0 - timedelta(days=30), missing={"weight_missing_48h": now})
    alert = RuleAlert(AlertState.OPEN, "yellow", T0, first_fired_at=T0)
    assert decide([], {"weight_missing_48h": alert}, live) == [
        Resolve("weight_missing_48h", now, "readings_inside_window")
    ]
    assert decide([missing(0)], {"weight_missing_48h": alert}, live) == []
    # Paused, or older than the history given: not judged.
    assert decide([], {"weight_missing_48h": alert}, replace(live, paused=True)) == []
    assert decide([], {"weight_missing_48h": alert}, replace(live, judged_from=now)) == []
    # A hospital stay recorded after the alert opened, covering when it fired: its deadline
    # moved to the end of the grace, but no reading ended the silence; the nurse resolves it.
    admitted = [(T0 - timedelta(days=1), T0 + timedelta(days=1))]
    assert decide([], {"weight_missing_48h": alert}, replace(live, stays=admitted)) == []
    # Resolved by the rules, a later silence opens at once (no cooldown).
    later = missing(30)
    ongoing = replace(live, missing={"weight_missing_48h": T0 - timedelta(hours=18)})
    assert decide([later], {"weight_missing_48h": alert}, ongoing) == [
        Resolve("weight_missing_48h", now, "readings_inside_window"),
        Open(later),
    ]


def test_live_findings_inside_the_imported_history_open_raise_and_touch_nothing() -> None:
    live = Live(
        now=T0 + timedelta(days=3),
        judged_from=T0 - timedelta(days=60),
        missing={"weight_missing_48h": None},
        history_until=T0 + timedelta(hours=10),
    )
    past = [finding("spo2", "yellow", 1), finding("spo2", "red", 10), missing(2)]
    assert decide(past, {}, live) == []
    open_alert = {"spo2": RuleAlert(AlertState.OPEN, "yellow", T0)}
    assert decide(past, open_alert, live) == []
    # After the history: news again; without the mark (a backtest, --alerts): all of it.
    assert decide([*past, finding("spo2", "red", 11)], {}, live) == [
        Open(finding("spo2", "red", 11))
    ]
    assert decide(past, {}, replace(live, history_until=None))[0] == Open(past[0])
