-- name: append_audit
INSERT INTO audit_log
    (staff_id, role, action, status, health_centre_id, patient_id, object_type, object_id,
     client_address, reason)
VALUES
    (%(staff_id)s, %(role)s, %(action)s, %(status)s, %(health_centre_id)s, %(patient_id)s,
     %(object_type)s, %(object_id)s, %(client_address)s, %(reason)s);

-- name: read_audit
-- Newest first, keyset-paged by id; a health centre's administrator sees the centre's rows.
SELECT id, at, staff_id, role, action, status, health_centre_id, patient_id, object_type,
       object_id, host(client_address) AS client_address, reason
FROM audit_log
WHERE (%(health_centre_id)s::uuid IS NULL OR health_centre_id = %(health_centre_id)s)
  AND (%(patient_id)s::uuid IS NULL OR patient_id = %(patient_id)s)
  AND (%(staff_id)s::uuid IS NULL OR staff_id = %(staff_id)s)
  AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR at < %(until)s)
  AND (%(before_id)s::bigint IS NULL OR id < %(before_id)s)
ORDER BY id DESC
LIMIT %(limit)s;
