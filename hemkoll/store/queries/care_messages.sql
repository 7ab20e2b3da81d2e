-- name: insert_care_message
-- A reply goes into an existing thread of the same patient only (else no row: the caller's
-- 404); a new thread's id is its first message's.
WITH new AS (SELECT gen_random_uuid() AS id)
INSERT INTO care_messages (id, patient_id, thread_id, author_staff, body)
SELECT new.id, %(patient_id)s, coalesce(%(thread_id)s::uuid, new.id), %(author_staff)s,
       %(body)s
FROM new
WHERE %(thread_id)s::uuid IS NULL
   OR EXISTS (SELECT 1 FROM care_messages
              WHERE patient_id = %(patient_id)s AND id = %(thread_id)s AND thread_id = id)
RETURNING id;

-- name: patient_care_messages
SELECT m.id, m.patient_id, m.thread_id, m.author_staff, s.name AS author_name,
       s.role AS author_role, m.body, m.sent_at, m.read_at
FROM care_messages AS m LEFT JOIN staff AS s ON s.id = m.author_staff
WHERE m.patient_id = %(patient_id)s
ORDER BY m.sent_at, m.id
LIMIT %(limit)s;

-- name: mark_care_messages_read
UPDATE care_messages SET read_at = clock_timestamp()
WHERE patient_id = %(patient_id)s AND read_at IS NULL
  AND (author_staff IS NULL) = NOT %(by_patient)s
RETURNING id;

-- name: unread_patient_messages
SELECT m.id, m.patient_id, m.thread_id, m.author_staff, NULL::text AS author_name,
       NULL::text AS author_role, m.body, m.sent_at, m.read_at
FROM care_messages AS m JOIN patients AS p ON p.id = m.patient_id
WHERE m.author_staff IS NULL AND m.read_at IS NULL
  AND (%(health_centre_id)s::uuid IS NULL OR p.health_centre_id = %(health_centre_id)s)
ORDER BY m.sent_at;

-- name: care_messages_page
-- A patient's messages for the FHIR API, oldest first, keyset-paged on (sent_at, id).
SELECT m.id, m.patient_id, m.thread_id, m.author_staff, s.name AS author_name,
       s.role AS author_role, m.body, m.sent_at, m.read_at
FROM care_messages AS m LEFT JOIN staff AS s ON s.id = m.author_staff
WHERE m.patient_id = %(patient_id)s
  AND (%(after_at)s::timestamptz IS NULL
       OR (m.sent_at, m.id) > (%(after_at)s::timestamptz, %(after_id)s::uuid))
ORDER BY m.sent_at, m.id
LIMIT %(limit)s;
