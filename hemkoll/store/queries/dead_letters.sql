-- name: insert_dead_letter
INSERT INTO dead_letters
    (received_at, topic, device_id, msg_id, reading_index, reason_code, reason,
     payload, payload_size, payload_sha256)
VALUES
    (%(received_at)s, %(topic)s, %(device_id)s, %(msg_id)s, %(reading_index)s, %(reason_code)s,
     %(reason)s, %(payload)s, %(payload_size)s, %(payload_sha256)s)
ON CONFLICT (payload_sha256, topic, coalesce(reading_index, -1)) DO NOTHING;
