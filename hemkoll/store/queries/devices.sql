-- name: insert_device_at
-- enrolled_at: NULL for now; a past time enrols a device already in use (backdated).
INSERT INTO devices (patient_id, kind, credential_hash, enrolled_at)
VALUES (%(patient_id)s, %(kind)s, %(credential_hash)s,
        coalesce(%(enrolled_at)s::timestamptz, now()))
RETURNING id, patient_id, kind, active, enrolled_at;

-- name: deactivate_device
UPDATE devices
SET active = false, deactivated_at = now()
WHERE id = %(device_id)s AND active
RETURNING id, patient_id, kind, active, enrolled_at;

-- name: active_device_credentials
SELECT id, credential_hash
FROM devices
WHERE active AND credential_hash IS NOT NULL  -- the patient app has none: not a broker client
ORDER BY id;

-- name: device_login
-- A device and its password hash, for the FHIR ingest route's HTTP Basic check.
SELECT id, patient_id, kind, active, enrolled_at, credential_hash
FROM devices
WHERE id = %(device_id)s;

-- name: devices_by_id
SELECT id, patient_id, kind, active, enrolled_at
FROM devices
WHERE id = ANY(%(device_ids)s);

-- name: devices_of_patient
SELECT id, patient_id, kind, active, enrolled_at
FROM devices
WHERE patient_id = %(patient_id)s
ORDER BY enrolled_at, id;

-- name: device_in_scope
SELECT d.id, d.patient_id, d.kind, d.active, d.enrolled_at
FROM devices AS d
JOIN patients AS p ON p.id = d.patient_id
WHERE d.id = %(device_id)s
  AND (%(health_centre_id)s::uuid IS NULL OR p.health_centre_id = %(health_centre_id)s);

-- name: insert_app_device
-- The patient's app as a device (docs/patient.md): one active per patient (a partial unique
-- index), no MQTT credential, in use since her enrolment. A second request racing this one
-- finds the row made (ON CONFLICT DO NOTHING), so the select after it reads it.
INSERT INTO devices (patient_id, kind, credential_hash, enrolled_at)
SELECT p.id, 'patient_app', NULL, p.enrolled_at
FROM patients AS p
WHERE p.id = %(patient_id)s
ON CONFLICT (patient_id) WHERE kind = 'patient_app' AND active DO NOTHING;

-- name: app_device_of_patient
SELECT id, patient_id, kind, active, enrolled_at
FROM devices
WHERE patient_id = %(patient_id)s AND kind = 'patient_app' AND active;
