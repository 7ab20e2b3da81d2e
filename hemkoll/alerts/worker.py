"""The rules worker: evaluates patients from the queue and turns findings into alerts.

The ingest service queues every patient whose readings it commits (in the same transaction)
and NOTIFYs ``hemkoll_evaluate``; a scheduled pass (APScheduler) queues every patient for the
time-based rules. The worker claims due patients with a lease (several workers may run), and
evaluates each in one transaction that holds the patient's row lock: it reads the recent
readings, runs the engine (``evaluate``, the same code path as a backtest), applies
``alerting.decide`` and removes the patient from the queue. A failure rolls all of that back,
is logged (the error's class, never patient data) and is retried with backoff.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg

from hemkoll.alerts.configuration import effective_for
from hemkoll.alerts.patient_messages import (
    AlertChange,
    AlertNews,
    PatientMessage,
    after_evaluation,
    tell,
    tell_each,
)
from hemkoll.backoff import Backoff
from hemkoll.observability import metrics
from hemkoll.observability.health import Heartbeat
from hemkoll.observability.periodic import PeriodicJob, start_jobs
from hemkoll.protocol.measurements import METRICS
from hemkoll.rules.alerting import (
    READING_ARRIVED,
    AlertState,
    Live,
    Open,
    Raise,
    Resolve,
    RuleAlert,
    Touch,
    decide,
)
from hemkoll.rules.config import MissingRule, RuleSet, Severity
from hemkoll.rules.engine import LIVE_HISTORY_MARGIN, evaluate, required_history
from hemkoll.rules.findings import Finding, utc
from hemkoll.rules.judged import verdict
from hemkoll.rules.series import Series, as_epoch_us, series_from_rows
from hemkoll.rules.stays import DISCHARGE_GRACE, silent_at
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
    raise_alert,
    resolve_by_rules,
    touch_alert,
)
from hemkoll.store.connect import Conn, connect, serve_until_stopped
from hemkoll.store.listen import listening
from hemkoll.store.notifications import AlertEvent
from hemkoll.store.patients import lock_patients
from hemkoll.store.readings import (
    Prompted,
    readings_of_patients_between,
    readings_received_since,
)

log = logging.getLogger(__name__)

# Patients claimed per round: enough to amortise the claim, few enough that a lease (below)
# is never near running out while the round is evaluated (about 2 ms a patient).
CLAIM_BATCH = 50
# A claim's lease. Should its worker die, another claims the patient after this long.
LEASE_S = 60.0
# With nothing queued, the worker waits this long for a NOTIFY before it looks again (the
# queue is the truth; a NOTIFY only shortens the wait).
IDLE_WAIT_S = 5.0
# Missing-measurement rules are measured in hours (48 h without a weight, by noon); queueing
# every patient every 15 minutes finds a passed deadline within a quarter of an hour.
SCHEDULE_INTERVAL_S = 15 * 60
# The scheduled pass's name in /healthz, the logs and hemkoll_periodic_job_* metrics.
SCHEDULED_EVALUATION_JOB = "scheduled_evaluation"
# Retry of a failed evaluation: 5 s doubling per attempt up to an hour, jittered so that the
# patients that failed together (a bad deployment, say) spread out again.
EVALUATION_RETRY = Backoff(first_s=5.0, max_s=3600.0)
ACTOR = "rules"
# Transaction failures that are not outages: the batch is tried again patient by patient.
ROLLED_BACK = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)


@dataclass(frozen=True)
class RulesConfig:
    database_url: str
    rule_set: RuleSet


def retry_delay_s(attempts: int) -> float:
    return EVALUATION_RETRY.delay(attempts, random.random())  # noqa: S311 (jitter, not a secret)


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


@dataclass(frozen=True)
class Request:
    """A patient to evaluate, and the readings that prompted it (their devices get feedback)."""

    patient_id: UUID
    prompt: Prompted | None = None


def request_of(claimed: evaluation_queue.Claim) -> Request:
    since, oldest = claimed.feedback_since, claimed.feedback_oldest
    if not claimed.feedback_devices or since is None or oldest is None:
        return Request(claimed.patient_id)
    return Request(
        claimed.patient_id, Prompted(claimed.patient_id, claimed.feedback_devices, since, oldest)
    )


def evaluate_patients(
    conn: Conn, programme: RuleSet, requests: Sequence[Request], *, now: datetime
) -> dict[UUID, Changes]:
    """Evaluate a batch of patients and apply the findings to their alerts; the caller's
    transaction, which holds the patients' row locks.

    Each patient's rules are the programme with their stored overrides (``configuration``).
    The batch is read in a few statements (patients, overrides, readings, hospital stays,
    alerts) rather than
    a few per patient: round trips and commits, not the engine, are what an evaluation costs.
    Every new alert and raised severity is logged and queued for the centre's webhook and the
    patient is told, in this same transaction (the outbox): of the most pressing alert, on all
    her devices; or, when nothing opened, on the devices whose readings prompted the
    evaluation, what the enabled rules made of those readings (``patient_messages``). Returns,
    per patient, the alerts opened and raised.
    """
    ids = sorted({r.patient_id for r in requests})
    patients = {p.id: p for p in lock_patients(conn, ids)}
    if not patients:
        return {}
    versions = rule_overrides.current_overrides_of(conn, list(patients))
    rule_sets = {pid: effective_for(programme, versions.get(pid, [])) for pid in patients}
    since = now - max(required_history(rule_set) for rule_set in rule_sets.values())
    readings = readings_of_patients_between(conn, list(patients), since, now)
    stays = hospital_stays.stays_of_patients(
        conn, list(patients), since, now, grace=DISCHARGE_GRACE
    )
    prompts = [r.prompt for r in requests if r.prompt is not None and r.patient_id in patients]
    prompted = readings_received_since(conn, prompts, list(METRICS))
    newest = newest_alerts(conn, list(patients))
    results: dict[UUID, Changes] = {}
    told: list[tuple[UUID, Sequence[UUID], PatientMessage]] = []
    for request in requests:
        patient = patients.get(request.patient_id)
        if patient is None or patient.id in results:
            continue
        rule_set = rule_sets[patient.id]
        start = now - required_history(rule_set)
        rows = [row for row in readings.get(patient.id, []) if row[1] >= start]
        series = series_from_rows(rows)
        in_hospital = stays.get(patient.id, [])
        findings = evaluate(
            rule_set,
            series,
            tz=ZoneInfo(patient.timezone),
            now=now,
            paused=patient.paused,
            stays=in_hospital,
        )
        # In hospital now, or within the grace after: the missing rules have no findings, so
        # an open reminder (a silence before the stay was recorded) is not "borne out" any
        # more; a reading did not end it, so it is left as it is, as while paused.
        paused = patient.paused or silent_at(in_hospital, now)
        live = _live(rule_set, series, now=now, start=start, paused=paused)
        changes, unresolved = _apply(
            conn, patient.id, rule_set, findings, newest.get(patient.id, []), live=live
        )
        results[patient.id] = changes
        judged = [
            (metric, verdict(rule_set, metric, value))
            for metric, value in prompted.get(patient.id, [])
        ]
        if changes.news is None and request.prompt is None:
            continue  # a scheduled pass that changed nothing: nothing to tell
        message = after_evaluation(
            changes.news[1] if changes.news is not None else None,
            judged,
            rule_set.advice,
            phone=patient.centre_phone,
            all_judged_live=request.prompt is None or request.prompt.oldest >= start,
            followed_up=bool(unresolved),
        )
        if changes.news is not None:
            tell(conn, patient.id, message, alert_id=changes.news[0])
        elif request.prompt is not None:
            told.append((patient.id, request.prompt.device_ids, message))
    tell_each(conn, told)
    return results


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
    rule_set: RuleSet, series: Series, *, now: datetime, start: datetime, paused: bool
) -> Live:
    """What the decisions need beyond the findings: per enabled missing-measurement rule, the
    newest reading of its metric (``alerting.Live``)."""
    newest: dict[str, datetime | None] = {}
    for rule in rule_set.enabled():
        if isinstance(rule, MissingRule):
            got = series.get(rule.metric)
            times = as_epoch_us(got[0]) if got is not None else None
            newest[rule.id] = utc(int(times.max())) if times is not None and times.size else None
    # Alerts whose findings may lie before the history given are not judged: the margin is
    # longer than any silence a missing rule waits for.
    return Live(now=now, judged_from=start + LIVE_HISTORY_MARGIN, missing=newest, paused=paused)


def _apply(
    conn: Conn,
    patient_id: UUID,
    rule_set: RuleSet,
    findings: Sequence[Finding],
    newest: Sequence[AlertRow],
    *,
    live: Live | None = None,
) -> tuple[Changes, dict[str, UUID]]:
    """Apply one patient's findings to its alerts; the changes and its unresolved alerts."""
    alerts = {
        row.rule_id: RuleAlert(
            AlertState(row.state),
            _severity(row.severity),
            row.last_fired_at,
            row.resolved_at,
            first_fired_at=row.first_fired_at,
            outcome=row.outcome,
        )
        for row in newest
    }
    unresolved = {row.rule_id: row.id for row in newest if row.state != "resolved"}
    resolved = {row.rule_id: row.id for row in newest if row.state == "resolved"}
    changes = Changes()
    for decision in decide(findings, alerts, live):
        if isinstance(decision, Resolve):
            alert_id = unresolved.pop(decision.rule_id)
            resolve_by_rules(conn, alert_id, READING_ARRIVED)
            resolved[decision.rule_id] = alert_id
            row = next(r for r in newest if r.id == alert_id)
            alert_actions.insert_event(
                conn,
                alert_id,
                kind="resolved",
                severity=row.severity,
                actor=ACTOR,
                details={
                    "outcome": READING_ARRIVED,
                    "reason": decision.reason,
                    "fired_at": row.last_fired_at.isoformat(),
                },
            )
        elif isinstance(decision, Open):
            finding = decision.finding
            alert_id = insert_alert(conn, patient_id, rule_set.name, _content(finding))
            unresolved[finding.rule_id] = alert_id
            _announce(conn, alert_id, finding, kind="opened", event="alert.opened")
            changes.add_news(alert_id, _news(rule_set, finding, "opened"))
            changes.opened.append(finding.severity)
        elif isinstance(decision, Raise):
            finding = decision.finding
            alert_id = unresolved[finding.rule_id]
            raise_alert(conn, alert_id, _content(finding))
            _announce(
                conn, alert_id, finding, kind="severity_raised", event="alert.severity_raised"
            )
            changes.add_news(alert_id, _news(rule_set, finding, "severity_raised"))
            changes.raised.append(finding.severity)
        elif isinstance(decision, Touch):
            target = unresolved.get(decision.rule_id) or resolved[decision.rule_id]
            touch_alert(conn, target, decision.fired_at)
    return changes, unresolved


