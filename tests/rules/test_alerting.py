"""What findings do to alerts: open, raise, add evidence, touch; one alert per deterioration
until recovery; reminders per rule with the cooldown after a resolution."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hemkoll.rules.alerting import (
    HELD_AFTER_RESOLUTION,
    RECOVERY,
    RESOLUTION_COOLDOWN,
    AddEvidence,
    AlertState,
    Live,
    Open,
    Raise,
    Resolve,
    RuleAlert,
    Touch,
    decide,
)
from hemkoll.rules.findings import Content, Finding, FindingContent

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def finding(rule: str, severity: str, hours: float) -> Finding:
    return Finding(
        rule_id=rule,
        kind="threshold",
        severity=severity,  # type: ignore[arg-type]
        fired_at=T0 + timedelta(hours=hours),
        content=FindingContent({}, "", ""),
    )


def test_a_first_finding_opens_and_a_worse_one_raises() -> None:
    decisions = decide([finding("spo2", "red", 5), finding("spo2", "yellow", 1)], {})
    assert decisions == [
        Open(finding("spo2", "yellow", 1)),
        Raise(finding("spo2", "red", 5), "spo2"),
    ]


def test_findings_already_seen_change_nothing() -> None:
    seen = {"spo2": RuleAlert(AlertState.OPEN, "yellow", T0 + timedelta(hours=5))}
    assert decide([finding("spo2", "red", 5), finding("spo2", "yellow", 1)], seen) == []


def test_a_finding_no_worse_than_the_open_alert_only_touches_it() -> None:
    open_red = {"spo2": RuleAlert(AlertState.ACKNOWLEDGED, "red", T0)}
    assert decide([finding("spo2", "yellow", 2)], open_red) == [
        Touch("spo2", T0 + timedelta(hours=2))
    ]


def test_after_resolution_only_recovery_or_a_worse_finding_opens_a_new_alert() -> None:
    resolved_at = T0 + timedelta(hours=1)
    resolved = {"spo2": RuleAlert(AlertState.RESOLVED, "yellow", T0, resolved_at)}
    # Past the reminders' cooldown but within RECOVERY of the alert's last finding: the same
    # deterioration, whichever detection rule fires; recorded on the resolved alert.
    later = (resolved_at + RESOLUTION_COOLDOWN - T0) / timedelta(hours=1) + 1
    for rule in ("spo2", "weight_trend"):
        assert decide([finding(rule, "yellow", later)], resolved) == [
            Touch("spo2", T0 + timedelta(hours=later))
        ]
    # Each finding it records moves its recovery on, until HELD_AFTER_RESOLUTION after the
    # resolution: a deterioration still going on a week after the nurse acted is news.
    days = RECOVERY / timedelta(hours=1)
    held = (resolved_at + HELD_AFTER_RESOLUTION - T0) / timedelta(hours=1)
    daily = [finding("spo2", "yellow", h) for h in range(24, int(held) + 48, 24)]
    assert all(f.fired_at - daily[0].fired_at < RECOVERY for f in daily[:2])
    decisions = decide(daily, resolved)
    touched = [f for f in daily if f.fired_at < resolved_at + HELD_AFTER_RESOLUTION]
    assert decisions[: len(touched)] == [Touch("spo2", f.fired_at) for f in touched]
    first_after = daily[len(touched)]
    assert decisions[len(touched)] == Open(first_after)
    # The new alert then holds the rest of the run, which goes on adding nothing new.
    assert decisions[len(touched) + 1 :] == [
        Touch("spo2", f.fired_at) for f in daily[len(touched) + 1 :]
    ]
    # Worse: through at once.
    assert decide([finding("pulse", "red", 2)], resolved) == [Open(finding("pulse", "red", 2))]
    # Recovered: no finding of any detection rule for RECOVERY after its last one.
    recovered = days + 0.5
    assert decide([finding("pulse", "yellow", recovered)], resolved) == [
        Open(finding("pulse", "yellow", recovered))
    ]


def test_a_reminders_cooldown_after_resolution_lets_only_a_worse_finding_through() -> None:
    resolved_at = T0 + timedelta(hours=1)
    rule = "weight_missing_48h"
    resolved = {
        rule: RuleAlert(AlertState.RESOLVED, "yellow", T0, resolved_at, kind="missing"),
    }
    inside = (resolved_at + RESOLUTION_COOLDOWN - T0) / timedelta(hours=1) - 0.5
    worse = replace(missing(inside), severity="red")
    assert decide([missing(inside)], resolved) == [Touch(rule, T0 + timedelta(hours=inside))]
    assert decide([worse], resolved) == [Open(worse)]
    assert decide([missing(inside + 1)], resolved) == [Open(missing(inside + 1))]


def test_another_rule_while_the_alert_is_handled_adds_its_evidence_once_or_raises_it() -> None:
    handled = {"spo2": RuleAlert(AlertState.ACKNOWLEDGED, "yellow", T0, first_fired_at=T0)}
    decisions = decide(
        [
            finding("weight_trend", "yellow", 1),
            finding("weight_trend", "yellow", 2),
            finding("pulse", "red", 3),
            finding("spo2", "yellow", 4),
        ],
        handled,
    )
    assert decisions == [
        AddEvidence(finding("weight_trend", "yellow", 1), "spo2"),
        Touch("spo2", T0 + timedelta(hours=2)),  # its evidence is on the alert already
        Raise(finding("pulse", "red", 3), "spo2"),
        Touch("spo2", T0 + timedelta(hours=4)),
    ]
    # The rules it carries come from the database (its events): a touch, not evidence again.
    carried = {"spo2": replace(handled["spo2"], rules=frozenset({"weight_trend"}))}
    assert decide([finding("weight_trend", "yellow", 1)], carried) == [
        Touch("spo2", T0 + timedelta(hours=1))
    ]


def test_reminders_stay_per_rule_and_the_newest_unresolved_detection_alert_is_the_one() -> None:
    two = {
        "spo2": RuleAlert(AlertState.OPEN, "yellow", T0),
        "pulse": RuleAlert(AlertState.OPEN, "yellow", T0 + timedelta(minutes=5)),
        "weight_trend": RuleAlert(AlertState.RESOLVED, "yellow", T0 + timedelta(hours=1)),
    }
    assert decide([finding("weight_trend", "yellow", 2), missing(2)], two) == [
        Open(missing(2)),
        AddEvidence(finding("weight_trend", "yellow", 2), "pulse"),
    ]


def missing(hours: float) -> Finding:
    return Finding(
        rule_id="weight_missing_48h",
        kind="missing",
        severity="yellow",
        fired_at=T0 + timedelta(hours=hours),
        content=FindingContent({}, "", ""),
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


def _unreadable(rule: str, severity: str, hours: float) -> Finding:
    """A finding whose evidence and sentences fail if anything reads them."""

    def never() -> Content:
        raise AssertionError("decide read a finding's content")

    return replace(finding(rule, severity, hours), content=FindingContent.deferred(never))


def test_decide_reads_no_findings_content() -> None:
    """The engine renders a finding's evidence and sentences when first read (a first
    evaluation's findings mostly only touch the alert they belong to): decide must judge by
    the rule, severity and time alone."""
    findings = [
        _unreadable("spo2", "yellow", 1),
        _unreadable("spo2", "yellow", 3),
        _unreadable("weight_gain", "yellow", 4),
        _unreadable("spo2", "red", 5),
        _unreadable("weight_missing_48h", "yellow", 6),
    ]
    findings[-1] = replace(findings[-1], kind="missing")
    decisions = decide(findings, {})
    assert [type(d) for d in decisions] == [Open, Touch, AddEvidence, Raise, Open]
