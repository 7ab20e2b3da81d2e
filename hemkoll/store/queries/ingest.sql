-- name: devices_by_id
SELECT id, patient_id, kind, active, enrolled_at
FROM devices
WHERE id = ANY(%(device_ids)s);

-- name: create_readings_staging
CREATE TEMPORARY TABLE IF NOT EXISTS readings_staging (
    msg_seq      integer NOT NULL,
    patient_id   uuid NOT NULL,
    device_id    uuid NOT NULL,
    metric       text NOT NULL,
    value        double precision NOT NULL,
    measured_at  timestamptz NOT NULL
) ON COMMIT DELETE ROWS;

-- name: copy_readings_staging
COPY readings_staging (msg_seq, patient_id, device_id, metric, value, measured_at)
FROM STDIN (FORMAT BINARY);

-- name: insert_staged_readings
-- Moves the staged readings into the table. The writer compares the row count with the rows
-- it staged: all new (the common case), none new (a resent batch), or some, when it rolls this
-- back and counts with insert_staged_readings_counted. No conflict target: the key is
-- (patient_id, metric, measured_at, device_id) on plain PostgreSQL and
-- (device_id, metric, measured_at) on TimescaleDB (migration 0008), the same identity.
INSERT INTO readings (patient_id, device_id, metric, value, measured_at)
SELECT patient_id, device_id, metric, value, measured_at
FROM readings_staging
ON CONFLICT DO NOTHING;

-- name: insert_staged_readings_counted
-- The same, saying per message of the batch how many of its readings were new. A reading
-- carried by two messages of one batch counts for the first. (The join and the grouping cost
-- about a third more than the plain INSERT, so it runs only for a batch with duplicates.)
WITH inserted AS (
    INSERT INTO readings (patient_id, device_id, metric, value, measured_at)
    SELECT patient_id, device_id, metric, value, measured_at
    FROM readings_staging
    ON CONFLICT DO NOTHING
    RETURNING device_id, metric, measured_at
), claimed AS (
    SELECT min(s.msg_seq) AS msg_seq
    FROM inserted AS i
    JOIN readings_staging AS s USING (device_id, metric, measured_at)
    GROUP BY i.device_id, i.metric, i.measured_at
)
SELECT msg_seq, count(*)::integer AS stored
FROM claimed
GROUP BY msg_seq;

-- name: insert_dead_letter
INSERT INTO dead_letters
    (received_at, topic, device_id, msg_id, reading_index, reason_code, reason,
     payload, payload_size, payload_sha256)
VALUES
    (%(received_at)s, %(topic)s, %(device_id)s, %(msg_id)s, %(reading_index)s, %(reason_code)s,
     %(reason)s, %(payload)s, %(payload_size)s, %(payload_sha256)s)
ON CONFLICT (payload_sha256, topic, coalesce(reading_index, -1)) DO NOTHING;

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