def _announce(
    conn: Conn, alert_id: UUID, finding: Finding, *, kind: str, event: AlertEvent
) -> None:
    """The alert's event in its log, and its webhook to the health centre in the outbox."""
    alert_actions.insert_event(
        conn,
        alert_id,
        kind=kind,
        severity=finding.severity,
        actor=ACTOR,
        details={"fired_at": finding.fired_at.isoformat()},
    )
    notifications.enqueue_alert_webhook(conn, alert_id, event=event)


class RulesWorker:
    def __init__(self, config: RulesConfig, heartbeat: Heartbeat | None = None) -> None:
        self._config = config
        self.heartbeat = heartbeat or Heartbeat()
        self.scheduled_pass = PeriodicJob(
            SCHEDULED_EVALUATION_JOB, self.schedule_all, SCHEDULE_INTERVAL_S
        )
        self._stopping = threading.Event()
        self.evaluated = 0
        self.failed = 0

    def stop(self) -> None:
        self._stopping.set()

    def process_due(self, conn: Conn) -> int:
        """Claim and evaluate due patients until none are left; returns how many were done."""
        done = 0
        while not self._stopping.is_set():
            self.heartbeat.beat()  # a long backlog is work, not a stall
            claims = evaluation_queue.claim(conn, limit=CLAIM_BATCH, lease_s=LEASE_S)
            if not claims:
                return done
            self._evaluate_batch(conn, claims)
            done += len(claims)
        return done

    def _evaluate_batch(self, conn: Conn, claims: Sequence[evaluation_queue.Claim]) -> None:
        """The claims in one transaction; should it fail, each on its own, so that one
        patient's failure (retried with backoff) does not hold up the others."""
        try:
            with conn.transaction():
                results = evaluate_patients(
                    conn,
                    self._config.rule_set,
                    [request_of(c) for c in claims],
                    now=datetime.now(UTC),
                )
                evaluation_queue.finish(conn, claims)
        except Exception as exc:
            # An outage is waited out by the caller; anything else, a deadlock or a
            # serialization failure included, is this batch's: each patient is tried on its own.
            rolled_back = isinstance(exc, ROLLED_BACK)
            if isinstance(exc, psycopg.OperationalError) and not rolled_back:
                raise
            log.warning(
                "evaluating a batch of %d failed (%s); evaluating them one by one",
                len(claims),
                type(exc).__name__,
            )
            for claimed in claims:
                self._evaluate_claimed(conn, claimed)
            return
        for claimed in claims:
            self._evaluated(results.get(claimed.patient_id, Changes()))

    def _evaluated(self, changes: Changes) -> None:
        self.evaluated += 1
        metrics.EVALUATIONS.inc()
        for severity in changes.opened:
            metrics.ALERTS_OPENED.labels(severity).inc()
        for severity in changes.raised:
            metrics.ALERTS_RAISED.labels(severity).inc()

    def _evaluate_claimed(self, conn: Conn, claimed: evaluation_queue.Claim) -> None:
        try:
            with conn.transaction():
                changes = evaluate_patient(
                    conn,
                    self._config.rule_set,
                    claimed.patient_id,
                    now=datetime.now(UTC),
                    prompt=request_of(claimed).prompt,
                )
                evaluation_queue.finish(conn, [claimed])
            self._evaluated(changes)
        except Exception as exc:  # kept, logged and retried; never swallowed
            # An outage is waited out by the caller; a deadlock or a serialization failure
            # (OperationalErrors too) is this patient's, retried with backoff like any error.
            if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, ROLLED_BACK):
                raise
            self.failed += 1
            metrics.EVALUATION_FAILURES.inc()
            delay = retry_delay_s(claimed.attempts)
            log.error(  # noqa: TRY400 (a traceback could quote patient data)
                "evaluation of a patient failed (%s, attempt %d); retrying in %.0f s",
                type(exc).__name__,
                claimed.attempts,
                delay,
            )
            evaluation_queue.postpone(
                conn, claimed.patient_id, delay_s=delay, error=type(exc).__name__
            )

    def run(self) -> None:
        """Evaluate as patients are queued, until ``stop()``; reconnects with backoff."""
        scheduler = start_jobs(self.heartbeat, self.scheduled_pass)
        try:
            serve_until_stopped(self._serve, self._stopping, "rules worker")
        finally:
            scheduler.shutdown(wait=False)

    def _serve(self) -> None:
        with (
            connect(self._config.database_url) as conn,
            listening(self._config.database_url, evaluation_queue.EVALUATE_CHANNEL) as listener,
        ):
            log.info("rules worker ready (rule set %s)", self._config.rule_set.name)
            while not self._stopping.is_set():
                self.heartbeat.beat()
                self.process_due(conn)
                listener.wait(IDLE_WAIT_S)

    def schedule_all(self) -> None:
        """Queue every patient for the time-based rules (idempotent: any replica may run it)."""
        with connect(self._config.database_url) as conn:
            queued = evaluation_queue.enqueue_all(conn)
            evaluation_queue.notify_workers(conn)
            conn.commit()
        log.info("scheduled evaluation of %d patients", queued)
