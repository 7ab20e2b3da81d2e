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

A live evaluation (``Live``) knows two more things about missing-measurement rules, which a
backtest (every finding seen at its own time, in order) never needs:

* a missing finding whose silence had already ended when it was first seen (a reading of the
  metric measured after its deadline is stored: a replay, a device's backlog, monitoring just
  resumed) opens nothing: "no weight for 48 hours" is not news when a later weight is stored;
* an unresolved missing alert that the readings no longer bear out (its findings are gone:
  a backlog brought readings measured inside its window) is **resolved** by the rules, with the
  outcome ``READING_ARRIVED`` and the reason in its history; it does not start the cooldown;
* a finding fired at or before the patient's imported history ends (``history_until``: the
  newest reading of a history import, docs/import.md) is history, not news: it opens, raises
  and touches nothing. A backtest over the imported period still shows it.

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
from hemkoll.rules.stays import Stay, silent_at

# After a nurse resolves an alert, a new firing of the same rule within this time opens nothing
# unless it is more severe: the nurse has just spoken with the patient about it. Twelve hours
# covers the rest of a working day and the night; a red finding always gets through.
RESOLUTION_COOLDOWN = timedelta(hours=12)

# The outcome of an alert the rules resolved themselves (``Resolve``); not a nurse's choice,
# so not an ``Outcome``.
READING_ARRIVED = "reading_arrived"

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
    first_fired_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Live:
    """What a live evaluation knows beyond its findings (see the module's docstring).

    ``missing``: for each enabled missing-measurement rule, the measured_at of the patient's
    newest reading of its metric up to ``now`` (None: none in the history). ``judged_from``:
    findings fired before it may lie outside the history the evaluation was given, so alerts
    that old are never resolved for want of them. ``paused``: monitoring is paused, or the
    patient is in hospital or within ``stays.DISCHARGE_GRACE`` after (the worker passes both
    as paused), so missing rules have no findings and no alert of theirs is judged: an open
    reminder is not resolved as ``READING_ARRIVED`` when no reading arrived.
    ``history_until``: the newest reading of the patient's imported history (None: none
    imported, or imported to alert).
    """

    now: datetime
    judged_from: datetime
    missing: Mapping[str, datetime | None]
    paused: bool = False
    history_until: datetime | None = None
    # The patient's hospital stays: a missing alert that fired inside one (and its grace) was
    # not ended by a reading when a stay recorded later moved its deadline, so it is not
    # resolved as READING_ARRIVED; the nurse resolves it.
    stays: Sequence[Stay] = ()


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


@dataclass(frozen=True)
class Resolve:
    """The rules resolve a missing-measurement alert the readings no longer bear out."""

    rule_id: str
    at: datetime
    reason: str


Decision = Open | Raise | Touch | Resolve


def seen_until(alert: RuleAlert | None, *, missing: bool) -> datetime | None:
    """The fired_at up to which ``decide`` passes over every finding of a rule whose newest
    alert is ``alert`` (None: it reads them all), so that a caller need not build those: the
    alert's ``last_fired_at``; for an unresolved missing-measurement alert (``missing``), the
    instant before it first fired, as ``decide`` looks for its findings from then on to see
    whether the readings still bear it out."""
    if alert is None:
        return None
    if missing and alert.state is not AlertState.RESOLVED:
        return (alert.first_fired_at or alert.last_fired_at) - timedelta(microseconds=1)
    return alert.last_fired_at


def _unfounded(
    findings: Sequence[Finding], alerts: Mapping[str, RuleAlert], live: Live
) -> list[Resolve]:
    """The unresolved missing alerts none of whose findings this evaluation still finds."""
    if live.paused:
        return []
    out: list[Resolve] = []
    for rule_id in sorted(live.missing):
        alert = alerts.get(rule_id)
        if alert is None or alert.state is AlertState.RESOLVED:
            continue
        first = alert.first_fired_at or alert.last_fired_at
        if first < live.judged_from or silent_at(live.stays, first):
            continue
        if not any(
            f.rule_id == rule_id and first <= f.fired_at <= alert.last_fired_at for f in findings
        ):
            out.append(Resolve(rule_id, live.now, "readings_inside_window"))
    return out


def _ended_before_seen(finding: Finding, live: Live | None) -> bool:
    """A missing finding whose silence a stored reading had ended before it was seen."""
    if live is None or finding.rule_id not in live.missing:
        return False
    newest = live.missing[finding.rule_id]
    return newest is not None and newest > finding.fired_at


def decide(
    findings: Sequence[Finding], alerts: Mapping[str, RuleAlert], live: Live | None = None
) -> list[Decision]:
    """The decisions for one evaluation's findings, given each rule's newest alert.

    Without ``live`` (a backtest) every finding is taken as seen at its own time.
    """
    current = dict(alerts)
    decisions: list[Decision] = []
    if live is not None:
        for resolve in _unfounded(findings, current, live):
            decisions.append(resolve)
            current[resolve.rule_id] = replace(
                current[resolve.rule_id],
                state=AlertState.RESOLVED,
                resolved_at=resolve.at,
                outcome=READING_ARRIVED,
            )
    history_until = live.history_until if live is not None else None
    for finding in sorted(findings, key=lambda f: (f.fired_at, f.rule_id)):
        if history_until is not None and finding.fired_at <= history_until:
            continue  # imported history: backtest material, not the worklist's
        alert = current.get(finding.rule_id)
        if alert is not None and finding.fired_at <= alert.last_fired_at:
            continue
        rank = SEVERITY_RANK[finding.severity]
        if alert is None or alert.state is AlertState.RESOLVED:
            if _ended_before_seen(finding, live):
                continue  # a silence already over: history, not news
            cooling = (
                alert is not None
                and alert.outcome != READING_ARRIVED
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
