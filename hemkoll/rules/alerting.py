"""What findings do to a patient's alerts: the alert state machine's rules side. Pure.

An alert goes open -> acknowledged -> resolved (with an outcome); the nurse's transitions are
the API's. The engine's side, decided here for each finding of one evaluation, in fired_at
order.

**Detections: one alert per deterioration.** A finding of a detection rule (any kind but the
reminders, ``REMINDER_KINDS``) belongs to the patient's newest detection alert, whichever rule
opened it (``deterioration``: her unresolved one, else her newest):

* a finding at or before that alert's ``last_fired_at`` was seen already (a live evaluation
  passes the same readings again and again): nothing;
* an unresolved alert and a more severe finding: **raise** its severity (recorded as an
  event; a finding of another rule keeps the alert's own evidence and is recorded in the
  event);
* an unresolved alert and a finding of a rule whose evidence it does not carry yet: **add
  evidence** (an ``evidence_added`` event with that rule's evidence and sentences);
* an unresolved alert and a finding of a rule it carries, no more severe: **touch**;
* a resolved alert (or none): the deterioration goes on, and the finding is only recorded on
  that alert (**touch**), while it fired within ``RECOVERY`` of the alert's last finding or
  within ``RESOLUTION_COOLDOWN`` of its resolution, and is no more severe, but never
  ``HELD_AFTER_RESOLUTION`` or more after the resolution; otherwise (recovered, worse: a red
  finding on a resolved yellow alert always gets through, or still going on a week after the
  nurse acted) it **opens** a new alert.

**Reminders** (missing-measurement rules) are not detections: their alerts stay one per
patient and rule, as before: no unresolved alert of the rule opens one, unless the rule's
newest alert was resolved less than ``RESOLUTION_COOLDOWN`` before the finding and the finding
is no more severe (then **touch**); an unresolved one is raised or touched. A live evaluation
(``Live``) knows more about them, which a backtest (every finding seen at its own time, in
order) never needs:

* a missing finding whose silence had already ended when it was first seen (a reading of the
  metric measured after its deadline is stored: a replay, a device's backlog, monitoring just
  resumed) opens nothing: "no weight for 48 hours" is not news when a later weight is stored;
* an unresolved missing alert that the readings no longer bear out (its findings are gone:
  a backlog brought readings measured inside its window) is **resolved** by the rules, with the
  outcome ``READING_ARRIVED`` and the reason in its history; it does not start the cooldown.

A finding fired at or before the patient's imported history ends (``Live.history_until``: the
newest reading of a history import, docs/import.md) is history, not news: it opens, raises
and touches nothing. A backtest over the imported period still shows it.

``alerts`` holds the patient's newest alert of each rule (the database holds at most one
unresolved alert per patient and rule; with detections merged, at most one unresolved
detection alert per patient is opened); the worker that applies these decisions holds the
patient's row lock, so two evaluations never decide at once. Each decision names the rule of
the alert it applies to (``alert_rule``).
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

# A deterioration is over, and the next finding of any detection rule opens a new alert, when
# no detection rule has fired for this long after the alert's last finding. A week: the rules
# of a build-up fire on the days it is measured, and a patient weighs on 55-95 % of days, so
# findings a few days apart are one deterioration; a nurse who has spoken with the patient
# about it does not get a second alert for it the same week (the week the detection report
# counted one alert by before it used these decisions) [assumption]. A finding more severe
# than the alert (red on a yellow one) gets through at any time.
RECOVERY = timedelta(days=7)

# A resolved detection alert holds the findings of its deterioration for at most this long
# after the nurse resolved it, recovered or not. Findings still coming a week after she acted
# mean the patient is not recovering from what was handled, which is news for the centre:
# without this bound a lasting yellow deterioration (or a rule that fires on most days) would
# never alert again once its first alert was resolved, each finding moving RECOVERY on. A
# week, as RECOVERY: a nurse does not get a second alert for what she handled the same week,
# and a diuretic change shows on the scales within days [assumption].
HELD_AFTER_RESOLUTION = timedelta(days=7)

# Rule kinds whose findings are reminders to measure, not signs of deterioration: their alerts
# stay one per patient and rule, and the detection report leaves them out.
REMINDER_KINDS = frozenset({"missing"})

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
    """The newest alert of one rule for one patient, as the decisions need it.

    ``kind``: the kind of the rule that opened it (a kind in ``REMINDER_KINDS``: a reminder,
    else a detection alert). ``rules``: the other rules whose evidence it carries
    (``AddEvidence``)."""

    state: AlertState
    severity: Severity
    last_fired_at: datetime
    resolved_at: datetime | None = None
    first_fired_at: datetime | None = None
    outcome: str | None = None
    kind: str = ""
    rules: frozenset[str] = frozenset()

    @property
    def reminder(self) -> bool:
        return self.kind in REMINDER_KINDS


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
    # The missing rules whose unresolved alert a finding fired within its ``bearing_window``
    # still bears out, as the caller found from the engine's columns without building those
    # findings (``seen_until(..., borne_out_given=True)``); None: ``decide`` looks among the
    # findings it is given.
    borne_out: frozenset[str] | None = None


@dataclass(frozen=True)
class Open:
    finding: Finding


@dataclass(frozen=True)
class Raise:
    """``finding`` raises the severity of the unresolved alert of ``alert_rule`` (its own rule's
    finding also replaces the alert's evidence; another rule's is recorded in the event)."""

    finding: Finding
    alert_rule: str


@dataclass(frozen=True)
class AddEvidence:
    """``finding``, of a rule the unresolved alert of ``alert_rule`` did not carry yet, is one
    more sign of the same deterioration: recorded in the alert's history."""

    finding: Finding
    alert_rule: str


