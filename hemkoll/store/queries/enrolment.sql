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

-- name: start_care_relationships
-- The new patients' health centre has its care relationship with each of them (0020).
INSERT INTO care_relationships (patient_id, health_centre_id, started_at)
SELECT id, health_centre_id, enrolled_at FROM patients WHERE id = ANY(%(patient_ids)s::uuid[]);

-- name: copy_devices
COPY devices (id, patient_id, kind, credential_hash, enrolled_at) FROM STDIN;
