-- name: mark_history
-- Each patient's imported history reaches at least her newest imported reading.
INSERT INTO imported_history AS h (patient_id, until)
SELECT patient_id, until
FROM unnest(%(patient_ids)s::uuid[], %(untils)s::timestamptz[]) AS t (patient_id, until)
ORDER BY patient_id
ON CONFLICT (patient_id) DO UPDATE
SET until = GREATEST(h.until, EXCLUDED.until), imported_at = now();

-- name: enqueue_staged_patients_quietly
-- An import batch's patients are evaluated after the commit (as ingest's are), but no device
-- is told about readings it did not just send: no feedback devices.
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT patient_id, clock_timestamp()
FROM (SELECT DISTINCT patient_id FROM readings_staging) AS staged
ORDER BY patient_id
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1;

-- name: imported_history_of
SELECT patient_id, until
FROM imported_history
WHERE patient_id = ANY(%(patient_ids)s::uuid[]);
