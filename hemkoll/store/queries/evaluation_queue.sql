-- name: claim_evaluations
-- Lease up to %(limit)s due patients; a lease that runs out (its worker died) is claimed again.
UPDATE evaluation_queue AS q
SET lease_until = clock_timestamp() + make_interval(secs => %(lease_s)s),
    attempts = q.attempts + 1
FROM (
    SELECT patient_id FROM evaluation_queue
    WHERE (lease_until IS NULL OR lease_until < clock_timestamp())
      AND not_before <= clock_timestamp()
    -- Urgent patients first (migration 0023), then the oldest request: the order of
    -- evaluation_queue_claim_idx, which the claim walks until it has its limit.
    ORDER BY priority DESC, requested_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS due
WHERE q.patient_id = due.patient_id
RETURNING q.patient_id, q.generation, q.attempts, q.feedback_devices, q.feedback_since,
          q.feedback_oldest;

-- name: finish_evaluation
-- Done: drop the row unless the patient was requested again meanwhile (its generation moved);
-- then it stays, without its lease and without the devices already answered (with none left,
-- the readings that prompted it have all been answered: feedback_since starts afresh). It keeps
-- its priority: an urgent request that came meanwhile must not be lowered, and a routine one
-- after an urgent one costs at most one early evaluation.
WITH done AS (
    DELETE FROM evaluation_queue
    WHERE patient_id = %(patient_id)s AND generation = %(generation)s
    RETURNING patient_id
)
UPDATE evaluation_queue
SET lease_until = NULL, attempts = 0, last_error = NULL,
    feedback_devices = remaining.devices,
    feedback_since = CASE WHEN cardinality(remaining.devices) > 0 THEN feedback_since END,
    feedback_oldest = CASE WHEN cardinality(remaining.devices) > 0 THEN feedback_oldest END
FROM (
    SELECT ARRAY(SELECT unnest(feedback_devices)
                 EXCEPT SELECT unnest(%(feedback_devices)s::uuid[])) AS devices
    FROM evaluation_queue WHERE patient_id = %(patient_id)s
) AS remaining
WHERE patient_id = %(patient_id)s AND NOT EXISTS (SELECT 1 FROM done);

-- name: postpone_evaluation
UPDATE evaluation_queue
SET lease_until = NULL,
    not_before = clock_timestamp() + make_interval(secs => %(delay_s)s),
    last_error = %(error)s
WHERE patient_id = %(patient_id)s;

-- name: queue_due_deadlines
-- The scheduler: patients whose deadline (evaluation_deadlines, hemkoll.rules.deadlines) has
-- passed, queued for evaluation (which stores their next one). Idempotent and safe with
-- several replicas: each deadline is taken once (SKIP LOCKED) and cleared as it is queued.
WITH due AS (
    UPDATE evaluation_deadlines AS d SET due_at = NULL
    FROM (
        SELECT patient_id FROM evaluation_deadlines
        WHERE due_at < %(now)s  -- a missing rule fires strictly after its deadline
        ORDER BY due_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AS passed
    WHERE d.patient_id = passed.patient_id
    RETURNING d.patient_id
)
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT due.patient_id, clock_timestamp()
FROM due JOIN patients AS p ON p.id = due.patient_id
WHERE p.discharged_at IS NULL
ORDER BY 1
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1;

-- name: queue_other_programme
-- A worker started with another programme than the deadlines were computed under queues
-- those patients once (their evaluation stores the new programme with the new deadline).
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT d.patient_id, clock_timestamp()
FROM evaluation_deadlines AS d JOIN patients AS p ON p.id = d.patient_id
WHERE d.programme <> %(programme)s AND p.discharged_at IS NULL
ORDER BY 1
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1;

-- name: store_deadlines
-- After an evaluation: each patient's next deadline (NULL: none) under this programme.
INSERT INTO evaluation_deadlines AS d (patient_id, due_at, programme, computed_at)
SELECT patient_id, due_at, %(programme)s, clock_timestamp()
FROM unnest(%(patient_ids)s::uuid[], %(due_at)s::timestamptz[]) AS n (patient_id, due_at)
ORDER BY patient_id
ON CONFLICT (patient_id) DO UPDATE
SET due_at = EXCLUDED.due_at, programme = EXCLUDED.programme,
    computed_at = EXCLUDED.computed_at;

-- name: enqueue_patients
-- Chosen patients, evaluated now: their rules, pause or hospital stays changed (which moves
-- their deadlines), or the demo's "evaluate the centre again".
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT unnest(%(patient_ids)s::uuid[]), clock_timestamp()
ORDER BY 1
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1;

-- name: enqueue_staged_patients
-- Every patient with readings in this batch gets (re-)evaluated after the commit.
-- The devices that sent them are told, after the evaluation, what the rules made of them:
-- their readings are those received from now() on (the readings' received_at is this
-- transaction's start), the oldest measured at feedback_oldest. The patients in %(urgent)s
-- have a reading beyond a red limit (hemkoll.rules.urgency): they are claimed first, and stay
-- so whatever routine request comes after (GREATEST) until evaluated.
INSERT INTO evaluation_queue AS q
    (patient_id, requested_at, priority, feedback_devices, feedback_since, feedback_oldest)
SELECT patient_id, clock_timestamp(),
       CASE WHEN patient_id = ANY(%(urgent)s::uuid[]) THEN 1 ELSE 0 END,
       array_agg(DISTINCT device_id), now(), min(measured_at)
FROM readings_staging
GROUP BY patient_id
-- Rows are locked in patient order, as the rules worker finishes its batches: no deadlock.
ORDER BY patient_id
ON CONFLICT (patient_id) DO UPDATE
SET generation = q.generation + 1,
    priority = GREATEST(q.priority, EXCLUDED.priority),
    feedback_devices = ARRAY(SELECT unnest(q.feedback_devices)
                             UNION SELECT unnest(EXCLUDED.feedback_devices)),
    feedback_since = LEAST(q.feedback_since, EXCLUDED.feedback_since),
    feedback_oldest = LEAST(q.feedback_oldest, EXCLUDED.feedback_oldest);

-- name: enqueue_centre_patients
-- Every patient of a health centre under monitoring: the centre's rule overrides changed.
INSERT INTO evaluation_queue AS q (patient_id, requested_at)
SELECT id, clock_timestamp() FROM patients
WHERE health_centre_id = %(health_centre_id)s AND discharged_at IS NULL
ORDER BY 1
ON CONFLICT (patient_id) DO UPDATE SET generation = q.generation + 1;

-- name: notify_evaluation
SELECT pg_notify('hemkoll_evaluate', '');

-- name: evaluation_queue_backlog
-- For the metrics: patients waiting, and the age of the oldest request (seconds).
SELECT count(*)::integer AS waiting,
       extract(epoch FROM clock_timestamp() - min(requested_at))::double precision
           AS oldest_age_s
FROM evaluation_queue;

-- name: evaluations_due
-- Patients queued and due now, claimed or not (a replay's lockstep waits for none): a patient
-- postponed after a failure is not due until its retry.
SELECT count(*)::integer FROM evaluation_queue WHERE not_before <= clock_timestamp();
