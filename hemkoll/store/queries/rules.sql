-- name: claim_evaluations
-- Lease up to %(limit)s due patients; a lease that runs out (its worker died) is claimed again.
UPDATE evaluation_queue AS q
SET lease_until = clock_timestamp() + make_interval(secs => %(lease_s)s),
    attempts = q.attempts + 1
FROM (
    SELECT patient_id FROM evaluation_queue
    WHERE (lease_until IS NULL OR lease_until < clock_timestamp())
      AND not_before <= clock_timestamp()
    ORDER BY requested_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS due
WHERE q.patient_id = due.patient_id
RETURNING q.patient_id, q.generation, q.attempts, q.feedback_devices;

-- name: finish_evaluation
-- Done: drop the row unless the patient was requested again meanwhile (its generation moved);
-- then it stays, without its lease and without the devices already answered.
WITH done AS (
    DELETE FROM evaluation_queue
    WHERE patient_id = %(patient_id)s AND generation = %(generation)s
    RETURNING patient_id
)
UPDATE evaluation_queue
SET lease_until = NULL, attempts = 0, last_error = NULL,
    feedback_devices = ARRAY(SELECT unnest(feedback_devices)
                             EXCEPT SELECT unnest(%(feedback_devices)s::uuid[]))
WHERE patient_id = %(patient_id)s AND NOT EXISTS (SELECT 1 FROM done);

-- name: postpone_evaluation
UPDATE evaluation_queue
SET lease_until = NULL,
    not_before = clock_timestamp() + make_interval(secs => %(delay_s)s),
    last_error = %(error)s
WHERE patient_id = %(patient_id)s;

-- name: enqueue_all_monitored_patients
-- The scheduled pass for time-based rules (missing measurements): idempotent, so every
-- replica may run it.
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT id, clock_timestamp() FROM patients WHERE discharged_at IS NULL
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1;

-- name: patients_for_evaluation
-- Locks the patients of a batch for its transaction, in id order (two workers locking
-- overlapping batches cannot deadlock); discharged patients are not evaluated any more.
SELECT id, timezone, monitoring_paused_since IS NOT NULL AS paused
FROM patients
WHERE id = ANY(%(patient_ids)s::uuid[]) AND discharged_at IS NULL
ORDER BY id
FOR UPDATE;

-- name: readings_of_patients_between
SELECT patient_id, metric, measured_at, value
FROM readings
WHERE patient_id = ANY(%(patient_ids)s::uuid[])
  AND measured_at >= %(since)s AND measured_at <= %(until)s
ORDER BY patient_id, metric, measured_at;

-- name: alert_history_of_patients
-- Per patient and rule: the newest alert (unresolved if any), for the alerting decisions.
SELECT DISTINCT ON (patient_id, rule_id)
    patient_id, id, rule_id, state, severity, first_fired_at, last_fired_at, resolved_at
FROM alerts
WHERE patient_id = ANY(%(patient_ids)s::uuid[])
ORDER BY patient_id, rule_id, (state <> 'resolved') DESC, last_fired_at DESC;

-- name: insert_alert
INSERT INTO alerts
    (patient_id, rule_id, rule_kind, rule_set, severity, first_fired_at, last_fired_at,
     evidence, explanation_en, explanation_sv)
VALUES
    (%(patient_id)s, %(rule_id)s, %(rule_kind)s, %(rule_set)s, %(severity)s, %(fired_at)s,
     %(fired_at)s, %(evidence)s, %(explanation_en)s, %(explanation_sv)s)
RETURNING id;

-- name: raise_alert
UPDATE alerts
SET severity = %(severity)s, severity_since = now(), last_fired_at = %(fired_at)s,
    evidence = %(evidence)s,
    explanation_en = %(explanation_en)s, explanation_sv = %(explanation_sv)s
WHERE id = %(alert_id)s AND state <> 'resolved';

-- name: touch_alert
UPDATE alerts SET last_fired_at = greatest(last_fired_at, %(fired_at)s) WHERE id = %(alert_id)s;

-- name: insert_alert_event
INSERT INTO alert_events (alert_id, kind, severity, actor, details)
VALUES (%(alert_id)s, %(kind)s, %(severity)s, %(actor)s, %(details)s);

-- name: readings_between
SELECT metric, measured_at, value
FROM readings
WHERE patient_id = %(patient_id)s AND measured_at >= %(since)s AND measured_at <= %(until)s
ORDER BY metric, measured_at;

-- name: patient_timezone
SELECT id, timezone, monitoring_paused_since IS NOT NULL AS paused
FROM patients WHERE id = %(patient_id)s;

-- name: pause_monitoring
UPDATE patients SET monitoring_paused_since = coalesce(monitoring_paused_since, now())
WHERE id = %(patient_id)s RETURNING id;

-- name: resume_monitoring
UPDATE patients SET monitoring_paused_since = NULL WHERE id = %(patient_id)s RETURNING id;

-- name: acknowledge_alert
UPDATE alerts SET state = 'acknowledged', acknowledged_at = now()
WHERE id = %(alert_id)s AND state = 'open'
RETURNING id, severity, patient_id;

-- name: resolve_alert
UPDATE alerts
SET state = 'resolved', resolved_at = now(), outcome = %(outcome)s,
    acknowledged_at = coalesce(acknowledged_at, now())
WHERE id = %(alert_id)s AND state IN ('open', 'acknowledged')
RETURNING id, severity;

-- name: alert_state
SELECT state FROM alerts WHERE id = %(alert_id)s;

-- name: evaluation_queue_backlog
-- For the metrics: patients waiting, and the age of the oldest request (seconds).
SELECT count(*)::integer,
       extract(epoch FROM clock_timestamp() - min(requested_at))::double precision
FROM evaluation_queue;
