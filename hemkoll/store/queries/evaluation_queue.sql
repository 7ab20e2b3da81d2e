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

-- name: evaluation_queue_backlog
-- For the metrics: patients waiting, and the age of the oldest request (seconds).
SELECT count(*)::integer,
       extract(epoch FROM clock_timestamp() - min(requested_at))::double precision
FROM evaluation_queue;
