-- name: claim_evaluations
-- Lease up to %(limit)s due patients; a lease that runs out (its worker died) is claimed again.
UPDATE evaluation_queue AS q
SET lease_until = clock_timestamp() + make_interval(secs => %(lease_s)s),
    attempts = q.attempts + 1
FROM (
    SELECT patient_id FROM evaluation_queue
    WHERE (lease_until IS NULL OR lease_until < clock_timestamp())
      AND not_before <= clock_timestamp()
    ORDER BY requested_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS due
WHERE q.patient_id = due.patient_id
RETURNING q.patient_id, q.generation, q.attempts, q.feedback_devices;

-- name: finish_evaluation
-- Done: drop the row unless the patient was requested again meanwhile (its generation moved);
-- then it stays, without its lease and without the devices already answered.
WITH done AS (
    DELETE FROM evaluation_queue
    WHERE patient_id = %(patient_id)s AND generation = %(generation)s
    RETURNING patient_id
)
UPDATE evaluation_queue
SET lease_until = NULL, attempts = 0, last_error = NULL,
    feedback_devices = ARRAY(SELECT unnest(feedback_devices)
                             EXCEPT SELECT unnest(%(feedback_devices)s::uuid[]))
WHERE patient_id = %(patient_id)s AND NOT EXISTS (SELECT 1 FROM done);

-- name: postpone_evaluation
UPDATE evaluation_queue
SET lease_until = NULL,
    not_before = clock_timestamp() + make_interval(secs => %(delay_s)s),
    last_error = %(error)s
WHERE patient_id = %(patient_id)s;

-- name: enqueue_all_monitored_patients
-- The scheduled pass for time-based rules (missing measurements): idempotent, so every
-- replica may run it.
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT id, clock_timestamp() FROM patients WHERE discharged_at IS NULL
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1;

-- name: enqueue_patients
-- Chosen patients, evaluated now (the demo's "evaluate the centre again").
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT unnest(%(patient_ids)s::uuid[]), clock_timestamp()
ORDER BY 1
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1;

-- name: enqueue_staged_patients
-- Every patient with readings in this batch gets (re-)evaluated after the commit.
-- The devices that sent them are told, after the evaluation, whether the values look as usual.
INSERT INTO evaluation_queue AS q (patient_id, requested_at, feedback_devices)
SELECT patient_id, clock_timestamp(), array_agg(DISTINCT device_id)
FROM readings_staging
GROUP BY patient_id
-- Rows are locked in patient order, as the rules worker finishes its batches: no deadlock.
ORDER BY patient_id
ON CONFLICT (patient_id) DO UPDATE
SET generation = q.generation + 1,
    feedback_devices = ARRAY(SELECT unnest(q.feedback_devices)
                             UNION SELECT unnest(EXCLUDED.feedback_devices));

-- name: notify_evaluation
SELECT pg_notify('hemkoll_evaluate', '');

-- name: evaluation_queue_backlog
-- For the metrics: patients waiting, and the age of the oldest request (seconds).
SELECT count(*)::integer AS waiting,
       extract(epoch FROM clock_timestamp() - min(requested_at))::double precision
           AS oldest_age_s
FROM evaluation_queue;
