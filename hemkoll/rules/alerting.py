"""What findings do to a patient's alerts: the alert state machine's rules side. Pure.

An alert goes open -> acknowledged -> resolved (with an outcome); the nurse's transitions are
the API's. The engine's side, decided here for each finding of one evaluation, in fired_at
order, per rule:

* a finding at or before the newest alert's ``last_fired_at`` was seen already (a live
  evaluation passes the same readings again and again): nothing;
* no unresolved alert: **open** one, unless the newest alert was resolved less than
  ``RESOLUTION_COOLDOWN`` before the finding and the finding is no more severe (then it is only
  recorded on that alert, **touch**);
* an unresolved alert and a more severe finding: **raise** its severity (recorded as an event);
* an unresolved alert and a finding no more severe: **touch** (the alert stays as it is).

The database holds at most one unresolved alert per patient and rule; the worker that applies
these decisions holds the patient's row lock, so two evaluations never decide at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from hemkoll.rules.config import Severity
from hemkoll.rules.findings import Finding

# After a nurse resolves an alert, a new firing of the same rule within this time opens nothing
# unless it is more severe: the nurse has just spoken with the patient about it. Twelve hours
# covers the rest of a working day and the night; a red finding always gets through.
RESOLUTION_COOLDOWN = timedelta(hours=12)

SEVERITY_RANK: Mapping[Severity, int] = {"yellow": 1, "red": 2}


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """How a nurse closed an alert (the follow-up figures count them)."""

    CONTACTED_PATIENT = "contacted_patient"
    MEDICATION_ADJUSTED = "medication_adjusted"
    REFERRED = "referred"
    NO_ACTION_NEEDED = "no_action_needed"
    FALSE_ALARM = "false_alarm"


# The nurse's transitions: acknowledge an open alert; resolve an open or acknowledged one.
TRANSITIONS: Mapping[str, frozenset[AlertState]] = {
    "acknowledge": frozenset({AlertState.OPEN}),
    "resolve": frozenset({AlertState.OPEN, AlertState.ACKNOWLEDGED}),
}


@dataclass(frozen=True)
class RuleAlert:
    """The newest alert of one rule for one patient, as the decisions need it."""

    state: AlertState
    severity: Severity
    last_fired_at: datetime
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Open:
    finding: Finding


@dataclass(frozen=True)
class Raise:
    finding: Finding


@dataclass(frozen=True)
class Touch:
    rule_id: str
    fired_at: datetime


Decision = Open | Raise | Touch


def decide(findings: Sequence[Finding], alerts: Mapping[str, RuleAlert]) -> list[Decision]:
    """The decisions for one evaluation's findings, given each rule's newest alert."""
    current = dict(alerts)
    decisions: list[Decision] = []
    for finding in sorted(findings, key=lambda f: (f.fired_at, f.rule_id)):
        alert = current.get(finding.rule_id)
        if alert is not None and finding.fired_at <= alert.last_fired_at:
            continue
        rank = SEVERITY_RANK[finding.severity]
        if alert is None or alert.state is AlertState.RESOLVED:
            cooling = (
                alert is not None
                and alert.resolved_at is not None
                and finding.fired_at < alert.resolved_at + RESOLUTION_COOLDOWN
                and rank <= SEVERITY_RANK[alert.severity]
            )
            if alert is not None and cooling:
                decisions.append(Touch(finding.rule_id, finding.fired_at))
                current[finding.rule_id] = replace(alert, last_fired_at=finding.fired_at)
            else:
                decisions.append(Open(finding))
                current[finding.rule_id] = RuleAlert(
                    AlertState.OPEN, finding.severity, finding.fired_at
                )
        elif rank > SEVERITY_RANK[alert.severity]:
            decisions.append(Raise(finding))
            current[finding.rule_id] = replace(
                alert, severity=finding.severity, last_fired_at=finding.fired_at
            )
        else:
            decisions.append(Touch(finding.rule_id, finding.fired_at))
            current[finding.rule_id] = replace(alert, last_fired_at=finding.fired_at)
    return decisions
