-- readings_hourly: per patient, metric and UTC hour, the count, min, max and sum of the values
-- and the newest reading (its measured_at and value). The API folds these hours into the
-- patient's local days, so a year of a continuous wearable (525,600 readings) is read as 8,760
-- rows. Hourly rather than daily: a day in Europe/Stockholm (UTC+1/+2), or in any time zone
-- whose offset is a whole number of hours, is a whole number of UTC hours, so one rollup
-- serves every patient's time zone and both sides of a daylight-saving change.
--
-- hemkoll only ever adds readings: it never updates or deletes one (a resent reading conflicts
-- on the key and adds nothing). The rollup therefore follows INSERTs only. On the TimescaleDB
-- path the one removal there is, the ten-year retention of readings (0001), is matched by a
-- retention policy of the same age on the rollup below; the plain path has no retention.
--
-- Same columns, same names and types on both paths, so the query code is one.

DO $rollup$
DECLARE
    hypertable boolean := false;
BEGIN
    -- The guard of 0001 (installed and preloaded), and readings must be a hypertable.
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND current_setting('shared_preload_libraries', true) LIKE '%timescaledb%'
       AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables'
                ' WHERE hypertable_schema = current_schema() AND hypertable_name = $1)'
            INTO hypertable USING 'readings';
    END IF;

    IF hypertable THEN
        -- TimescaleDB path (2.x API), taken only when readings is a hypertable (0001 made it
        -- one). Statement-level triggers with transition tables, the plain path below, are refused
        -- on hypertables by most 2.x releases (timescale/timescaledb#1084, only lately lifted);
        -- a continuous aggregate is the tool there anyway. Every statement is EXECUTEd, so that plain PostgreSQL never parses
        -- or resolves extension-only syntax and names. (last() picks one of two readings measured
        -- at the same instant by two devices arbitrarily; the plain path takes the larger.)
        --
        -- WITH NO DATA: a continuous aggregate created WITH DATA (the default) refreshes at
        -- once, which cannot run inside a transaction block or a function (this DO block, and
        -- hemkoll migrate runs every migration in a transaction): TimescaleDB raises
        -- "CREATE MATERIALIZED VIEW ... WITH DATA cannot be executed from a function". Created
        -- empty, nothing is lost: with real-time aggregation on (materialized_only = false;
        -- the default became true in TimescaleDB 2.13, so it is set explicitly) every bucket
        -- above the watermark, i.e. all of them until the first refresh, is aggregated from
        -- readings at query time; the policy's first run then materialises the history.
        EXECUTE $cagg$
            CREATE MATERIALIZED VIEW readings_hourly
            WITH (timescaledb.continuous,
                  timescaledb.materialized_only = false,
                  timescaledb.create_group_indexes = false) AS
            SELECT patient_id,
                   metric,
                   time_bucket(INTERVAL '1 hour', measured_at) AS hour,
                   count(*) AS n,
                   min(value) AS min_value,
                   max(value) AS max_value,
                   sum(value) AS sum_value,
                   max(measured_at) AS last_at,
                   last(value, measured_at) AS last_value
            FROM readings
            GROUP BY patient_id, metric, time_bucket(INTERVAL '1 hour', measured_at)
            WITH NO DATA
        $cagg$;
        -- The one lookup the API makes: a patient's metrics over a time range.
        EXECUTE 'CREATE INDEX readings_hourly_patient_metric_hour_idx'
                ' ON readings_hourly (patient_id, metric, hour)';
        -- Refresh window: start_offset NULL (from the oldest reading), end_offset 1 hour (the
        -- current hour keeps changing; real-time aggregation serves it), every 15 minutes.
        -- Not a bounded start such as 30 days: a bucket older than the window is never
        -- materialised, and once the watermark has passed it real-time aggregation no longer
        -- covers it, so a device's backlog older than the window, and every reading stored
        -- before this migration, would silently be missing from the daily view. Devices resend
        -- backlogs of days, hemkoll accepts any reading measured after its device's enrolment,
        -- and a missing day in a clinical chart is worse than a refresh that costs more.
        -- The cost is bounded: a refresh only re-materialises buckets invalidated by inserts
        -- since the previous run (TimescaleDB tracks invalidations per time range, for all
        -- patients at once), so a steady state costs the last few hours, and a backlog of days
        -- costs those days once.
        EXECUTE $policy$
            SELECT add_continuous_aggregate_policy('readings_hourly',
                start_offset => NULL,
                end_offset => INTERVAL '1 hour',
                schedule_interval => INTERVAL '15 minutes')
        $policy$;
        -- The rollup goes when its readings go (0001: ten years, patientdatalagen 3 kap. 17 §).
        -- A retention policy on readings does not apply to its continuous aggregates.
        EXECUTE $retention$
            SELECT add_retention_policy('readings_hourly', drop_after => INTERVAL '10 years')
        $retention$;
    ELSE
        -- Plain PostgreSQL path: a table kept by a statement-level trigger.
        CREATE TABLE readings_hourly (
            patient_id  uuid NOT NULL,
            metric      text NOT NULL,
            -- Start of the UTC hour.
            hour        timestamptz NOT NULL,
            n           bigint NOT NULL,
            min_value   double precision NOT NULL,
            max_value   double precision NOT NULL,
            sum_value   double precision NOT NULL,
            -- measured_at and value of the hour's newest reading (of two measured at the same
            -- instant by two devices, the larger value, so the result does not depend on which
            -- arrived first).
            last_at     timestamptz NOT NULL,
            last_value  double precision NOT NULL,
            PRIMARY KEY (patient_id, metric, hour)
        );

        -- One set-based upsert per INSERT statement on readings. The transition table holds
        -- the rows the statement actually inserted: the ingest writer's
        -- INSERT ... ON CONFLICT DO NOTHING leaves duplicates out of it, so a resent reading
        -- is not counted twice. Rows are upserted in key order so that two concurrent writers
        -- lock the hours they share in the same order and cannot deadlock on them.
        CREATE FUNCTION readings_hourly_add() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            INSERT INTO readings_hourly AS h
                (patient_id, metric, hour, n, min_value, max_value, sum_value, last_at,
                 last_value)
            SELECT patient_id, metric, date_trunc('hour', measured_at, 'UTC'), count(*),
                   min(value), max(value), sum(value), max(measured_at),
                   (array_agg(value ORDER BY measured_at DESC, value DESC))[1]
            FROM inserted
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3
            ON CONFLICT (patient_id, metric, hour) DO UPDATE SET
                n = h.n + EXCLUDED.n,
                min_value = least(h.min_value, EXCLUDED.min_value),
                max_value = greatest(h.max_value, EXCLUDED.max_value),
                sum_value = h.sum_value + EXCLUDED.sum_value,
                last_value = CASE
                    WHEN (EXCLUDED.last_at, EXCLUDED.last_value) > (h.last_at, h.last_value)
                    THEN EXCLUDED.last_value ELSE h.last_value END,
                last_at = greatest(h.last_at, EXCLUDED.last_at);
            RETURN NULL;
        END
        $fn$;

        -- Writers wait from here to the end of the migration, so that no reading committed
        -- between the backfill's snapshot and the trigger's creation is missed.
        LOCK TABLE readings IN SHARE ROW EXCLUSIVE MODE;

        CREATE TRIGGER readings_hourly_rollup
            AFTER INSERT ON readings
            REFERENCING NEW TABLE AS inserted
            FOR EACH STATEMENT EXECUTE FUNCTION readings_hourly_add();

        -- Backfill what is already stored.
        INSERT INTO readings_hourly
            (patient_id, metric, hour, n, min_value, max_value, sum_value, last_at, last_value)
        SELECT patient_id, metric, date_trunc('hour', measured_at, 'UTC'), count(*),
               min(value), max(value), sum(value), max(measured_at),
               (array_agg(value ORDER BY measured_at DESC, value DESC))[1]
        FROM readings
        GROUP BY 1, 2, 3;
    END IF;
END
$rollup$;
