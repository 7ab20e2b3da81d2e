-- name: enqueue_alert_webhook
-- A webhook notification of an alert for the health centre (channel care_team) or its
-- escalation contact (channel escalation), with what a nurse needs for a quick check-in and
-- nothing more: the patient's pseudonymous reference, the alert and its summary sentences.
-- The dispatcher adds the link to the alert (it knows the API's public address).
INSERT INTO notifications (health_centre_id, patient_id, alert_id, channel, event, payload)
SELECT p.health_centre_id, p.id, a.id, %(channel)s, %(event)s,
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
                                          THEN hc.escalation_contact END))
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
JOIN health_centres AS hc ON hc.id = p.health_centre_id
WHERE a.id = %(alert_id)s
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
