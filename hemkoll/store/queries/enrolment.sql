-- name: lock_centre_enrolment
-- Bulk enrolments of one health centre take turns (released when the transaction ends).
SELECT pg_advisory_xact_lock(hashtextextended('hemkoll bulk enrolment ' || %(health_centre_id)s::text, 0));

-- name: transaction_now
SELECT now();

-- name: active_device_kinds
SELECT patient_id, kind, count(*)::int AS n
FROM devices
WHERE patient_id = ANY(%(patient_ids)s::uuid[]) AND active
GROUP BY patient_id, kind;

-- name: copy_patients
COPY patients (id, health_centre_id, reference, language, timezone, enrolled_at) FROM STDIN;

-- name: copy_devices
COPY devices (id, patient_id, kind, credential_hash, enrolled_at) FROM STDIN;