@dataclass(frozen=True)
class Touch:
    alert_rule: str
    fired_at: datetime


@dataclass(frozen=True)
class Resolve:
    """The rules resolve a missing-measurement alert the readings no longer bear out."""

    rule_id: str
    at: datetime
    reason: str


Decision = Open | Raise | AddEvidence | Touch | Resolve


def deterioration(alerts: Mapping[str, RuleAlert]) -> str | None:
    """The rule of the patient's detection alert that her next detection finding belongs to:
    her unresolved one (the newest, should an older one still be unresolved), else her newest
    (by last finding); None: she has none."""
    best: tuple[bool, datetime, str] | None = None
    for rule_id, alert in alerts.items():
        if alert.reminder:
            continue
        key = (alert.state is not AlertState.RESOLVED, alert.last_fired_at, rule_id)
        if best is None or key > best:
            best = key
    return None if best is None else best[2]


def bearing_window(alert: RuleAlert | None) -> tuple[datetime, datetime] | None:
    """For an unresolved missing-measurement alert, the fired_at (both ends inclusive) within
    which a finding of its rule must still be found for the readings to bear it out (from
    when it first fired to its last finding); None for any other."""
    if alert is None or alert.state is AlertState.RESOLVED:
        return None
    return (alert.first_fired_at or alert.last_fired_at, alert.last_fired_at)


def seen_until(
    alert: RuleAlert | None,
    *,
    missing: bool,
    borne_out_given: bool = False,
    newest: datetime | None = None,
) -> datetime | None:
    """The fired_at up to which ``decide`` passes over every finding of a rule whose alert is
    ``alert`` (a reminder's: its rule's newest; a detection rule's: the patient's
    ``deterioration``; None: it reads them all), so that a caller need not build those: the
    alert's ``last_fired_at``.

    For a missing-measurement rule (``missing``): while its alert is unresolved, the instant
    before it first fired, as ``decide`` looks for its findings from then on to see whether
    the readings still bear it out, unless the caller tells it that in ``Live.borne_out``
    (``borne_out_given``): then its ``last_fired_at``. Otherwise, given the newest reading of
    the rule's metric (``newest``, a live evaluation's ``Live.missing``), at least the instant
    before it: a silence that reading ended was over before it was seen, and opens nothing."""
    if not missing:
        return None if alert is None else alert.last_fired_at
    window = bearing_window(alert)
    if window is not None:
        return window[1] if borne_out_given else window[0] - timedelta(microseconds=1)
    seen = [] if alert is None else [alert.last_fired_at]
    if newest is not None:
        seen.append(newest - timedelta(microseconds=1))
    return max(seen, default=None)


def seen_until_per_rule(
    alerts: Mapping[str, RuleAlert],
    rules: Mapping[str, bool],
    *,
    borne_out_given: bool = False,
    newest: Mapping[str, datetime | None] | None = None,
) -> dict[str, datetime]:
    """``seen_until`` for each of ``rules`` (rule id -> whether it is a missing-measurement
    rule) that has one: a missing rule's by its own newest alert (and ``newest``, the newest
    reading of its metric per missing rule id, as ``Live.missing``), a detection rule's by the
    patient's detection alert (``deterioration``)."""
    key = deterioration(alerts)
    patients_alert = alerts[key] if key is not None else None
    out: dict[str, datetime] = {}
    for rule_id, missing in rules.items():
        seen = seen_until(
            alerts.get(rule_id) if missing else patients_alert,
            missing=missing,
            borne_out_given=borne_out_given,
            newest=None if newest is None else newest.get(rule_id),
        )
        if seen is not None:
            out[rule_id] = seen
    return out


def _unfounded(
    findings: Sequence[Finding], alerts: Mapping[str, RuleAlert], live: Live
) -> list[Resolve]:
    """The unresolved missing alerts none of whose findings this evaluation still finds."""
    if live.paused:
        return []
    out: list[Resolve] = []
    for rule_id in sorted(live.missing):
        window = bearing_window(alerts.get(rule_id))
        if window is None:
            continue
        first, last = window
        if first < live.judged_from or silent_at(live.stays, first):
            continue
        if live.borne_out is not None:
            borne_out = rule_id in live.borne_out
        else:
            borne_out = any(f.rule_id == rule_id and first <= f.fired_at <= last for f in findings)
        if not borne_out:
            out.append(Resolve(rule_id, live.now, "readings_inside_window"))
    return out


