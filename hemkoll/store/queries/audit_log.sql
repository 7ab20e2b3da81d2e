-- name: append_audit
-- The care provider is the care unit's (0020).
INSERT INTO audit_log
    (staff_id, role, action, status, health_centre_id, patient_id, object_type, object_id,
     client_address, reason, patient_session_id, care_provider_id, access_basis)
VALUES
    (%(staff_id)s, %(role)s, %(action)s, %(status)s, %(health_centre_id)s, %(patient_id)s,
     %(object_type)s, %(object_id)s, %(client_address)s, %(reason)s, %(patient_session_id)s,
     (SELECT care_provider_id FROM health_centres WHERE id = %(health_centre_id)s),
     %(access_basis)s);

-- name: read_audit
-- Newest first, keyset-paged by id; a care unit's administrator sees the unit's rows and
-- every access to the unit's own patients (another provider's too: 0020).
SELECT id, at, staff_id, role, action, status, health_centre_id, patient_id, object_type,
       object_id, host(client_address) AS client_address, reason, patient_session_id,
       care_provider_id, access_basis
FROM audit_log
WHERE (%(health_centre_id)s::uuid IS NULL OR health_centre_id = %(health_centre_id)s
       OR patient_id IN (SELECT id FROM patients WHERE health_centre_id = %(health_centre_id)s))
  AND (%(patient_id)s::uuid IS NULL OR patient_id = %(patient_id)s)
  AND (%(staff_id)s::uuid IS NULL OR staff_id = %(staff_id)s)
  AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR at < %(until)s)
  AND (%(before_id)s::bigint IS NULL OR id < %(before_id)s)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: patient_staff_accesses
-- What the patient's own access log shows: staff's successful accesses to her data (her own
-- in the app are hers and not listed), with the care unit's name; no staff names.
SELECT a.at, hc.name AS health_centre_name, a.role, a.object_type, a.action
FROM audit_log AS a
LEFT JOIN health_centres AS hc ON hc.id = a.health_centre_id
WHERE a.patient_id = %(patient_id)s AND a.staff_id IS NOT NULL AND a.status < 400
ORDER BY a.id DESC
LIMIT %(limit)s;
