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

-- name: series_of_patients_between
-- The rules worker's read: per patient and metric, the readings from since to until packed in
-- one bytea, 16 bytes a reading (timestamptz_send: int8 microseconds since 2000-01-01 UTC,
-- then float8send: the value; both big-endian), read with a binary cursor and unpacked with
-- numpy. One row per patient and metric instead of one per reading, no per-reading Python
-- objects; in no particular order (the engine sorts, ``rules.series.build_batch``). Patient by
-- patient (LATERAL): each is one index range grouped in memory, where grouping the whole
-- batch sorted 100,000 rows and spilled the sort to disk (measured: twice as slow).
SELECT q.patient_id, s.metric, s.packed
FROM unnest(%(patient_ids)s::uuid[]) AS q (patient_id)
CROSS JOIN LATERAL (
    SELECT r.metric,
           string_agg(timestamptz_send(r.measured_at) || float8send(r.value), ''::bytea)
               AS packed
    FROM readings AS r
    WHERE r.patient_id = q.patient_id
      AND r.measured_at >= %(since)s AND r.measured_at <= %(until)s
    GROUP BY r.metric
) AS s;

-- name: readings_between
SELECT metric, measured_at, value
FROM readings
WHERE patient_id = %(patient_id)s AND measured_at >= %(since)s AND measured_at <= %(until)s
ORDER BY metric, measured_at;

-- name: readings_received_since
-- The readings that prompted an evaluation: per patient, those her feedback devices sent from
-- ``since`` on, measured from ``oldest`` on (the bound lets the key's metric column be searched
-- per metric instead of reading the patient's whole history). Patient by patient (LATERAL:
-- an index search each, never a scan of the table), and the devices are checked after the
-- search (OFFSET 0 keeps the planner from pushing them into it): as an index condition beside
-- the metrics, every patient's search descended the index once per metric and device of the
-- whole batch (measured: 1.4 s instead of 35 ms for 200 patients).
SELECT q.patient_id, r.metric, r.measured_at, r.value
FROM unnest(%(patient_ids)s::uuid[], %(since)s::timestamptz[], %(oldest)s::timestamptz[])
     AS q(patient_id, since, oldest)
CROSS JOIN LATERAL (
    SELECT r.metric, r.value, r.measured_at, r.device_id
    FROM readings AS r
    WHERE r.patient_id = q.patient_id
      AND r.metric = ANY(%(metrics)s::text[])
      AND r.measured_at >= q.oldest
      AND r.received_at >= q.since
    OFFSET 0
) AS r
WHERE r.device_id = ANY(%(device_ids)s::uuid[])
ORDER BY q.patient_id, r.metric, r.measured_at;

-- name: without_jit
-- For the rest of the caller's transaction: the rules worker's reads, estimated dear because
-- they search the index once per patient of a batch, run in tens of milliseconds, of which
-- PostgreSQL's JIT compilation took 10-15 (measured on series_of_patients_between).
SET LOCAL jit = off;
