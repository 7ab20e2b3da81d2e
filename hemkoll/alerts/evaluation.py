"""One evaluation: a batch of patients' recent readings through the rules, and what the
findings do to their alerts, in the caller's transaction (which holds the patients' row locks).

It reads the patients, their rule overrides, readings (as numpy arrays), hospital stays,
imported history and newest alerts in a few statements; runs the engine once per group of
patients sharing a rule set and a time zone (``evaluate_cohort``: the kernels of ``evaluate``
and of a backtest, each patient's findings as if evaluated alone); applies
``alerting.decide``; writes each opened or raised alert with its event and its webhook to the
outbox, pipelined; tells the patient what came of it (``patient_messages``); and stores
each patient's next deadline (``rules.deadlines``: when her missing-measurement rules could next
fire), at which the scheduler queues her again. The readings are read by ``batch_readings``
(in this transaction, or ahead of it by the worker). The queue, the claims and the retries are
the worker's (``hemkoll.alerts.worker``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from hemkoll.alerts.batch_messages import Decided, messages
from hemkoll.alerts.batch_readings import (
    ReadAhead,
    Request,
    history_of,
    read_batch,
    since_of,
)
from hemkoll.alerts.configuration import effective_for
from hemkoll.alerts.patient_messages import (
    AlertChange,
    AlertNews,
    tell_each,
)
from hemkoll.rules.alerting import (
    READING_ARRIVED,
    AddEvidence,
    AlertState,
    Live,
    Open,
    Raise,
    Resolve,
    RuleAlert,
    Touch,
    bearing_window,
    decide,
    seen_until_per_rule,
)
from hemkoll.rules.config import MissingRule, RuleSet, Severity
from hemkoll.rules.deadlines import next_deadline
from hemkoll.rules.engine import LIVE_HISTORY_MARGIN, evaluate_cohort, required_history
from hemkoll.rules.findings import Finding, epoch_us, utc
from hemkoll.rules.judged import (
    Judges,
)
from hemkoll.rules.series import Series, as_epoch_us
from hemkoll.rules.stays import DISCHARGE_GRACE, Stay, silent_at
from hemkoll.store import (
    alert_actions,
    evaluation_queue,
    hospital_stays,
    notifications,
    rule_overrides,
)
from hemkoll.store.alerts import (
    AlertContent,
    AlertRow,
    insert_alert,
    newest_alerts,
    plan_alert_writes_afresh,
    raise_alert,
    raise_alert_severity,
    resolve_by_rules,
    touch_alerts,
)
from hemkoll.store.connect import Conn
from hemkoll.store.imported_history import imported_until
from hemkoll.store.notifications import AlertEvent
from hemkoll.store.patients import PatientToEvaluate, lock_patients
from hemkoll.store.readings import (
    Prompted,
    SeriesArrays,
    without_jit,
)
from hemkoll.store.rule_overrides import OverridesVersion

# The actor of the rules' own entries in an alert's history.
ACTOR = "rules"
# A silence is judged this long after its deadline: a reading measured just before it may still
# be on its way (a gateway uploads in batches, a scale retries on a weak connection), and a
# reminder its arrival would resolve a minute later is noise on the worklist. (The 15-minute
# sweep that deadlines replaced judged 0-15 minutes after.)
ARRIVAL_GRACE = timedelta(minutes=10)


def _severity(stored: str) -> Severity:
    if stored == "red":
        return "red"
    if stored == "yellow":
        return "yellow"
    raise ValueError(f"unknown severity {stored!r} in the alerts table")


def _content(finding: Finding) -> AlertContent:
    return AlertContent(
        rule_id=finding.rule_id,
        rule_kind=finding.kind,
        severity=finding.severity,
        fired_at=finding.fired_at,
        evidence=dict(finding.evidence),
        explanation_en=finding.explanation_en,
        explanation_sv=finding.explanation_sv,
    )


@dataclass
class _Written:
    """What a batch's decisions write at its end, one statement each: the alerts' touches
    (alert id -> the newest fired_at, ``touch_alerts``), the events of their histories in
    order, and how many webhooks were queued (if any, one NOTIFY wakes the dispatchers)."""

    touches: dict[UUID, datetime] = field(default_factory=dict)
    events: list[alert_actions.NewEvent] = field(default_factory=list)
    webhooks: int = 0

    def touch(self, alert_id: UUID, fired_at: datetime) -> None:
        seen = self.touches.get(alert_id)
        self.touches[alert_id] = fired_at if seen is None or fired_at > seen else seen

    def event(self, alert_id: UUID, kind: str, severity: str, details: dict[str, Any]) -> None:
        """An entry of the rules' in the alert's history."""
        self.events.append(alert_actions.NewEvent(alert_id, kind, severity, ACTOR, details))


@dataclass
class Changes:
    """What one evaluation did to the patient's alerts: severities opened and raised to, and
    the most pressing of those alerts (what the patient is told about)."""

    opened: list[Severity] = field(default_factory=list)
    raised: list[Severity] = field(default_factory=list)
    news: tuple[UUID, AlertNews] | None = None

    def add_news(self, alert_id: UUID, news: AlertNews) -> None:
        """Keep the most pressing alert: red over yellow, the first of a severity."""
        if self.news is None or (news.severity == "red" and self.news[1].severity != "red"):
            self.news = (alert_id, news)


def evaluate_patients(
    conn: Conn,
    programme: RuleSet,
    requests: Sequence[Request],
    *,
    now: datetime,
    ahead: ReadAhead | None = None,
) -> dict[UUID, Changes]:
    """Evaluate a batch of patients and apply the findings to their alerts; the caller's
    transaction, which holds the patients' row locks.

    Each patient's rules are the programme with their stored overrides (``configuration``),
    made once per distinct set of override versions in the batch. The batch is read in a few
    statements (patients, overrides, readings as arrays, hospital stays, alerts) rather than
    a few per patient, and the patients who share a rule set and a time zone go through the
    engine together (``evaluate_cohort``: the same kernels as ``evaluate`` and a backtest, one
    call for the group); the alerts' writes are pipelined. Every new alert and raised severity
    is logged and queued for the centre's webhook and the patient is told, in this same
    transaction (the outbox): of the most pressing alert, on all her devices; or, when nothing
    opened, on the devices whose readings prompted the evaluation, what the enabled rules made
    of those readings (``patient_messages``). Returns, per patient, the alerts opened and
    raised. ``ahead``: the batch's readings, already read (``read_ahead``).
    """
    ids = sorted({r.patient_id for r in requests})
    without_jit(conn)
    patients = {p.id: p for p in lock_patients(conn, ids)}
    if not patients:
        return {}
    versions = rule_overrides.current_overrides_of(conn, list(patients))
    rule_sets = _rule_sets(programme, patients, versions)
    # Once per distinct rule set, not per patient (0.24 ms each: the rules that are off are
    # copied into a rule set of their own; what judges a reading is taken from it once).
    distinct, judges, needs = _distinct(rule_sets)
    since = now - max(history_of(rule_set) for rule_set in distinct.values())
    if ahead is None or not ahead.serves(requests, now=now, since=since):
        ahead = read_batch(conn, [r for r in requests if r.patient_id in patients], since, now)
    stays = hospital_stays.stays_of_patients(
        conn, list(patients), since, now, grace=DISCHARGE_GRACE
    )
    newest = newest_alerts(conn, list(patients))
    history = imported_until(conn, list(patients))
    known = {pid: _rule_alerts(newest.get(pid, [])) for pid in patients}
    evaluated = _evaluate_groups(patients, rule_sets, ahead.readings, stays, known, now=now)
    results: dict[UUID, Changes] = {}
    deadlines: dict[UUID, datetime | None] = {}
    decided: list[Decided] = []
    written = _Written()
    with conn.pipeline():
        plan_alert_writes_afresh(conn, True)
        for request in requests:
            patient = patients.get(request.patient_id)
            if patient is None or patient.id in results:
                continue
            rule_set, key = rule_sets[patient.id]
            start = now - needs[key]
            series, findings, borne_out, newest_of_missing = evaluated[patient.id]
            in_hospital = stays.get(patient.id, [])
            due = next_deadline(
                rule_set,
                series,
                tz=ZoneInfo(patient.timezone),
                now=now,
                paused=patient.paused,
                stays=in_hospital,
            )
            deadlines[patient.id] = None if due is None else due + ARRIVAL_GRACE
            # In hospital now, or within the grace after: the missing rules have no findings,
            # so an open reminder (a silence before the stay was recorded) is not "borne out"
            # any more; a reading did not end it, so it is left as it is, as while paused.
            paused = patient.paused or silent_at(in_hospital, now)
            live = _live(
                newest_of_missing,
                now=now,
                start=start,
                paused=paused,
                history_until=history.get(patient.id),
                stays=in_hospital,
                borne_out=borne_out,
            )
            changes, unresolved = _apply(
                conn,
                patient.id,
                rule_set,
                findings,
                newest.get(patient.id, []),
                alerts=known[patient.id],
                live=live,
                written=written,
            )
            results[patient.id] = changes
            decided.append(
                Decided(
                    request,
                    patient,
                    rule_set,
                    key,
                    judges[key],
                    series,
                    start,
                    changes.news,
                    bool(unresolved),
                )
            )
        touch_alerts(conn, written.touches)  # greatest(): after the alerts' inserts and raises
        alert_actions.insert_events(conn, written.events)
        if written.webhooks:
            notifications.notify_dispatchers(conn)
        plan_alert_writes_afresh(conn, False)  # the batch's other writes are few statements
        # While PostgreSQL applies the alerts' writes: what the patients are told (what the
        # rules that are off find asked only of those who could be told "as usual").
        tell_each(conn, messages(decided, ahead.readings, ahead.prompted, stays, now=now))
        evaluation_queue.store_deadlines(conn, programme.fingerprint, deadlines)
    return results


def _rule_sets(
    programme: RuleSet,
    patients: Mapping[UUID, PatientToEvaluate],
    versions: Mapping[UUID, Sequence[OverridesVersion]],
) -> dict[UUID, tuple[RuleSet, tuple[int, ...]]]:
    """Each patient's effective rule set with the override versions it is made of; made once
    per distinct combination (a centre's patients without overrides of their own share one)."""
    made: dict[tuple[int, ...], RuleSet] = {}
    out: dict[UUID, tuple[RuleSet, tuple[int, ...]]] = {}
    for pid in patients:
        layers = versions.get(pid, [])
        key = tuple(version.id for version in layers)
        if key not in made:
            made[key] = effective_for(programme, layers)
        out[pid] = (made[key], key)
    return out


def _distinct(
    rule_sets: Mapping[UUID, tuple[RuleSet, tuple[int, ...]]],
) -> tuple[
    dict[tuple[int, ...], RuleSet], dict[tuple[int, ...], Judges], dict[tuple[int, ...], timedelta]
]:
    """The batch's distinct rule sets by their override versions, what judges a reading under
    each (``judged.Judges``) and the history each needs (``engine.required_history``)."""
    distinct = {key: rule_set for rule_set, key in rule_sets.values()}
    return (
        distinct,
        {key: Judges.of(rule_set) for key, rule_set in distinct.items()},
        {key: required_history(rule_set) for key, rule_set in distinct.items()},
    )


def _evaluate_groups(
    patients: Mapping[UUID, PatientToEvaluate],
    rule_sets: Mapping[UUID, tuple[RuleSet, tuple[int, ...]]],
    readings: Mapping[UUID, SeriesArrays],
    stays: Mapping[UUID, Sequence[Stay]],
    known: Mapping[UUID, Mapping[str, RuleAlert]],
    *,
    now: datetime,
) -> dict[UUID, tuple[Series, list[Finding], frozenset[str], dict[str, datetime | None]]]:
    """Per patient, her series (from her rule set's required history on), its findings, the
    missing rules whose unresolved alert they still bear out (``alerting.Live.borne_out``) and
    the newest reading of each missing rule's metric (``_newest_of_missing``):
    ``evaluate`` of each, run as one ``evaluate_cohort`` per group of patients sharing a rule
    set and a time zone. Only the findings ``decide`` reads are built: those its alerts
    (``known``) have not seen (``alerting.seen_until``); whether an unresolved missing alert
    is still borne out is read from the engine's columns, without building the findings of
    its window (evidence and sentences, for a silence of weeks one a day)."""
    out: dict[UUID, tuple[Series, list[Finding], frozenset[str], dict[str, datetime | None]]] = {}
    for (_, timezone), members in _groups(patients, rule_sets, patients).items():
        rule_set = rule_sets[members[0]][0]
        start_us = epoch_us(now - required_history(rule_set))
        cohort = [since_of(readings.get(pid, {}), start_us) for pid in members]
        columns = evaluate_cohort(
            rule_set,
            cohort,
            tz=ZoneInfo(timezone),
            now=now,
            paused=[patients[pid].paused for pid in members],
            stays=[stays.get(pid, []) for pid in members],
        )
        newest = [_newest_of_missing(rule_set, series) for series in cohort]
        found = columns.after(
            [
                _cutoffs(rule_set, known[pid], latest)
                for pid, latest in zip(members, newest, strict=True)
            ]
        )
        borne_out = columns.fired_within([_windows(rule_set, known[pid]) for pid in members])
        for pid, series, findings, borne, latest in zip(
            members, cohort, found, borne_out, newest, strict=True
        ):
            out[pid] = (series, findings, borne, latest)
    return out


def _groups(
    patients: Mapping[UUID, PatientToEvaluate],
    rule_sets: Mapping[UUID, tuple[RuleSet, tuple[int, ...]]],
    members: Iterable[UUID],
) -> dict[tuple[tuple[int, ...], str], list[UUID]]:
    """The ``members`` grouped by rule set (its override versions) and time zone: the patients
    who go through the engine together."""
    groups: dict[tuple[tuple[int, ...], str], list[UUID]] = {}
    for pid in members:
        groups.setdefault((rule_sets[pid][1], patients[pid].timezone), []).append(pid)
    return groups


def _cutoffs(
    rule_set: RuleSet,
    alerts: Mapping[str, RuleAlert],
    newest: Mapping[str, datetime | None],
) -> dict[str, int]:
    """Per rule, the fired_at (epoch µs) up to which ``decide`` passes over its findings: a
    missing-measurement rule's by its own newest alert and the newest reading of its metric
    (``newest``: a silence it ended opens nothing), a detection rule's by the patient's
    detection alert (``alerting.deterioration``); whether an unresolved missing alert is still
    borne out is given to ``decide`` apart (``_windows``, ``Live.borne_out``)."""
    rules = {rule.id: isinstance(rule, MissingRule) for rule in rule_set.enabled()}
    seen = seen_until_per_rule(alerts, rules, borne_out_given=True, newest=newest)
    return {rule_id: epoch_us(at) for rule_id, at in seen.items()}


def _windows(rule_set: RuleSet, alerts: Mapping[str, RuleAlert]) -> dict[str, tuple[int, int]]:
    """Per enabled missing rule with an unresolved alert, the fired_at (epoch µs, inclusive)
    within which one of its findings still bears that alert out (``alerting.bearing_window``)."""
    out: dict[str, tuple[int, int]] = {}
    for rule in rule_set.enabled():
        if isinstance(rule, MissingRule):
            window = bearing_window(alerts.get(rule.id))
            if window is not None:
                out[rule.id] = (epoch_us(window[0]), epoch_us(window[1]))
    return out


def evaluate_patient(
    conn: Conn,
    programme: RuleSet,
    patient_id: UUID,
    *,
    now: datetime,
    prompt: Prompted | None = None,
) -> Changes:
    """``evaluate_patients`` for one patient (nothing if there is none, or discharged)."""
    results = evaluate_patients(conn, programme, [Request(patient_id, prompt)], now=now)
    return results.get(patient_id, Changes())


def _news(rule_set: RuleSet, finding: Finding, change: AlertChange) -> AlertNews:
    rule = rule_set.rule(finding.rule_id) if finding.kind == "missing" else None
    metric = rule.metric if isinstance(rule, MissingRule) else None
    return AlertNews(finding.severity, change, missing_metric=metric)


def _live(
    newest: Mapping[str, datetime | None],
    *,
    now: datetime,
    start: datetime,
    paused: bool,
    history_until: datetime | None = None,
    stays: Sequence[Stay] = (),
    borne_out: frozenset[str] | None = None,
) -> Live:
    """What the decisions need beyond the findings: per enabled missing-measurement rule, the
    newest reading of its metric (``newest``, ``_newest_of_missing``); where the patient's
    imported history ends; the missing rules whose unresolved alert is still borne out
    (``alerting.Live``)."""
    # Alerts whose findings may lie before the history given are not judged: the margin is
    # longer than any silence a missing rule waits for.
    return Live(
        now=now,
        judged_from=start + LIVE_HISTORY_MARGIN,
        missing=newest,
        paused=paused,
        history_until=history_until,
        stays=stays,
        borne_out=borne_out,
    )


def _newest_of_missing(rule_set: RuleSet, series: Series) -> dict[str, datetime | None]:
    """Per enabled missing-measurement rule, the measured_at of the newest reading of its
    metric in ``series`` (None: none)."""
    newest: dict[str, datetime | None] = {}
    for rule in rule_set.enabled():
        if isinstance(rule, MissingRule):
            got = series.get(rule.metric)
            times = as_epoch_us(got[0]) if got is not None else None
            newest[rule.id] = utc(int(times.max())) if times is not None and times.size else None
    return newest


def _rule_alerts(newest: Sequence[AlertRow]) -> dict[str, RuleAlert]:
    """A patient's newest alert of each rule, as ``decide`` sees it."""
    return {
        row.rule_id: RuleAlert(
            AlertState(row.state),
            _severity(row.severity),
            row.last_fired_at,
            row.resolved_at,
            first_fired_at=row.first_fired_at,
            outcome=row.outcome,
            kind=row.rule_kind,
            rules=frozenset(row.evidence_rules),
        )
        for row in newest
    }


def _apply(
    conn: Conn,
    patient_id: UUID,
    rule_set: RuleSet,
    findings: Sequence[Finding],
    newest: Sequence[AlertRow],
    *,
    alerts: Mapping[str, RuleAlert],
    live: Live | None = None,
    written: _Written,
) -> tuple[Changes, dict[str, UUID]]:
    """Apply one patient's findings to its alerts (``newest``, and ``alerts`` as ``decide``
    sees them); the changes and its unresolved alerts. The alerts' inserts, raises and
    resolutions and their webhooks are written at once; their touches and events are added
    to ``written``, which the caller writes for the batch at its end."""
    unresolved = {row.rule_id: row.id for row in newest if row.state != "resolved"}
    resolved = {row.rule_id: row.id for row in newest if row.state == "resolved"}
    changes = Changes()
    for decision in decide(findings, alerts, live):
        if isinstance(decision, Resolve):
            alert_id = unresolved.pop(decision.rule_id)
            resolve_by_rules(conn, alert_id, READING_ARRIVED)
            resolved[decision.rule_id] = alert_id
            row = next(r for r in newest if r.id == alert_id)
            details = {
                "outcome": READING_ARRIVED,
                "reason": decision.reason,
                "fired_at": row.last_fired_at.isoformat(),
            }
            written.event(alert_id, "resolved", row.severity, details)
        elif isinstance(decision, Open):
            finding = decision.finding
            alert_id = insert_alert(conn, patient_id, rule_set.name, _content(finding))
            unresolved[finding.rule_id] = alert_id
            _announce(conn, written, alert_id, finding, kind="opened", event="alert.opened")
            changes.add_news(alert_id, _news(rule_set, finding, "opened"))
            changes.opened.append(finding.severity)
        elif isinstance(decision, Raise):
            finding = decision.finding
            alert_id = unresolved[decision.alert_rule]
            own = finding.rule_id == decision.alert_rule
            if own:
                raise_alert(conn, alert_id, _content(finding))
            else:  # another rule's finding: the alert keeps its evidence, the event has this
                raise_alert_severity(conn, alert_id, finding.severity, finding.fired_at)
            _announce(
                conn,
                written,
                alert_id,
                finding,
                kind="severity_raised",
                event="alert.severity_raised",
                evidence=not own,
            )
            changes.add_news(alert_id, _news(rule_set, finding, "severity_raised"))
            changes.raised.append(finding.severity)
        elif isinstance(decision, AddEvidence):
            finding = decision.finding
            alert_id = unresolved[decision.alert_rule]
            written.touch(alert_id, finding.fired_at)
            written.event(alert_id, "evidence_added", finding.severity, _evidence_details(finding))
        elif isinstance(decision, Touch):
            target = unresolved.get(decision.alert_rule) or resolved[decision.alert_rule]
            written.touch(target, decision.fired_at)
    return changes, unresolved


def _evidence_details(finding: Finding) -> dict[str, Any]:
    """What an alert's event records of another rule's finding: the rule, when it fired, its
    evidence and its sentences (the alert's history shows them, hemkoll.api.console)."""
    return {
        "fired_at": finding.fired_at.isoformat(),
        "rule_id": finding.rule_id,
        "rule_kind": finding.kind,
        "evidence": dict(finding.evidence),
        "explanation_en": finding.explanation_en,
        "explanation_sv": finding.explanation_sv,
    }


def _announce(
    conn: Conn,
    written: _Written,
    alert_id: UUID,
    finding: Finding,
    *,
    kind: str,
    event: AlertEvent,
    evidence: bool = False,
) -> None:
    """The alert's event in its log (with the finding's evidence when ``evidence``: another
    rule's), and its webhook to the health centre in the outbox."""
    details = _evidence_details(finding) if evidence else {"fired_at": finding.fired_at.isoformat()}
    written.event(alert_id, kind, finding.severity, details)
    notifications.enqueue_alert_webhook(conn, alert_id, event=event)
    written.webhooks += 1
