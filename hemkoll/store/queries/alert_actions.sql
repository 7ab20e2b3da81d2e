-- name: insert_alert_events
-- Events appended in the order given (their ids, and so their order in an alert's history,
-- follow it): one statement for all of a batch's (the rules worker's evaluations).
INSERT INTO alert_events (alert_id, kind, severity, actor, details)
SELECT e.alert_id, e.kind, e.severity, e.actor, e.details
FROM unnest(%(alert_ids)b::uuid[], %(kinds)b::text[], %(severities)b::text[],
            %(actors)b::text[], %(details)b::jsonb[])
     WITH ORDINALITY AS e(alert_id, kind, severity, actor, details, n)
ORDER BY e.n;

-- name: alert_events
SELECT id, at, kind, severity, actor, details
FROM alert_events
WHERE alert_id = %(alert_id)s
ORDER BY at, id;

-- name: acknowledge_alert
-- %(at)s: when (NULL: now; a replay's simulated nurse acts at her simulated time).
UPDATE alerts SET state = 'acknowledged', acknowledged_at = coalesce(%(at)s::timestamptz, now())
WHERE id = %(alert_id)s AND state = 'open'
RETURNING id, severity, patient_id;

-- name: resolve_alert
-- %(at)s: as acknowledge_alert's.
UPDATE alerts
SET state = 'resolved', resolved_at = coalesce(%(at)s::timestamptz, now()),
    outcome = %(outcome)s,
    acknowledged_at = coalesce(acknowledged_at, %(at)s::timestamptz, now())
WHERE id = %(alert_id)s AND state IN ('open', 'acknowledged')
RETURNING id, severity;

-- name: alert_patient
SELECT patient_id FROM alerts WHERE id = %(alert_id)s;

-- name: alert_state
SELECT state FROM alerts WHERE id = %(alert_id)s;

-- name: assign_alert
UPDATE alerts SET assigned_to = %(staff_id)s
WHERE id = %(alert_id)s AND state <> 'resolved'
RETURNING id;

-- name: lock_due_escalations
-- Red alerts still open and not escalated whose centre's escalate_after has passed since they
-- turned red, and that someone else can take: the centre's escalation endpoint, or another
-- unit of her care team that sees her (shares_with_care_team); locked for this transaction.
-- The due ones are found first (due: the partial index alerts_escalation_due_idx), and only
-- they are asked about the care team: the planner put the function before the time and asked
-- it of every red alert still open. SKIP LOCKED: another scheduler (or a nurse
-- acknowledging) holds the rest; once it commits they no longer qualify, or the next pass
-- takes them.
WITH due AS MATERIALIZED (
    SELECT a.id, p.id AS patient_id, hc.id AS health_centre_id, hc.escalation_contact,
           hc.escalate_after, hc.escalation_url IS NOT NULL AS has_endpoint
    FROM alerts AS a
    JOIN patients AS p ON p.id = a.patient_id
    JOIN health_centres AS hc ON hc.id = p.health_centre_id
    WHERE a.state = 'open' AND a.severity = 'red' AND a.escalated_at IS NULL
      AND a.severity_since + hc.escalate_after <= %(now)s
)
SELECT a.id AS alert_id, due.health_centre_id, due.escalation_contact, due.escalate_after,
       due.has_endpoint, shares_with_care_team(due.patient_id, %(now)s) AS to_care_team
FROM due
JOIN alerts AS a ON a.id = due.id
WHERE a.state = 'open' AND a.severity = 'red' AND a.escalated_at IS NULL
  AND (due.has_endpoint OR shares_with_care_team(due.patient_id, %(now)s))
ORDER BY a.severity_since
FOR UPDATE OF a SKIP LOCKED;

-- name: mark_alert_escalated
UPDATE alerts SET escalated_at = %(now)s
WHERE id = %(alert_id)s AND state = 'open' AND severity = 'red' AND escalated_at IS NULL
RETURNING id;

-- name: escalations_without_endpoint
-- Red alerts due for escalation with nowhere to go: no endpoint at her centre and nobody else
-- in her care team who sees her. Not escalated, but counted so that the scheduler can say so.
-- (The due ones first, as lock_due_escalations.)
WITH due AS MATERIALIZED (
    SELECT p.id AS patient_id, hc.id AS health_centre_id
    FROM alerts AS a
    JOIN patients AS p ON p.id = a.patient_id
    JOIN health_centres AS hc ON hc.id = p.health_centre_id
    WHERE a.state = 'open' AND a.severity = 'red' AND a.escalated_at IS NULL
      AND a.severity_since + hc.escalate_after <= %(now)s
      AND hc.escalation_url IS NULL
)
SELECT count(*) AS alerts, count(DISTINCT health_centre_id) AS health_centres
FROM due
WHERE NOT shares_with_care_team(patient_id, %(now)s);
