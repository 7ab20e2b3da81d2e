-- readings keeps one index instead of two: the primary key becomes
-- (patient_id, metric, measured_at, device_id), which serves both the dedup of ingest and
-- every read (a patient's metric over a time range, ordered by time and device), and the
-- separate readings_patient_metric_time_idx goes. Each stored reading then updates one B-tree
-- rather than two: measured here (bench/ingest.py's 300,000 readings written through the
-- ingest statements), the INSERT took 27 % less time.
--
-- The identity of a reading does not change. It is still (device, metric, measured_at): a
-- device belongs to one patient for good (devices.patient_id is set at enrolment and never
-- updated; a patient's new device is a new device), and ingest takes a reading's patient_id
-- from its device, so two rows with the same (device_id, metric, measured_at) always have the
-- same patient_id and collide on this key as they did on the old one.
--
-- The rebuild takes an ACCESS EXCLUSIVE lock on readings for as long as the new index takes to
-- build (on the order of a minute per 10 million rows here). Ingest waits meanwhile and the
-- broker keeps the messages (nothing is acknowledged before it is stored).
--
-- Plain PostgreSQL only. On the TimescaleDB path (0001) readings is a hypertable with
-- compression enabled, on which TimescaleDB refuses to drop or add constraints ("operation not
-- supported on hypertables that have compression enabled", timescale/timescaledb#2878 and
-- #5595); there it keeps its two indexes. ingest.sql's INSERT names no conflict target
-- (ON CONFLICT DO NOTHING), so the same statement works with either key.
DO $one_index$
DECLARE
    hypertable boolean := false;
BEGIN
    -- The test of 0006: readings is a hypertable (EXECUTEd, so that plain PostgreSQL never
    -- resolves TimescaleDB's names).
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables'
                ' WHERE hypertable_schema = current_schema() AND hypertable_name = $1)'
            INTO hypertable USING 'readings';
    END IF;
    IF NOT hypertable THEN
        ALTER TABLE readings DROP CONSTRAINT readings_pkey;
        ALTER TABLE readings
            ADD CONSTRAINT readings_pkey PRIMARY KEY (patient_id, metric, measured_at, device_id);
        DROP INDEX readings_patient_metric_time_idx;
    END IF;
END
$one_index$;
