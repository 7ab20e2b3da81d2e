-- name: upsert_health_centre
INSERT INTO health_centres (name)
VALUES (%(name)s)
ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
RETURNING id, name, timezone, created_at;

-- name: upsert_patient
-- enrolled_at: NULL for now; an existing patient keeps theirs.
INSERT INTO patients (health_centre_id, reference, enrolled_at)
VALUES (%(health_centre_id)s, %(reference)s,
        coalesce(%(enrolled_at)s::timestamptz, now()))
ON CONFLICT (health_centre_id, reference) DO UPDATE SET reference = EXCLUDED.reference
RETURNING id, health_centre_id, reference, timezone, language, enrolled_at;

-- name: insert_device
INSERT INTO devices (patient_id, kind, credential_hash)
VALUES (%(patient_id)s, %(kind)s, %(credential_hash)s)
RETURNING id, patient_id, kind, active, enrolled_at;

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
WHERE active
ORDER BY id;
