-- name: lock_patient_overrides
SELECT id, health_centre_id FROM patients WHERE id = %(patient_id)s FOR UPDATE;

-- name: lock_centre_overrides
SELECT id FROM health_centres WHERE id = %(health_centre_id)s FOR UPDATE;

-- name: insert_patient_overrides
INSERT INTO rule_overrides (patient_id, version, layer, changed_by, reason)
SELECT %(patient_id)s, coalesce(max(version), 0) + 1, %(layer)s, %(changed_by)s, %(reason)s
FROM rule_overrides WHERE patient_id = %(patient_id)s
RETURNING id, version, layer, changed_by, reason, changed_at;

-- name: insert_centre_overrides
INSERT INTO rule_overrides (health_centre_id, version, layer, changed_by, reason)
SELECT %(health_centre_id)s, coalesce(max(version), 0) + 1, %(layer)s, %(changed_by)s, %(reason)s
FROM rule_overrides WHERE health_centre_id = %(health_centre_id)s
RETURNING id, version, layer, changed_by, reason, changed_at;

-- name: current_overrides_of_patients
-- The newest centre layer and the newest patient layer that apply to each patient.
SELECT p.id AS patient_id, 'health_centre' AS scope, o.id, o.version, o.layer, o.changed_by,
       o.reason, o.changed_at
FROM patients p
JOIN LATERAL (
    SELECT * FROM rule_overrides
    WHERE health_centre_id = p.health_centre_id ORDER BY version DESC LIMIT 1
) o ON true
WHERE p.id = ANY(%(patient_ids)s::uuid[])
UNION ALL
SELECT p.id, 'patient', o.id, o.version, o.layer, o.changed_by, o.reason, o.changed_at
FROM patients p
JOIN LATERAL (
    SELECT * FROM rule_overrides
    WHERE patient_id = p.id ORDER BY version DESC LIMIT 1
) o ON true
WHERE p.id = ANY(%(patient_ids)s::uuid[])
ORDER BY 1, 2;

-- name: overrides_history_of_patient
-- Every version of the patient's layer, each with the one it replaced.
SELECT version, changed_at, changed_by, reason, layer,
       lag(layer) OVER (ORDER BY version) AS previous_layer
FROM rule_overrides
WHERE patient_id = %(patient_id)s
ORDER BY version;
