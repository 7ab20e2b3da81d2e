-- Registry (health centres, patients, devices), the readings time series and dead letters.
--
-- Patients are pseudonymous: a patient is known only by the health centre's own reference.
-- No personal identity number is ever stored (the API and CLI refuse references that look
-- like one).

CREATE TABLE health_centres (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    -- IANA time zone of the centre; time-of-day rules of its patients default to it.
    timezone    text NOT NULL DEFAULT 'Europe/Stockholm',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE patients (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    health_centre_id  uuid NOT NULL REFERENCES health_centres (id),
    -- The health centre's own reference for the patient (pseudonymous).
    reference         text NOT NULL CHECK (length(reference) BETWEEN 1 AND 64),
    timezone          text NOT NULL DEFAULT 'Europe/Stockholm',
    language          text NOT NULL DEFAULT 'sv' CHECK (language IN ('sv', 'en')),
    enrolled_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (health_centre_id, reference)
);

CREATE TABLE devices (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id       uuid NOT NULL REFERENCES patients (id),
    kind             text NOT NULL CHECK (kind IN (
                         'scale', 'blood_pressure_monitor', 'pulse_oximeter', 'thermometer',
                         'symptom_questionnaire', 'gateway')),
    active           boolean NOT NULL DEFAULT true,
    enrolled_at      timestamptz NOT NULL DEFAULT now(),
    deactivated_at   timestamptz,
    -- Mosquitto PBKDF2-SHA512 hash ("$7$iterations$salt$hash") of the device's MQTT password,
    -- so the broker's password file is written from the registry without any plaintext.
    credential_hash  text NOT NULL,
    CHECK (active OR deactivated_at IS NOT NULL)
);
CREATE INDEX devices_patient_id_idx ON devices (patient_id);

-- One row per metric the protocol knows: canonical UCUM unit and LOINC code.
-- Kept equal to hemkoll.ingest.metrics.METRICS by a test.
CREATE TABLE metrics (
    metric          text PRIMARY KEY,
    canonical_unit  text NOT NULL,
    loinc           text,
    description     text NOT NULL
);
INSERT INTO metrics (metric, canonical_unit, loinc, description) VALUES
    ('body_weight',            'kg',      '29463-7', 'Body weight'),
    ('systolic_bp',            'mm[Hg]',  '8480-6',  'Systolic blood pressure'),
    ('diastolic_bp',           'mm[Hg]',  '8462-4',  'Diastolic blood pressure'),
    ('heart_rate',             '/min',    '8867-4',  'Heart rate'),
    ('spo2',                   '%',       '59408-5', 'Oxygen saturation by pulse oximetry'),
    ('body_temperature',       'Cel',     '8310-5',  'Body temperature'),
    ('symptom_breathlessness', '{score}', NULL,      'Breathlessness, 0 none to 3 at rest'),
    ('symptom_ankle_swelling', '{score}', NULL,      'Ankle swelling, 0 none to 3 severe'),
    ('symptom_fatigue',        '{score}', NULL,      'Fatigue, 0 none to 3 severe');

-- The time series. A reading is identified by (device, metric, measured_at): a resent
-- backlog, whatever its msg_id, conflicts on this key and adds nothing.
CREATE TABLE readings (
    patient_id   uuid NOT NULL,
    device_id    uuid NOT NULL,
    metric       text NOT NULL,
    value        double precision NOT NULL,
    measured_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, metric, measured_at)
);
-- The query every consumer makes: this patient's metric over a time range.
CREATE INDEX readings_patient_metric_time_idx ON readings (patient_id, metric, measured_at DESC);

-- TimescaleDB path (2.x API). Taken only when the extension is installed and preloaded; on
-- plain PostgreSQL readings stays an ordinary table with the same columns and keys.
--   * hypertable on measured_at, 7-day chunks (a year of one patient's readings spans ~52
--     chunks; the index above prunes within each);
--   * compression segmented by patient and metric, ordered by time, after 30 days: devices
--     resend backlogs of days, not months, and TimescaleDB >= 2.11 accepts
--     INSERT ... ON CONFLICT DO NOTHING into compressed chunks all the same;
--   * retention 10 years: Swedish patient-record law (patientdatalagen 3 kap. 17 §) keeps
--     records at least ten years after the last entry.
DO $timescale$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND current_setting('shared_preload_libraries', true) LIKE '%timescaledb%' THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        PERFORM create_hypertable('readings', by_range('measured_at', INTERVAL '7 days'));
        ALTER TABLE readings SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'patient_id, metric',
            timescaledb.compress_orderby = 'measured_at DESC'
        );
        PERFORM add_compression_policy('readings', compress_after => INTERVAL '30 days');
        PERFORM add_retention_policy('readings', drop_after => INTERVAL '10 years');
    END IF;
END
$timescale$;

-- Every rejected message or reading, with why. The raw payload is kept up to 64 KiB (the
-- protocol's limit); a larger one keeps its first 4 KiB and its true size.
CREATE TABLE dead_letters (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at        timestamptz NOT NULL DEFAULT now(),
    topic              text NOT NULL,
    device_id          uuid,
    msg_id             text,
    -- Index of the rejected reading within the message; NULL when the whole message was.
    reading_index      integer,
    reason_code        text NOT NULL,
    reason             text NOT NULL,
    payload            bytea NOT NULL,
    payload_size       integer NOT NULL,
    payload_sha256     bytea NOT NULL
);
-- A message redelivered after a crash between commit and PUBACK is dead-lettered once.
CREATE UNIQUE INDEX dead_letters_once_idx
    ON dead_letters (payload_sha256, topic, coalesce(reading_index, -1));
CREATE INDEX dead_letters_received_at_idx ON dead_letters (received_at DESC);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason_code, received_at DESC);
