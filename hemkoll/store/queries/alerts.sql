-- name: alert_history_of_patients
-- Per patient and rule: the newest alert (unresolved if any), for the alerting decisions, with
-- the other rules whose evidence it carries (their events' rule_id: hemkoll.rules.alerting).
SELECT n.patient_id, n.id, n.rule_id, n.state, n.severity, n.first_fired_at, n.last_fired_at,
       n.resolved_at, n.outcome, n.rule_kind,
       ARRAY(SELECT DISTINCT e.details ->> 'rule_id' FROM alert_events AS e
             WHERE e.alert_id = n.id AND e.kind IN ('evidence_added', 'severity_raised')
               AND e.details ? 'rule_id') AS evidence_rules
FROM (
    SELECT DISTINCT ON (patient_id, rule_id)
        patient_id, id, rule_id, state, severity, first_fired_at, last_fired_at, resolved_at,
        outcome, rule_kind
    FROM alerts
    WHERE patient_id = ANY(%(patient_ids)s::uuid[])
    ORDER BY patient_id, rule_id, (state <> 'resolved') DESC, last_fired_at DESC
) AS n;

-- name: insert_alert
-- The id is the caller's (a random UUID, as gen_random_uuid would make): nothing comes back,
-- so the rules worker's pipeline of writes does not wait for this one.
INSERT INTO alerts
    (id, patient_id, rule_id, rule_kind, rule_set, severity, first_fired_at, last_fired_at,
     evidence, explanation_en, explanation_sv)
VALUES
    (%(id)s, %(patient_id)s, %(rule_id)s, %(rule_kind)s, %(rule_set)s, %(severity)s,
     %(fired_at)s, %(fired_at)s, %(evidence)s, %(explanation_en)s, %(explanation_sv)s);

-- name: raise_alert
UPDATE alerts
SET severity = %(severity)s, severity_since = now(), last_fired_at = %(fired_at)s,
    evidence = %(evidence)s,
    explanation_en = %(explanation_en)s, explanation_sv = %(explanation_sv)s
WHERE id = %(alert_id)s AND state <> 'resolved';

-- name: raise_alert_severity
-- A more severe finding of another rule: the alert keeps its own evidence and sentences (the
-- finding's are in its severity_raised event).
UPDATE alerts
SET severity = %(severity)s, severity_since = now(),
    last_fired_at = greatest(last_fired_at, %(fired_at)s)
WHERE id = %(alert_id)s AND state <> 'resolved';

-- name: touch_alerts
-- A batch's touches in one statement: each alert's last_fired_at moved on to the newest
-- finding recorded on it (one alert once, with its newest; the first evaluation of a history
-- touched 8,000 alerts one statement each).
UPDATE alerts AS a SET last_fired_at = greatest(a.last_fired_at, t.fired_at)
FROM unnest(%(alert_ids)s::uuid[], %(fired_at)s::timestamptz[]) AS t (id, fired_at)
WHERE a.id = t.id;

-- name: resolve_alert_by_rules
-- A missing-measurement alert the readings no longer bear out (hemkoll.rules.alerting.Resolve).
UPDATE alerts SET state = 'resolved', resolved_at = now(), outcome = %(outcome)s
WHERE id = %(alert_id)s AND state <> 'resolved';

-- name: worklist
-- A care unit's alerts, most severe first, then oldest first; keyset-paged on
-- (severity_order, opened_at, id). patient_ids: the patients the access decision lets the
-- caller see (0020); of those another unit's, only the escalated alerts (a home-care unit
-- takes over what the health centre did not acknowledge in time).
SELECT a.id, a.patient_id, p.reference AS patient_reference, a.rule_id, a.rule_kind, a.rule_set,
       a.state, a.severity, CASE a.severity WHEN 'red' THEN 0 ELSE 1 END AS severity_order,
       a.opened_at, a.severity_since, a.first_fired_at, a.last_fired_at, a.acknowledged_at,
       a.resolved_at, a.outcome, a.assigned_to, a.escalated_at, a.explanation_en,
       a.explanation_sv
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE a.patient_id = ANY(%(patient_ids)s::uuid[])
  AND (p.health_centre_id = %(health_centre_id)s OR a.escalated_at IS NOT NULL)
  AND a.state = ANY(%(states)s)
  AND (%(severity)s::text IS NULL OR a.severity = %(severity)s)
  AND (%(patient_id)s::uuid IS NULL OR a.patient_id = %(patient_id)s)
  AND (%(assigned_to)s::uuid IS NULL OR a.assigned_to = %(assigned_to)s)
  AND (NOT %(unassigned)s OR a.assigned_to IS NULL)
  AND (%(rule_id)s::text IS NULL OR a.rule_id = %(rule_id)s)
  AND (%(rule_kind)s::text IS NULL OR a.rule_kind = %(rule_kind)s)
  AND (%(after_order)s::integer IS NULL
       OR (CASE a.severity WHEN 'red' THEN 0 ELSE 1 END, a.opened_at, a.id)
          > (%(after_order)s, %(after_opened_at)s, %(after_id)s))
ORDER BY severity_order, a.opened_at, a.id
LIMIT %(limit)s;

-- name: alert_in_scope
SELECT a.id, a.patient_id, p.reference AS patient_reference, p.health_centre_id, a.rule_id,
       a.rule_kind, a.rule_set, a.state, a.severity, a.opened_at, a.severity_since,
       a.first_fired_at, a.last_fired_at, a.acknowledged_at, a.resolved_at, a.outcome,
       a.assigned_to, a.escalated_at, a.evidence, a.explanation_en, a.explanation_sv
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE a.id = %(alert_id)s
  AND (%(health_centre_id)s::uuid IS NULL OR p.health_centre_id = %(health_centre_id)s);

-- name: patient_alerts
-- A patient's alerts opened in [since, until) in any state, and those opened before it that are
-- still unresolved, oldest first: the markers and explanations of the console's patient page
-- and threshold backtest.
SELECT a.id, a.patient_id, p.reference AS patient_reference, p.health_centre_id, a.rule_id,
       a.rule_kind, a.rule_set, a.state, a.severity, a.opened_at, a.severity_since,
       a.first_fired_at, a.last_fired_at, a.acknowledged_at, a.resolved_at, a.outcome,
       a.assigned_to, a.escalated_at, a.evidence, a.explanation_en, a.explanation_sv
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE a.patient_id = %(patient_id)s
  AND (a.opened_at >= %(since)s OR a.state <> 'resolved')
  AND a.opened_at < %(until)s
ORDER BY a.opened_at, a.id;

-- name: flag_alert_in_scope
-- One alert as the FHIR API's Flag reads it: with its centre's name and when it last changed.
SELECT a.id, a.patient_id, p.health_centre_id, hc.name AS centre_name, a.rule_id, a.rule_kind,
       a.state, a.severity, a.opened_at, a.resolved_at, a.explanation_en,
       greatest(a.opened_at, a.severity_since, a.acknowledged_at, a.resolved_at,
                a.escalated_at) AS updated_at
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
JOIN health_centres AS hc ON hc.id = p.health_centre_id
WHERE a.id = %(alert_id)s
  AND (%(health_centre_id)s::uuid IS NULL OR p.health_centre_id = %(health_centre_id)s);

-- name: flag_alerts_page
-- A patient's alerts for the FHIR API's Flag search, oldest opened first, keyset-paged on
-- (opened_at, id); states and last change in [updated_since, updated_until).
SELECT a.id, a.patient_id, p.health_centre_id, hc.name AS centre_name, a.rule_id, a.rule_kind,
       a.state, a.severity, a.opened_at, a.resolved_at, a.explanation_en,
       greatest(a.opened_at, a.severity_since, a.acknowledged_at, a.resolved_at,
                a.escalated_at) AS updated_at
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
JOIN health_centres AS hc ON hc.id = p.health_centre_id
WHERE a.patient_id = %(patient_id)s
  AND a.state = ANY(%(states)s::text[])
  AND greatest(a.opened_at, a.severity_since, a.acknowledged_at, a.resolved_at, a.escalated_at)
      >= %(updated_since)s
  AND greatest(a.opened_at, a.severity_since, a.acknowledged_at, a.resolved_at, a.escalated_at)
      < %(updated_until)s
  AND (%(after_opened_at)s::timestamptz IS NULL
       OR (a.opened_at, a.id) > (%(after_opened_at)s::timestamptz, %(after_id)s::uuid))
ORDER BY a.opened_at, a.id
LIMIT %(limit)s;

-- name: alerts_evidence_readings
-- The readings that triggered each of the alerts (migration 0018: alert_evidence_readings).
SELECT t.alert_id, e.metric, e.value, e.measured_at, e.device_id, e.received_at
FROM unnest(%(alert_ids)s::uuid[]) AS t (alert_id)
CROSS JOIN LATERAL alert_evidence_readings(t.alert_id) AS e
ORDER BY t.alert_id, e.measured_at, e.metric, e.device_id;

-- name: plan_alert_writes_afresh
-- For the rest of the caller's transaction, until plan_writes_as_usual: each statement planned
-- for the tables as they are now. A plan cached while the alerts and notifications tables were
-- nearly empty (a new deployment's first evaluation, the first after a history import) scans
-- them whole for each alert written and for each foreign-key check of the alert's event and
-- notification: bench/worker_throughput.py's first evaluation spent 26 s of PostgreSQL CPU on
-- 3,909 alerts so, 7.4 s with this.
SET LOCAL plan_cache_mode = force_custom_plan;

-- name: plan_writes_as_usual
SET LOCAL plan_cache_mode = auto;

-- name: centre_unresolved_alerts
-- A health centre's worklist as a simulated nurse works it: each unresolved alert, its state
-- and when its first finding fired (what a backtest calls its opening), oldest first.
SELECT a.id, a.state, a.first_fired_at
FROM alerts a JOIN patients p ON p.id = a.patient_id
WHERE p.health_centre_id = %(centre)s AND a.state <> 'resolved'
ORDER BY a.first_fired_at, a.id;
