-- name: enqueue_alert_webhook
-- A webhook notification of an alert for the health centre (channel care_team) or its
-- escalation contact (channel escalation), with what a nurse needs for a quick check-in and
-- nothing more: the patient's pseudonymous reference, the alert and its summary sentences.
-- The dispatcher adds the link to the alert (it knows the API's public address).
-- For a centre that takes FHIR webhooks, the alert's evidence readings go into the
-- notification, so that the dispatcher, which may not read readings, can render the Bundle:
-- from the readings (%(evidence_from)s 'readings': the rules' side, who read them; with a
-- systolic or diastolic reading comes its other half, same device and instant, which the
-- Bundle serves as one blood-pressure panel, hemkoll/fhir/observation.py), or copied from the
-- alert's latest earlier notification ('earlier': the escalation, the dispatcher's side; none,
-- '[]', if the centre took hemkoll's JSON when that one was written). Other centres: NULL.
-- The id is the caller's and nothing comes back, so that the rules worker's pipeline of writes
-- does not wait for this one; an alert that does not exist fails the statement all the same
-- (the outer joins leave its centre NULL, which the table refuses).
INSERT INTO notifications
    (id, health_centre_id, patient_id, alert_id, channel, event, payload, evidence)
SELECT %(id)s, p.health_centre_id, p.id, want.id, %(channel)s, %(event)s,
       jsonb_build_object(
           'type', %(event)s::text,
           'timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC',
                                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'data', jsonb_build_object(
               'alert_id', a.id,
               'health_centre_id', p.health_centre_id,
               'patient_id', p.id,
               'patient_reference', p.reference,
               'severity', a.severity,
               'state', a.state,
               'rule_id', a.rule_id,
               'rule_kind', a.rule_kind,
               'opened_at', a.opened_at,
               'severity_since', a.severity_since,
               'summary_en', a.explanation_en,
               'summary_sv', a.explanation_sv,
               'escalation_contact', CASE WHEN %(channel)s = 'escalation'
                                          THEN hc.escalation_contact END)),
       CASE
           WHEN hc.webhook_format IS DISTINCT FROM 'fhir' THEN NULL
           WHEN %(evidence_from)s = 'readings' THEN coalesce(
               (SELECT jsonb_agg(jsonb_build_object(
                           'metric', e.metric, 'value', e.value, 'measured_at', e.measured_at,
                           'device_id', e.device_id, 'received_at', e.received_at)
                       ORDER BY e.measured_at, e.metric, e.device_id)
                FROM (SELECT ev.metric, ev.value, ev.measured_at, ev.device_id, ev.received_at
                      FROM alert_evidence_readings(want.id) AS ev
                      UNION
                      SELECT r.metric, r.value, r.measured_at, r.device_id, r.received_at
                      FROM alert_evidence_readings(want.id) AS ev
                      JOIN readings AS r ON r.patient_id = p.id
                                        AND r.metric IN ('systolic_bp', 'diastolic_bp')
                                        AND r.measured_at = ev.measured_at
                                        AND r.device_id = ev.device_id
                      WHERE ev.metric IN ('systolic_bp', 'diastolic_bp')) AS e),
               '[]'::jsonb)
           ELSE coalesce(
               (SELECT prior.evidence FROM notifications AS prior
                WHERE prior.alert_id = want.id AND prior.evidence IS NOT NULL
                ORDER BY prior.created_at DESC LIMIT 1),
               '[]'::jsonb)
       END
FROM (SELECT %(alert_id)s::uuid AS id) AS want
LEFT JOIN alerts AS a ON a.id = want.id
LEFT JOIN patients AS p ON p.id = a.patient_id
LEFT JOIN health_centres AS hc ON hc.id = p.health_centre_id;

-- name: enqueue_contact_webhook
-- A patient's "please contact me" for the health centre (channel care_team), as an alert's:
-- her pseudonymous reference, how worried she is, and nothing she wrote (the reason is read
-- in the console, behind sign-in and the audit log). The dispatcher adds the link.
INSERT INTO notifications
    (health_centre_id, patient_id, contact_request_id, channel, event, payload)
SELECT p.health_centre_id, p.id, r.id, 'care_team', %(event)s,
       jsonb_build_object(
           'type', %(event)s::text,
           'timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC',
                                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'data', jsonb_build_object(
               'contact_request_id', r.id,
               'health_centre_id', p.health_centre_id,
               'patient_id', p.id,
               'patient_reference', p.reference,
               'worry', r.worry,
               'state', r.state,
               'created_at', r.created_at))
FROM contact_requests AS r
JOIN patients AS p ON p.id = r.patient_id
WHERE r.id = %(contact_request_id)s
RETURNING id;

-- name: enqueue_device_messages
-- A short message for the patient on the feedback topic of each of the patient's active
-- devices (or of the given ones), in the patient's language.
INSERT INTO notifications
    (health_centre_id, patient_id, alert_id, channel, device_id, event, payload)
SELECT p.health_centre_id, p.id, %(alert_id)s, 'device', d.id, %(event)s,
       jsonb_build_object(
           'type', 'message',
           'event', %(event)s::text,
           'language', p.language,
           'text', CASE p.language WHEN 'sv' THEN %(text_sv)s::text ELSE %(text_en)s::text END)
FROM patients AS p
JOIN devices AS d ON d.patient_id = p.id AND d.active
WHERE p.id = %(patient_id)s
  AND (%(device_ids)s::uuid[] IS NULL OR d.id = ANY(%(device_ids)s::uuid[]))
RETURNING id;

-- name: notify_dispatch
SELECT pg_notify('hemkoll_dispatch', '');

-- name: claim_notifications
-- Lease up to %(limit)s due notifications of one lane (%(device)s: patients' device messages,
-- else the care team's webhooks; migration 0028) whose lease is free or run out, first attempts
-- before retries so that a backlog for a dead endpoint never holds up a fresh alert. The lanes
-- are claimed apart (the dispatcher sends each on threads of its own): every evaluated reading
-- queues a device message, and a morning's thousands must not delay the one alert a nurse is
-- waiting for, nor webhooks held up by their endpoints the patients' messages. No more than
-- %(per_endpoint)s in flight per webhook endpoint (a centre's, or its escalation contact's),
-- counting every dispatcher's leases: an endpoint that hangs holds that many of the
-- dispatchers' threads, not all of them. (Two claims at the same instant do not see each
-- other's leases, so the cap can be passed briefly; it is a bound on waste, not a guarantee.)
-- Device messages all go to our own broker and are not capped.
-- attempts counts claims: the claim's number is its attempt's. lease_until is the claim's
-- fencing token (see record_notification_attempt). The endpoint is read now, not when the
-- notification was written: a centre that fixes its address gets its backlog there.
WITH candidates AS (
    SELECT id, health_centre_id, channel, attempts > 0 AS is_retry, next_attempt_at
    FROM notifications
    WHERE state = 'pending'
      AND (channel = 'device') = %(device)s::boolean
      AND next_attempt_at <= clock_timestamp()
      AND (lease_until IS NULL OR lease_until < clock_timestamp())
    ORDER BY channel = 'device', attempts > 0, next_attempt_at
    LIMIT %(scan)s
    FOR UPDATE SKIP LOCKED
), in_flight AS (
    SELECT health_centre_id, channel, count(*) AS sending
    FROM notifications
    WHERE state = 'pending' AND lease_until IS NOT NULL AND lease_until >= clock_timestamp()
      AND channel <> 'device'
    GROUP BY health_centre_id, channel
), ranked AS (
    SELECT c.id, c.channel, c.is_retry, c.next_attempt_at,
           coalesce(f.sending, 0) + row_number() OVER (
               PARTITION BY c.health_centre_id, c.channel
               ORDER BY c.is_retry, c.next_attempt_at) AS slot
    FROM candidates AS c
    LEFT JOIN in_flight AS f USING (health_centre_id, channel)
), due AS (
    SELECT id FROM ranked
    WHERE channel = 'device' OR slot <= %(per_endpoint)s
    ORDER BY is_retry, next_attempt_at
    LIMIT %(limit)s
), claimed AS (
    UPDATE notifications AS n
    SET lease_until = clock_timestamp() + make_interval(secs => %(lease_s)s),
        attempts = n.attempts + 1
    FROM due
    WHERE n.id = due.id
    RETURNING n.id, n.health_centre_id, n.alert_id, n.contact_request_id, n.channel,
              n.device_id, n.event, n.payload, n.evidence, n.attempts, n.lease_until
)
SELECT c.id, c.health_centre_id, c.alert_id, c.contact_request_id, c.channel, c.device_id, c.event, c.payload,
       c.evidence, c.attempts AS attempt, c.lease_until, hc.webhook_format, hc.name AS centre_name,
       CASE c.channel WHEN 'care_team' THEN hc.notification_url
                      WHEN 'escalation' THEN hc.escalation_url END AS url,
       CASE c.channel WHEN 'care_team' THEN hc.signing_secret
                      WHEN 'escalation' THEN hc.escalation_signing_secret END AS signing_secret,
       d.active AS device_active
FROM claimed AS c
JOIN health_centres AS hc ON hc.id = c.health_centre_id
LEFT JOIN devices AS d ON d.id = c.device_id
ORDER BY c.attempts > 1, c.id;

-- name: record_notification_attempt
-- Settle a claimed attempt and log it, in one statement: the notification changes only if the
-- claim still holds (the lease it was given is still the row's: not re-claimed by another
-- dispatcher after it ran out, nor redelivered, and the row is pending); the attempt is logged
-- either way, its error marked (the lost-lease note) when it changed nothing. Whether it was
-- applied.
WITH settled AS (
    UPDATE notifications
    SET state = CASE WHEN %(result)s::text = 'retry' THEN 'pending' ELSE %(result)s::text END,
        next_attempt_at = CASE WHEN %(result)s::text = 'retry'
                               THEN clock_timestamp() + make_interval(secs => %(retry_in_s)s)
                               ELSE next_attempt_at END,
        lease_until = NULL,
        delivered_at = CASE WHEN %(result)s::text = 'delivered' THEN clock_timestamp() END,
        last_error = %(error)s
    WHERE id = %(id)s AND state = 'pending' AND lease_until = %(lease_until)s
    RETURNING id
)
INSERT INTO notification_attempts
    (notification_id, attempt, started_at, duration_ms, result, status_code, error)
SELECT %(id)s, %(attempt)s, %(started_at)s, %(duration_ms)s, %(result)s, %(status_code)s,
       CASE WHEN EXISTS (SELECT FROM settled) THEN %(error)s::text
            WHEN %(error)s::text IS NULL THEN %(lost)s::text
            ELSE %(error)s::text || ' (' || %(lost)s::text || ')' END
RETURNING EXISTS (SELECT FROM settled) AS applied;

-- name: hold_notification
-- A claim the dispatcher could not handle because of a bug of its own: give the claim back
-- without spending an attempt, and set the notification aside for %(hold_s)s seconds, so that
-- it is not re-claimed (and fails the same way) every lease while the bug is there; a fixed
-- dispatcher picks it up after that. Only while the claim still holds.
UPDATE notifications
SET lease_until = NULL,
    attempts = attempts - 1,
    next_attempt_at = clock_timestamp() + make_interval(secs => %(hold_s)s),
    last_error = %(error)s
WHERE id = %(id)s AND state = 'pending' AND lease_until = %(lease_until)s
RETURNING id;

-- name: next_notification_due_in
-- Seconds until the next pending notification is due (a leased one: once its lease has run
-- out); NULL when none is pending, negative when one is due already. The first part reads
-- the due index in order and stops at the first row; leased rows are the few in flight.
SELECT extract(epoch FROM least(
           (SELECT min(next_attempt_at) FROM notifications
            WHERE state = 'pending' AND lease_until IS NULL),
           (SELECT min(greatest(next_attempt_at, lease_until)) FROM notifications
            WHERE state = 'pending' AND lease_until IS NOT NULL))
       - clock_timestamp())::float8;

-- name: redeliver_notification
-- Back to pending, due now, with the same id (the receiver's deduplication key) and the
-- schedule from its start. Only a settled notification: a pending one is on its way.
UPDATE notifications
SET state = 'pending', next_attempt_at = clock_timestamp(), attempts = 0, lease_until = NULL,
    delivered_at = NULL, last_error = NULL
WHERE id = %(id)s AND state IN ('delivered', 'expired', 'gone')
RETURNING id;

-- name: notification_state
SELECT state FROM notifications WHERE id = %(id)s;

-- name: retry_pending_webhooks_now
-- A centre's pending webhooks (e.g. once it has fixed its endpoint) are due at once instead
-- of at their next step of the schedule, which can be up to a day away.
UPDATE notifications
SET next_attempt_at = clock_timestamp()
WHERE health_centre_id = %(health_centre_id)s AND state = 'pending'
  AND channel IN ('care_team', 'escalation') AND next_attempt_at > clock_timestamp()
RETURNING id;

-- name: retry_endpoint_backlog_now
-- The endpoint has just taken a notification: it is back. What waits for it at a later step of
-- the retry schedule (after an outage, up to hours away) is due now, so an outage of ten
-- minutes delays its alerts by about ten minutes, not by the schedule's next step.
UPDATE notifications
SET next_attempt_at = clock_timestamp()
WHERE health_centre_id = %(health_centre_id)s AND channel = %(channel)s AND state = 'pending'
  AND attempts > 0 AND next_attempt_at > clock_timestamp()
  AND (lease_until IS NULL OR lease_until < clock_timestamp())
  -- A notice the endpoint told to wait (Retry-After; webhook.RETRY_AFTER_NOTE) keeps waiting.
  AND coalesce(last_error, '') NOT LIKE '%%(Retry-After)'
RETURNING id;

-- name: notifications_of_alert
SELECT id, channel, event, device_id, state, created_at, attempts, next_attempt_at,
       delivered_at, last_error
FROM notifications
WHERE alert_id = %(alert_id)s
ORDER BY created_at, id;

-- name: notification_attempts_of_alert
SELECT a.notification_id, a.attempt, a.started_at, a.duration_ms, a.result, a.status_code,
       a.error
FROM notification_attempts AS a
JOIN notifications AS n ON n.id = a.notification_id
WHERE n.alert_id = %(alert_id)s
ORDER BY a.notification_id, a.id;

-- name: notification_backlog
-- For monitoring: what is waiting, what of it is due, what is being sent, and the age of the
-- oldest undelivered (pending) notification.
SELECT count(*) AS pending,
       count(*) FILTER (WHERE next_attempt_at <= clock_timestamp()) AS due,
       count(*) FILTER (WHERE lease_until >= clock_timestamp()) AS in_flight,
       extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS oldest_pending_age_s
FROM notifications
WHERE state = 'pending';

-- name: notification_owner
-- Whose notification this is, for the caller's scope check.
SELECT health_centre_id, patient_id, alert_id FROM notifications WHERE id = %(notification_id)s;

-- name: delete_settled_notifications
-- Retention (docs/operations.md): up to %(limit)s settled notifications created before
-- %(before)s, with their attempts; which ones, in the function of migration 0024.
SELECT delete_settled_notifications(%(before)s, %(limit)s);
