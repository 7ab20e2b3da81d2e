-- name: insert_hospital_stay
-- The table's exclusion constraint and partial unique index refuse an overlapping or a
-- second open stay (hospital_stays.record reads the clashing stay first, to name it).
INSERT INTO hospital_stays (patient_id, admitted_at, discharged_at, note, recorded_by)
VALUES (%(patient_id)s, %(admitted_at)s, %(discharged_at)s, %(note)s, %(recorded_by)s)
RETURNING id, patient_id, admitted_at, discharged_at, note, recorded_by, recorded_at;

-- name: hospital_stay_clash
-- The patient's stay that [admitted_at, discharged_at) would overlap (NULL: open), if any; an
-- open one first (a second open stay is the likelier mistake).
SELECT id, patient_id, admitted_at, discharged_at, note, recorded_by, recorded_at
FROM hospital_stays
WHERE patient_id = %(patient_id)s
  AND tstzrange(admitted_at, discharged_at, '[)')
      && tstzrange(%(admitted_at)s::timestamptz, %(discharged_at)s::timestamptz, '[)')
  AND (%(except_id)s::uuid IS NULL OR id <> %(except_id)s::uuid)
ORDER BY discharged_at IS NULL DESC, admitted_at
LIMIT 1;

-- name: discharge_hospital_stay
-- Only an open stay is discharged; a stay already closed (or another patient's) is untouched.
UPDATE hospital_stays SET discharged_at = %(discharged_at)s
WHERE id = %(id)s AND patient_id = %(patient_id)s AND discharged_at IS NULL
RETURNING id, patient_id, admitted_at, discharged_at, note, recorded_by, recorded_at;

-- name: hospital_stays_of_patient
-- A patient's stays, the newest admission first.
SELECT id, patient_id, admitted_at, discharged_at, note, recorded_by, recorded_at
FROM hospital_stays
WHERE patient_id = %(patient_id)s
ORDER BY admitted_at DESC, id DESC
LIMIT %(limit)s;

-- name: hospital_stay
SELECT id, patient_id, admitted_at, discharged_at, note, recorded_by, recorded_at
FROM hospital_stays
WHERE id = %(id)s AND patient_id = %(patient_id)s;

-- name: hospital_stays_of_patients
-- The stays of many patients (the rules worker's batch) that, each extended by %(grace)s after
-- discharge, overlap [since, until): what the engine needs to judge that window.
SELECT patient_id, admitted_at, discharged_at
FROM hospital_stays
WHERE patient_id = ANY(%(patient_ids)s::uuid[])
  AND admitted_at < %(until)s
  AND (discharged_at IS NULL OR discharged_at + %(grace)s::interval > %(since)s)
ORDER BY patient_id, admitted_at;
