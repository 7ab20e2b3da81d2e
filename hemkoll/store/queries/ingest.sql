-- name: devices_by_id
SELECT id, patient_id, kind, active, enrolled_at
FROM devices
WHERE id = ANY(%(device_ids)s);

-- name: create_readings_staging
CREATE TEMPORARY TABLE IF NOT EXISTS readings_staging (
    patient_id   uuid NOT NULL,
    device_id    uuid NOT NULL,
    metric       text NOT NULL,
    value        double precision NOT NULL,
    measured_at  timestamptz NOT NULL
) ON COMMIT DELETE ROWS;

-- name: copy_readings_staging
COPY readings_staging (patient_id, device_id, metric, value, measured_at) FROM STDIN (FORMAT BINARY);

-- name: insert_staged_readings
INSERT INTO readings (patient_id, device_id, metric, value, measured_at)
SELECT patient_id, device_id, metric, value, measured_at
FROM readings_staging
ON CONFLICT (device_id, metric, measured_at) DO NOTHING
RETURNING device_id, metric, measured_at;

-- name: insert_dead_letter
INSERT INTO dead_letters
    (received_at, topic, device_id, msg_id, reading_index, reason_code, reason,
     payload, payload_size, payload_sha256)
VALUES
    (%(received_at)s, %(topic)s, %(device_id)s, %(msg_id)s, %(reading_index)s, %(reason_code)s,
     %(reason)s, %(payload)s, %(payload_size)s, %(payload_sha256)s)
ON CONFLICT (payload_sha256, topic, coalesce(reading_index, -1)) DO NOTHING;
