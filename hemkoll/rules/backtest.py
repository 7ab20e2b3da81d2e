"""Backtest: the alerts a rule set would have raised over a stored history. Pure.

The same two steps as the live worker (``worker.evaluate_patient``): ``evaluate`` for the
findings, ``alerting.decide`` for what they do to alerts; here over the whole period at once and
starting from no alerts, with no nurse in the loop (nothing is acknowledged or resolved), so a
clinician sees what a proposed change would have raised beside what the current rules raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hemkoll.rules.alerting import Open, Raise, decide
from hemkoll.rules.config import RuleSet, Severity
from hemkoll.rules.engine import evaluate
from hemkoll.rules.findings import Finding
from hemkoll.rules.series import Series


@dataclass(frozen=True)
class BacktestAlert:
    """An alert as it would have been opened, and every severity raise it would have had."""

    rule_id: str
    opened_at: datetime
    severity: Severity
    opening: Finding
    raises: tuple[Finding, ...] = ()

    @property
    def final_severity(self) -> Severity:
        return self.raises[-1].severity if self.raises else self.severity


def backtest(
    rule_set: RuleSet, series: Series, *, tz: ZoneInfo, until: datetime
) -> list[BacktestAlert]:
    """The alerts ``rule_set`` would have raised on ``series`` up to ``until``, oldest first."""
    findings = evaluate(rule_set, series, tz=tz, now=until)
    alerts: list[BacktestAlert] = []
    latest: dict[str, int] = {}
    for decision in decide(findings, {}):
        if isinstance(decision, Open):
            f = decision.finding
            latest[f.rule_id] = len(alerts)
            alerts.append(BacktestAlert(f.rule_id, f.fired_at, f.severity, f))
        elif isinstance(decision, Raise):
            index = latest[decision.finding.rule_id]
            alert = alerts[index]
            alerts[index] = BacktestAlert(
                alert.rule_id,
                alert.opened_at,
                alert.severity,
                alert.opening,
                (*alert.raises, decision.finding),
            )
    return alerts
