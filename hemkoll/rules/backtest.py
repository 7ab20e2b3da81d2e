"""Backtest: the alerts a rule set would have given a nurse over a stored history. Pure.

The same two steps as the live worker (``evaluation.evaluate_patient``): ``evaluate`` for the
findings, ``alerting.decide`` for what they do to alerts, here over the whole period at once
and starting from no alerts. A nurse is in the loop, as she is live: each alert is resolved
``RESOLVED_AFTER`` after it opened (a nurse who acts on alerts the day they come), so a
condition that is still there the next day opens a new alert, after the resolution cooldown,
exactly as it would live. A clinician thus sees what a proposed change would have given the
nurse (how many alerts, on which days) beside what the current rules give, not one alert
kept open for a whole period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hemkoll.rules.alerting import AlertState, Open, Outcome, Raise, RuleAlert, decide
from hemkoll.rules.config import RuleSet, Severity
from hemkoll.rules.engine import evaluate
from hemkoll.rules.findings import Finding
from hemkoll.rules.series import Series
from hemkoll.rules.stays import Stay

# The backtest's nurse resolves each alert this long after it opened: within the working day
# of a morning reading's alert, as a centre that acts on alerts the day they come does. With
# the 12-hour resolution cooldown, a condition still present at the next day's reading opens
# a new alert; a nurse who takes longer hears less often, one who is quicker no more often.
RESOLVED_AFTER = timedelta(hours=4)
# How the backtest's nurse closes an alert: the cooldown applies as after any nurse's outcome.
BACKTEST_OUTCOME = Outcome.NO_ACTION_NEEDED


@dataclass(frozen=True)
class BacktestAlert:
    """An alert as it would have been opened, every severity raise it would have had before
    the nurse resolved it, and when she would have (None: still unresolved at the end)."""

    rule_id: str
    opened_at: datetime
    severity: Severity
    opening: Finding
    raises: tuple[Finding, ...] = ()
    resolved_at: datetime | None = None

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
    findings = evaluate(rule_set, series, tz=tz, now=until, stays=stays)
    alerts: list[BacktestAlert] = []
    latest: dict[str, int] = {}  # rule id -> index in alerts of its newest alert
    state: dict[str, RuleAlert] = {}  # rule id -> its newest alert, as decide() sees it
    for finding in sorted(findings, key=lambda f: (f.fired_at, f.rule_id)):
        rule_id = finding.rule_id
        known = state.get(rule_id)
        if known is not None and known.state is not AlertState.RESOLVED:
            index = latest[rule_id]
            due = alerts[index].opened_at + RESOLVED_AFTER
            if due <= finding.fired_at:
                alerts[index] = replace(alerts[index], resolved_at=due)
                known = replace(
                    known, state=AlertState.RESOLVED, resolved_at=due, outcome=BACKTEST_OUTCOME
                )
                state[rule_id] = known
        for decision in decide([finding], {} if known is None else {rule_id: known}):
            if isinstance(decision, Open):
                latest[rule_id] = len(alerts)
                alerts.append(BacktestAlert(rule_id, finding.fired_at, finding.severity, finding))
                state[rule_id] = RuleAlert(AlertState.OPEN, finding.severity, finding.fired_at)
            elif isinstance(decision, Raise):
                index = latest[rule_id]
                alerts[index] = replace(alerts[index], raises=(*alerts[index].raises, finding))
                state[rule_id] = replace(
                    state[rule_id], severity=finding.severity, last_fired_at=finding.fired_at
                )
            else:  # a touch: the alert stays as it is, or the cooldown holds the finding back
                state[rule_id] = replace(state[rule_id], last_fired_at=finding.fired_at)
    for index in latest.values():
        due = alerts[index].opened_at + RESOLVED_AFTER
        if alerts[index].resolved_at is None and due <= until:
            alerts[index] = replace(alerts[index], resolved_at=due)
    return alerts
