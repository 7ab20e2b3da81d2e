-- name: insert_patient
-- enrolled_at: NULL for now; a past time is an enrolment with history (checked by the caller).
-- Her health centre's care relationship with her starts with her monitoring (0020).
WITH patient AS (
    INSERT INTO patients (health_centre_id, reference, language, timezone, enrolled_at)
    VALUES (%(health_centre_id)s, %(reference)s, %(language)s, %(timezone)s,
            coalesce(%(enrolled_at)s::timestamptz, now()))
    ON CONFLICT (health_centre_id, reference) DO NOTHING
    RETURNING id, health_centre_id, reference, timezone, language, enrolled_at,
              monitoring_paused_since, discharged_at
), relationship AS (
    INSERT INTO care_relationships (patient_id, health_centre_id, started_at)
    SELECT id, health_centre_id, enrolled_at FROM patient
)
SELECT * FROM patient;

-- name: patient_in_scope
-- A patient, if the caller's health centre (NULL: every centre) is theirs.
SELECT id, health_centre_id, reference, timezone, language, enrolled_at,
       monitoring_paused_since, discharged_at
FROM patients
WHERE id = %(patient_id)s
  AND (%(health_centre_id)s::uuid IS NULL OR health_centre_id = %(health_centre_id)s);

-- name: list_patients
-- patient_ids: those the access decision lets the caller see (NULL: every patient, a region
-- administrator's reach; 0020); health_centre_id: those whose own centre it is (NULL: any).
SELECT id, health_centre_id, reference, timezone, language, enrolled_at,
       monitoring_paused_since, discharged_at
FROM patients
WHERE (%(patient_ids)s::uuid[] IS NULL OR id = ANY(%(patient_ids)s::uuid[]))
  AND (%(health_centre_id)s::uuid IS NULL OR health_centre_id = %(health_centre_id)s)
  AND (%(reference)s::text IS NULL OR reference = %(reference)s)
  AND (%(include_discharged)s OR discharged_at IS NULL)
  AND (%(after_reference)s::text IS NULL OR reference > %(after_reference)s)
ORDER BY reference, id
LIMIT %(limit)s;

-- name: discharge_patient
-- The patient leaves the programme: no more evaluation, devices deactivated (the broker's
-- password file drops them at its next rewrite). Their data stays.
WITH patient AS (
    UPDATE patients SET discharged_at = coalesce(discharged_at, now())
    WHERE id = %(patient_id)s
    RETURNING id, health_centre_id, reference, timezone, language, enrolled_at,
              monitoring_paused_since, discharged_at
), devices_off AS (
    UPDATE devices SET active = false, deactivated_at = now()
    WHERE patient_id = %(patient_id)s AND active
    RETURNING id
), unqueued AS (
    DELETE FROM evaluation_queue WHERE patient_id = %(patient_id)s
)
SELECT * FROM patient;

-- name: upsert_patient
-- enrolled_at: NULL for now; an existing patient keeps theirs.
-- A new patient's health centre gets its care relationship with her (xmax = 0: inserted,
-- not updated; 0020).
WITH patient AS (
    INSERT INTO patients (health_centre_id, reference, enrolled_at)
    VALUES (%(health_centre_id)s, %(reference)s,
            coalesce(%(enrolled_at)s::timestamptz, now()))
    ON CONFLICT (health_centre_id, reference) DO UPDATE SET reference = EXCLUDED.reference
    RETURNING id, health_centre_id, reference, timezone, language, enrolled_at,
              xmax = 0 AS inserted
), relationship AS (
    INSERT INTO care_relationships (patient_id, health_centre_id, started_at)
    SELECT id, health_centre_id, enrolled_at FROM patient WHERE inserted
)
SELECT id, health_centre_id, reference, timezone, language, enrolled_at FROM patient;


-- name: patients_for_evaluation
-- Locks the patients of a batch for its transaction, in id order (two workers locking
-- overlapping batches cannot deadlock); discharged patients are not evaluated any more.
-- The centre's phone number goes into the messages the patient is told.
SELECT p.id, p.timezone, p.monitoring_paused_since IS NOT NULL AS paused,
       hc.phone AS centre_phone
FROM patients AS p
JOIN health_centres AS hc ON hc.id = p.health_centre_id
WHERE p.id = ANY(%(patient_ids)s::uuid[]) AND p.discharged_at IS NULL
ORDER BY p.id
FOR UPDATE OF p;

-- name: patient_timezone
SELECT p.id, p.timezone, p.monitoring_paused_since IS NOT NULL AS paused,
       hc.phone AS centre_phone
FROM patients AS p
JOIN health_centres AS hc ON hc.id = p.health_centre_id
WHERE p.id = %(patient_id)s;

-- name: pause_monitoring
UPDATE patients SET monitoring_paused_since = coalesce(monitoring_paused_since, now())
WHERE id = %(patient_id)s RETURNING id;

-- name: resume_monitoring
UPDATE patients SET monitoring_paused_since = NULL WHERE id = %(patient_id)s RETURNING id;

-- name: patients_by_reference
-- The centre's patients among some references (bulk enrolment, history import).
SELECT id, reference, enrolled_at, discharged_at
FROM patients
WHERE health_centre_id = %(health_centre_id)s AND reference = ANY(%(references)s::text[]);
