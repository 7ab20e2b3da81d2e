-- FHIR R4 (issue 17): a health centre chooses the body of its webhooks, hemkoll's own JSON
-- (the default, as before) or a FHIR Bundle with the alert as a Flag and the Observations that
-- triggered it (docs/fhir.md, "Webhooks as FHIR"); and which readings are an alert's evidence
-- is defined once, here, for the FHIR API's Flag and for the outbox's snapshot of them.

ALTER TABLE health_centres
    ADD COLUMN webhook_format text NOT NULL DEFAULT 'hemkoll'
        CHECK (webhook_format IN ('hemkoll', 'fhir'));

-- The evidence readings of an alert notification, snapshotted when it is written for a centre
-- that wants FHIR bodies (by the rules, who read readings; an escalation copies the alert's
-- earlier snapshot): the dispatcher renders the Bundle from the outbox row alone and is never
-- granted the readings table. NULL for the hemkoll format and for non-alert notifications.
ALTER TABLE notifications ADD COLUMN evidence jsonb
    CHECK (evidence IS NULL OR jsonb_typeof(evidence) = 'array');

-- The readings that triggered an alert: those of the rule's metric (any metric when the
-- evidence names none, e.g. a combination) measured at the instant the alert first fired or
-- last fired, or at one of the readings a threshold's evidence lists (its run). A
-- missing-measurement alert fired at a deadline with no reading there, and has none.
-- SECURITY INVOKER (the default): a caller without SELECT on readings cannot use it.
CREATE FUNCTION alert_evidence_readings(target uuid)
RETURNS TABLE (metric text, value double precision, measured_at timestamptz, device_id uuid,
               received_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT r.metric, r.value, r.measured_at, r.device_id, r.received_at
    FROM alerts AS a
    JOIN readings AS r ON r.patient_id = a.patient_id
    WHERE a.id = target
      AND (a.evidence ->> 'metric' IS NULL OR r.metric = a.evidence ->> 'metric')
      AND (r.measured_at IN (a.first_fired_at, a.last_fired_at)
           OR r.measured_at IN (
               SELECT (e ->> 0)::timestamptz
               FROM jsonb_array_elements(
                   CASE WHEN jsonb_typeof(a.evidence -> 'readings') = 'array'
                        THEN a.evidence -> 'readings' ELSE '[]'::jsonb END) AS e
               WHERE jsonb_typeof(e) = 'array'))
    ORDER BY r.measured_at, r.metric, r.device_id
$$;
