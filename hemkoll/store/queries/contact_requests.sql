-- name: insert_contact_request
INSERT INTO contact_requests (patient_id, reason, worry)
VALUES (%(patient_id)s, %(reason)s, %(worry)s)
RETURNING id;

-- name: patient_contact_requests
SELECT r.id, r.patient_id, p.reference AS patient_reference, r.reason, r.worry, r.state,
       r.created_at, r.seen_at, r.handled_at
FROM contact_requests AS r JOIN patients AS p ON p.id = r.patient_id
WHERE r.patient_id = %(patient_id)s
ORDER BY r.created_at DESC
LIMIT %(limit)s;

-- name: open_contact_requests
SELECT r.id, r.patient_id, p.reference AS patient_reference, r.reason, r.worry, r.state,
       r.created_at, r.seen_at, r.handled_at
FROM contact_requests AS r JOIN patients AS p ON p.id = r.patient_id
WHERE r.state <> 'handled'
  AND r.patient_id = ANY(%(patient_ids)s::uuid[])
ORDER BY r.worry DESC, r.created_at;

-- name: mark_contact_request
-- Forward only: seen from received; handled from received or seen.
UPDATE contact_requests
SET state = %(state)s,
    seen_at = coalesce(seen_at, clock_timestamp()),
    seen_by = coalesce(seen_by, %(by)s),
    handled_at = CASE WHEN %(state)s = 'handled' THEN clock_timestamp() END,
    handled_by = CASE WHEN %(state)s = 'handled' THEN %(by)s::uuid END
WHERE id = %(id)s AND patient_id = %(patient_id)s
  AND ((%(state)s = 'seen' AND state = 'received')
       OR (%(state)s = 'handled' AND state <> 'handled'))
RETURNING id;
