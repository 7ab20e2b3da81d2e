-- name: readings_of_patients_between
SELECT patient_id, metric, measured_at, value
FROM readings
WHERE patient_id = ANY(%(patient_ids)s::uuid[])
  AND measured_at >= %(since)s AND measured_at <= %(until)s
ORDER BY patient_id, metric, measured_at;

-- name: readings_between
SELECT metric, measured_at, value
FROM readings
WHERE patient_id = %(patient_id)s AND measured_at >= %(since)s AND measured_at <= %(until)s
ORDER BY metric, measured_at;
