"""Backtest: the alerts a rule set would have given a nurse over a stored history. Pure.

The same two steps as the live worker (``evaluation.evaluate_patient``): ``evaluate`` for the
findings, ``alerting.decide`` for what they do to alerts (one alert per deterioration, whichever
detection rules fire in it; reminders per rule), here over the whole period at once and
starting from no alerts (``alerts_of``). A nurse is in the loop, as she is live: each alert is
acknowledged ``ACKNOWLEDGED_AFTER`` and resolved ``RESOLVED_AFTER`` after it opened (a nurse
who acts on alerts the day they come), so a deterioration that goes on after she resolved it
is recorded on her resolved alert, and a new one opens after recovery (``alerting.RECOVERY``)
or when it gets worse, exactly as it would live. A clinician thus sees what a proposed change
would have given the nurse (how many alerts, on which days) beside what the current rules
give, and the detection report (``hemkoll.detection.backtest``) counts alerts by the same
steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hemkoll.rules.alerting import (
    AddEvidence,
    AlertState,
    Open,
    Outcome,
    Raise,
    RuleAlert,
    Touch,
    decide_and_track,
)
from hemkoll.rules.config import RuleSet, Severity
from hemkoll.rules.engine import evaluate
from hemkoll.rules.findings import Finding
from hemkoll.rules.series import Series
from hemkoll.rules.stays import Stay

# The backtest's nurse acknowledges each alert this long after it opened (she has seen it and
# will call the patient: within the hour of a morning reading's alert), and resolves it
# RESOLVED_AFTER after it opened: within the working day, as a centre that acts on alerts the
# day they come does. Acknowledging changes no decision (an acknowledged alert is unresolved),
# so only RESOLVED_AFTER moves the counted alerts; the demo's simulated nurse acts on both on
# the replay's simulated clock (hemkoll.demo.replay_nurse), so a replay's alerts are these.
# A nurse who takes longer sees more of a deterioration's evidence on the alert she handles; a
# new alert opens only after recovery or when it gets worse, however quick she is.
ACKNOWLEDGED_AFTER = timedelta(hours=1)
RESOLVED_AFTER = timedelta(hours=4)
# How the backtest's nurse closes an alert: the cooldown applies as after any nurse's outcome.
BACKTEST_OUTCOME = Outcome.NO_ACTION_NEEDED


@dataclass(frozen=True)
class BacktestAlert:
    """An alert as it would have been opened, every severity raise and other rule's evidence
    it would have had before the nurse resolved it, when she would have acknowledged and
    resolved it (None: not yet at the end), and when each finding recorded on it fired
    (``fired``: the opening, raises, evidence and touches, also those after she resolved it)."""

    rule_id: str
    opened_at: datetime
    severity: Severity
    opening: Finding
    raises: tuple[Finding, ...] = ()
    resolved_at: datetime | None = None
    evidence_added: tuple[Finding, ...] = ()
    fired: tuple[datetime, ...] = ()
    acknowledged_at: datetime | None = None

    @property
    def final_severity(self) -> Severity:
        return self.raises[-1].severity if self.raises else self.severity


def backtest(
    rule_set: RuleSet,
    series: Series,
    *,
    tz: ZoneInfo,
    until: datetime,
    stays: Sequence[Stay] = (),
) -> list[BacktestAlert]:
    """The alerts ``rule_set`` would have given on ``series`` up to ``until``, oldest first;
    ``stays``: the patient's hospital stays, as the live worker passes them (``evaluate``)."""
    return alerts_of(evaluate(rule_set, series, tz=tz, now=until, stays=stays), until=until)


def alerts_of(findings: Sequence[Finding], *, until: datetime) -> list[BacktestAlert]:
    """The alerts one patient's ``findings`` give up to ``until``, oldest first: ``decide`` on
    each finding in fired_at order, the nurse resolving each alert ``RESOLVED_AFTER`` after it
    opened."""
    alerts: list[BacktestAlert] = []
    latest: dict[str, int] = {}  # rule id -> index in alerts of its newest alert
    state: dict[str, RuleAlert] = {}  # rule id -> its newest alert, as decide() sees it
    for finding in sorted(findings, key=lambda f: (f.fired_at, f.rule_id)):
        for rule_id, known in state.items():
            if known.state is AlertState.RESOLVED:
                continue
            index = latest[rule_id]
            due = alerts[index].opened_at + RESOLVED_AFTER
            if due <= finding.fired_at:
                alerts[index] = replace(alerts[index], resolved_at=due)
                state[rule_id] = replace(
                    known, state=AlertState.RESOLVED, resolved_at=due, outcome=BACKTEST_OUTCOME
                )
        decisions, state = decide_and_track([finding], state)
        for decision in decisions:
            if isinstance(decision, Open):
                latest[finding.rule_id] = len(alerts)
                alerts.append(
                    BacktestAlert(
                        finding.rule_id,
                        finding.fired_at,
                        finding.severity,
                        finding,
                        fired=(finding.fired_at,),
                    )
                )
                continue
            if not isinstance(decision, Raise | AddEvidence | Touch):
                continue  # a backtest's decisions resolve nothing (no Live)
            index = latest[decision.alert_rule]
            alert = alerts[index]
            if isinstance(decision, Raise):
                alert = replace(alert, raises=(*alert.raises, finding))
            elif isinstance(decision, AddEvidence):
                alert = replace(alert, evidence_added=(*alert.evidence_added, finding))
            alerts[index] = replace(alert, fired=(*alert.fired, finding.fired_at))
    for index in latest.values():
        due = alerts[index].opened_at + RESOLVED_AFTER
        if alerts[index].resolved_at is None and due <= until:
            alerts[index] = replace(alerts[index], resolved_at=due)
    return [_acknowledged(alert, until) for alert in alerts]


def _acknowledged(alert: BacktestAlert, until: datetime) -> BacktestAlert:
    """The alert with when the nurse acknowledged it, if she had by ``until``."""
    due = alert.opened_at + ACKNOWLEDGED_AFTER
    return replace(alert, acknowledged_at=due) if due <= until else alert