def _ended_before_seen(finding: Finding, live: Live | None) -> bool:
    """A missing finding whose silence a stored reading had ended before it was seen."""
    if live is None or finding.rule_id not in live.missing:
        return False
    newest = live.missing[finding.rule_id]
    return newest is not None and newest > finding.fired_at


def _cooling(alert: RuleAlert, finding: Finding) -> bool:
    """A finding no more severe than the resolved ``alert``, within its resolution cooldown."""
    return (
        alert.outcome != READING_ARRIVED
        and alert.resolved_at is not None
        and finding.fired_at < alert.resolved_at + RESOLUTION_COOLDOWN
        and SEVERITY_RANK[finding.severity] <= SEVERITY_RANK[alert.severity]
    )


def _same_deterioration(alert: RuleAlert, finding: Finding) -> bool:
    """A detection finding no more severe than the resolved ``alert`` that belongs to it: the
    deterioration has not recovered (``RECOVERY``), or the nurse has just resolved it; never
    ``HELD_AFTER_RESOLUTION`` after she resolved it."""
    if SEVERITY_RANK[finding.severity] > SEVERITY_RANK[alert.severity]:
        return False
    if alert.resolved_at is not None and (
        finding.fired_at >= alert.resolved_at + HELD_AFTER_RESOLUTION
    ):
        return False
    return finding.fired_at <= alert.last_fired_at + RECOVERY or _cooling(alert, finding)


def _opened(finding: Finding) -> RuleAlert:
    at = finding.fired_at
    return RuleAlert(AlertState.OPEN, finding.severity, at, first_fired_at=at, kind=finding.kind)


def _detection(
    finding: Finding, current: dict[str, RuleAlert], key: str | None
) -> tuple[Decision | None, str | None]:
    """The decision for one detection finding, given the key of the patient's detection alert
    (updates ``current``); the key after it."""
    alert = current[key] if key is not None else None
    if alert is not None and key is not None:
        if finding.fired_at <= alert.last_fired_at:
            return None, key
        worse = SEVERITY_RANK[finding.severity] > SEVERITY_RANK[alert.severity]
        seen = replace(alert, last_fired_at=finding.fired_at)
        if alert.state is not AlertState.RESOLVED:
            carried = finding.rule_id == key or finding.rule_id in alert.rules
            if worse:
                rules = alert.rules if carried else alert.rules | {finding.rule_id}
                current[key] = replace(seen, severity=finding.severity, rules=rules)
                return Raise(finding, key), key
            if not carried:
                current[key] = replace(seen, rules=alert.rules | {finding.rule_id})
                return AddEvidence(finding, key), key
            current[key] = seen
            return Touch(key, finding.fired_at), key
        if _same_deterioration(alert, finding):
            current[key] = seen
            return Touch(key, finding.fired_at), key
    current[finding.rule_id] = _opened(finding)
    return Open(finding), finding.rule_id


def _reminder(
    finding: Finding, current: dict[str, RuleAlert], live: Live | None
) -> Decision | None:
    """The decision for one reminder finding, per rule (updates ``current``)."""
    alert = current.get(finding.rule_id)
    if alert is not None and finding.fired_at <= alert.last_fired_at:
        return None
    if alert is None or alert.state is AlertState.RESOLVED:
        if _ended_before_seen(finding, live):
            return None  # a silence already over: history, not news
        if alert is not None and _cooling(alert, finding):
            current[finding.rule_id] = replace(alert, last_fired_at=finding.fired_at)
            return Touch(finding.rule_id, finding.fired_at)
        current[finding.rule_id] = _opened(finding)
        return Open(finding)
    seen = replace(alert, last_fired_at=finding.fired_at)
    if SEVERITY_RANK[finding.severity] > SEVERITY_RANK[alert.severity]:
        current[finding.rule_id] = replace(seen, severity=finding.severity)
        return Raise(finding, finding.rule_id)
    current[finding.rule_id] = seen
    return Touch(finding.rule_id, finding.fired_at)


def decide(
    findings: Sequence[Finding], alerts: Mapping[str, RuleAlert], live: Live | None = None
) -> list[Decision]:
    """The decisions for one evaluation's findings, given each rule's newest alert.

    Without ``live`` (a backtest) every finding is taken as seen at its own time.
    """
    return decide_and_track(findings, alerts, live)[0]


def decide_and_track(
    findings: Sequence[Finding], alerts: Mapping[str, RuleAlert], live: Live | None = None
) -> tuple[list[Decision], dict[str, RuleAlert]]:
    """``decide``, and each rule's newest alert as the decisions leave it (a backtest carries
    them on to its next findings)."""
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
    key = deterioration(current)
    for finding in sorted(findings, key=lambda f: (f.fired_at, f.rule_id)):
        if history_until is not None and finding.fired_at <= history_until:
            continue  # imported history: backtest material, not the worklist's
        if finding.kind in REMINDER_KINDS:
            decision = _reminder(finding, current, live)
        else:
            decision, key = _detection(finding, current, key)
        if decision is not None:
            decisions.append(decision)
    return decisions, current
