-- hemkoll's database roles, least privilege: each service gets exactly what its SQL needs.
--
-- Run as a superuser (or a role with CREATEROLE that owns the schema), in the hemkoll
-- database, AFTER `hemkoll migrate`, and again after every upgrade: it is idempotent, and it
-- first takes back every privilege the service roles hold on the schema's tables, so a
-- privilege dropped from this file is dropped from the database too. Tables a new migration
-- adds get no privileges until this file grants them (tests/deploy/test_roles.py fails for a
-- table this file does not mention).
--
--   psql -v ON_ERROR_STOP=1 -d hemkoll -f deploy/postgres/roles.sql
--
-- No passwords here: deploy/postgres/apply-roles.sh sets them from the environment.
--
-- Roles
--   hemkoll_owner        owns the schema; runs `hemkoll migrate` and the operator commands
--                        (enrol, token create, thresholds, monitoring, backtest)
--   hemkoll_ingest       `hemkoll ingest`: stores readings and dead letters, queues evaluations
--   hemkoll_rules        `hemkoll rules`: evaluates patients, opens and raises alerts
--   hemkoll_dispatch     `hemkoll dispatch`: delivers the outbox, escalates red alerts
--   hemkoll_api          `hemkoll serve`: the care-team API; the audit log and the contact log
--                        INSERT and SELECT only
--   hemkoll_broker_auth  `hemkoll broker-auth`: reads the active devices' password hashes
--   hemkoll_metrics      (no login) the queue sizes every worker's /metrics samples
--
-- Only hemkoll_broker_auth and hemkoll_api (the FHIR ingest's device login) read
-- devices.credential_hash. Nobody but the owner may UPDATE,
-- DELETE or TRUNCATE audit_log or contact_log (and the tables' triggers refuse even the owner).
-- Where a service needs a row lock (SELECT ... FOR UPDATE) PostgreSQL requires UPDATE on some
-- column of the table: the column granted for that is named below with the reason.

-- 1. The roles (a concurrent run that creates one first is not an error). ------------------
DO $roles$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['hemkoll_owner', 'hemkoll_ingest', 'hemkoll_rules',
                                'hemkoll_dispatch', 'hemkoll_api', 'hemkoll_broker_auth'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN', name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hemkoll_metrics') THEN
        BEGIN
            CREATE ROLE hemkoll_metrics NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$roles$;

-- Service roles never own anything, create nothing, and cannot become anyone else.
ALTER ROLE hemkoll_ingest NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE hemkoll_rules NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE hemkoll_dispatch NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE hemkoll_api NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE hemkoll_broker_auth NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE hemkoll_owner NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- 2. The database: connect, and (ingest only) temporary tables. -----------------------------
DO $database$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT ALL ON DATABASE %I TO hemkoll_owner', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO hemkoll_ingest, hemkoll_rules, '
                   'hemkoll_dispatch, hemkoll_api, hemkoll_broker_auth', current_database());
    -- The ingest writer COPYs each batch into a session-local staging table.
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO hemkoll_ingest', current_database());
    -- So does the API's: the FHIR ingest route (POST /fhir/R4, hemkoll/api/fhir/ingest.py)
    -- and the patient app's questionnaire answers that are readings.
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO hemkoll_api', current_database());
END
$database$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO hemkoll_ingest, hemkoll_rules, hemkoll_dispatch, hemkoll_api,
    hemkoll_broker_auth, hemkoll_metrics;

-- 3. Start from nothing on every table, view and sequence of the schema. --------------------
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, hemkoll_ingest, hemkoll_rules,
    hemkoll_dispatch, hemkoll_api, hemkoll_broker_auth, hemkoll_metrics;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, hemkoll_ingest, hemkoll_rules,
    hemkoll_dispatch, hemkoll_api, hemkoll_broker_auth, hemkoll_metrics;
-- Column privileges are not covered by a table-level REVOKE: take those back too.
DO $columns$
DECLARE
    grant_row record;
BEGIN
    FOR grant_row IN
        SELECT DISTINCT table_name, grantee, privilege_type
        FROM information_schema.column_privileges
        WHERE table_schema = 'public'
          AND grantee IN ('hemkoll_ingest', 'hemkoll_rules', 'hemkoll_dispatch', 'hemkoll_api',
                          'hemkoll_broker_auth', 'hemkoll_metrics')
    LOOP
        EXECUTE format('REVOKE %s ON %I FROM %I', grant_row.privilege_type,
                       grant_row.table_name, grant_row.grantee);
    END LOOP;
END
$columns$;

-- 4. Metrics: every worker's /metrics samples the queues (hemkoll.observability.backlog). ---
GRANT SELECT (patient_id, requested_at) ON evaluation_queue TO hemkoll_metrics;
GRANT SELECT (state, created_at, next_attempt_at, lease_until) ON notifications
    TO hemkoll_metrics;
GRANT SELECT ON endpoint_health TO hemkoll_metrics;
GRANT hemkoll_metrics TO hemkoll_ingest, hemkoll_rules, hemkoll_dispatch, hemkoll_api;

-- 5. hemkoll_ingest (store/readings.py's batch writer: store/queries/readings.sql,
-- dead_letters.sql, evaluation_queue.sql; devices.sql: devices_by_id). ----------------------
GRANT SELECT (id, patient_id, kind, active, enrolled_at) ON devices TO hemkoll_ingest;
GRANT SELECT ON metrics TO hemkoll_ingest;
-- INSERT ... ON CONFLICT DO NOTHING, and for a batch with duplicates
-- RETURNING device_id, metric, measured_at.
GRANT INSERT ON readings TO hemkoll_ingest;
GRANT SELECT (device_id, metric, measured_at) ON readings TO hemkoll_ingest;
-- A redelivered message is dead-lettered once: ON CONFLICT on the dedup index reads its columns.
GRANT INSERT ON dead_letters TO hemkoll_ingest;
GRANT SELECT (payload_sha256, topic, reading_index) ON dead_letters TO hemkoll_ingest;
-- Patients of a batch are queued for evaluation in its transaction (an upsert).
GRANT INSERT ON evaluation_queue TO hemkoll_ingest;
-- The readings that prompted it (feedback_since, feedback_oldest) go with it, and its priority
-- (an urgent reading's patient first: migration 0023), which a later request only raises.
GRANT SELECT (patient_id, generation, priority, feedback_devices, feedback_since,
              feedback_oldest),
      UPDATE (generation, priority, feedback_devices, feedback_since, feedback_oldest)
      ON evaluation_queue TO hemkoll_ingest;

-- 6. hemkoll_rules (store/queries/evaluation_queue.sql, patients.sql, readings.sql, alerts.sql,
-- alert_actions.sql, notifications.sql, rule_overrides.sql, hospital_stays.sql). ----------
GRANT SELECT, INSERT, UPDATE, DELETE ON evaluation_queue TO hemkoll_rules;
-- Each evaluation stores the patient's next deadline; the scheduler queues passed ones.
GRANT SELECT, INSERT, UPDATE ON evaluation_deadlines TO hemkoll_rules;
GRANT SELECT (id, health_centre_id, reference, timezone, language, monitoring_paused_since,
              discharged_at) ON patients TO hemkoll_rules;
-- The evaluation holds the patient's row lock (patient_for_evaluation: FOR UPDATE), which
-- needs UPDATE on a column: id, which the rules never change and which the foreign keys of a
-- patient's devices, alerts and queue entry refuse to change anyway.
GRANT UPDATE (id) ON patients TO hemkoll_rules;
-- The centre's phone number goes into the patient's messages.
GRANT SELECT (id, escalation_contact, phone, webhook_format) ON health_centres TO hemkoll_rules;
GRANT SELECT (id, patient_id, active) ON devices TO hemkoll_rules;
GRANT SELECT ON rule_overrides TO hemkoll_rules;
-- Findings inside a patient's imported history open no alert (imported_history.sql).
GRANT SELECT ON imported_history TO hemkoll_rules;
-- Hospital stays silence the missing-measurement rules (hospital_stays_of_patients).
GRANT SELECT (patient_id, admitted_at, discharged_at) ON hospital_stays TO hemkoll_rules;
-- device_id and received_at: which readings prompted an evaluation (readings_received_since).
GRANT SELECT (patient_id, device_id, metric, value, measured_at, received_at)
      ON readings TO hemkoll_rules;
-- Opens alerts and raises their severity; acknowledging and resolving are the care team's,
-- except a missing-measurement alert the readings no longer bear out, which the rules resolve
-- (state, resolved_at, outcome 'reading_arrived': resolve_alert_by_rules).
GRANT SELECT, INSERT ON alerts TO hemkoll_rules;
GRANT UPDATE (severity, severity_since, last_fired_at, evidence, explanation_en,
              explanation_sv, state, resolved_at, outcome) ON alerts TO hemkoll_rules;
GRANT INSERT ON alert_events TO hemkoll_rules;
-- Which other rules' evidence an alert carries (alert_history_of_patients, 0025): the events'
-- alert, kind and details.
GRANT SELECT (alert_id, kind, details) ON alert_events TO hemkoll_rules;
GRANT INSERT ON notifications TO hemkoll_rules;
GRANT SELECT (id, health_centre_id, alert_id, patient_id) ON notifications TO hemkoll_rules;
-- A FHIR-format centre's notification gets the alert's evidence readings (snapshot_alert_evidence;
-- patient_id: a blood-pressure reading's other half is found among her readings).
GRANT UPDATE (evidence) ON notifications TO hemkoll_rules;

-- 7. hemkoll_dispatch (store/queries/notifications.sql, alert_actions.sql). ----------------
GRANT SELECT, INSERT ON notifications TO hemkoll_dispatch;
-- evidence: an escalation copies the alert's earlier snapshot (copy_alert_evidence); the
-- dispatcher renders FHIR bodies from the outbox row and is never granted readings.
GRANT UPDATE (lease_until, attempts, state, next_attempt_at, delivered_at, last_error, evidence)
    ON notifications TO hemkoll_dispatch;
GRANT INSERT ON notification_attempts TO hemkoll_dispatch;
-- Retention (notify/retention.py): settled notifications past the retention go, with their
-- attempts, through the owner's function (migration 0024), which never deletes a pending one;
-- the role holds no DELETE of its own.
GRANT EXECUTE ON FUNCTION delete_settled_notifications(timestamptz, integer)
    TO hemkoll_dispatch;
-- Each attempt on a centre's endpoint is kept in its health (an upsert: endpoint_health.sql).
GRANT SELECT, INSERT, UPDATE ON endpoint_health TO hemkoll_dispatch;
GRANT SELECT (id, name, notification_url, signing_secret, escalation_contact, escalation_url,
              escalation_signing_secret, escalate_after, webhook_format, care_provider_id)
      ON health_centres TO hemkoll_dispatch;
-- Escalation asks whether another unit of her care team sees her (shares_with_care_team,
-- migration 0022): the facts of the unit-level access decision, no patient data.
GRANT SELECT (patient_id, health_centre_id, started_at, ended_at)
      ON care_relationships TO hemkoll_dispatch;
GRANT SELECT (patient_id, care_provider_id, recorded_at, withdrawn_at)
      ON sharing_consents TO hemkoll_dispatch;
GRANT SELECT (patient_id, care_provider_id, recorded_at, lifted_at)
      ON sharing_blocks TO hemkoll_dispatch;
GRANT SELECT (id, health_centre_id, reference) ON patients TO hemkoll_dispatch;
GRANT SELECT (id, patient_id, active) ON devices TO hemkoll_dispatch;
-- Escalation locks due alerts (FOR UPDATE OF a) and marks them escalated: that one column.
GRANT SELECT ON alerts TO hemkoll_dispatch;
GRANT UPDATE (escalated_at) ON alerts TO hemkoll_dispatch;
GRANT INSERT ON alert_events TO hemkoll_dispatch;

-- 8. hemkoll_api (the care-team API: hemkoll/api/routes, and what they call in store/). ----
GRANT SELECT, INSERT, UPDATE ON health_centres TO hemkoll_api;
GRANT SELECT, INSERT, UPDATE ON patients TO hemkoll_api;
GRANT SELECT (id, patient_id, kind, active, enrolled_at, deactivated_at) ON devices
    TO hemkoll_api;
-- Enrols devices (the one-time password's hash goes in, never out) and deactivates them.
GRANT INSERT ON devices TO hemkoll_api;
GRANT UPDATE (active, deactivated_at) ON devices TO hemkoll_api;
GRANT SELECT ON metrics TO hemkoll_api;
GRANT SELECT ON readings TO hemkoll_api;
GRANT SELECT ON readings_hourly TO hemkoll_api;
-- FHIR ingest (POST /fhir/R4): the device's HTTP Basic login is checked against its hash, and
-- its Bundle is written as ingest writes a batch (the ingest role's grants in section 5); the
-- patient app's questionnaire answers that are readings are written the same way.
GRANT SELECT (credential_hash) ON devices TO hemkoll_api;
GRANT INSERT ON readings TO hemkoll_api;
GRANT INSERT ON dead_letters TO hemkoll_api;
GRANT SELECT (payload_sha256, topic, reading_index) ON dead_letters TO hemkoll_api;
-- (It queues the patient with the readings' feedback columns; INSERT is granted below.)
GRANT SELECT (priority, feedback_devices, feedback_since, feedback_oldest),
      UPDATE (priority, feedback_devices, feedback_since, feedback_oldest)
      ON evaluation_queue TO hemkoll_api;
GRANT SELECT, INSERT, UPDATE ON staff TO hemkoll_api;
GRANT SELECT, INSERT, UPDATE ON api_tokens TO hemkoll_api;
GRANT SELECT, UPDATE ON alerts TO hemkoll_api;
GRANT SELECT, INSERT ON alert_events TO hemkoll_api;
GRANT SELECT, INSERT ON rule_overrides TO hemkoll_api;
GRANT SELECT, INSERT, UPDATE ON notifications TO hemkoll_api;
GRANT SELECT ON notification_attempts TO hemkoll_api;
-- The console's follow-up page shows how the centre's endpoints fare.
GRANT SELECT ON endpoint_health TO hemkoll_api;
-- Discharging a patient takes them off the evaluation queue; changing her rules, pausing her
-- monitoring or recording a hospital stay queues her (an upsert that bumps the generation).
GRANT SELECT (patient_id, generation), INSERT, UPDATE (generation), DELETE ON evaluation_queue
    TO hemkoll_api;
-- Staff sign-in with the identity provider (docs/operations.md): a sign-in under way is kept until
-- its callback takes it (deleted then, or once expired); console sessions are opened, read,
-- and revoked; nothing else of a session changes and none is deleted.
GRANT SELECT, INSERT, DELETE ON oidc_sign_ins TO hemkoll_api;
GRANT SELECT, INSERT ON staff_sessions TO hemkoll_api;
GRANT UPDATE (revoked_at) ON staff_sessions TO hemkoll_api;
-- Access-log reviews (HSLF-FS 2016:40 ch. 4 §9): recorded and read, never changed; a review
-- of emergency accesses takes them off the list of those awaiting review.
GRANT SELECT, INSERT ON access_reviews TO hemkoll_api;
GRANT UPDATE (reviewed_at) ON emergency_accesses TO hemkoll_api;
-- The audit log: append and read, never change (docs/api.md).
GRANT SELECT, INSERT ON audit_log TO hemkoll_api;
-- The patients' contact log, append-only too: a correction is a new entry (a resolve note
-- goes in with the alert's resolution).
GRANT SELECT, INSERT ON contact_log TO hemkoll_api;
-- Hospital stays: recorded, read, and an open stay's discharge recorded; nothing else of a
-- stay changes, and none is removed.
GRANT SELECT, INSERT ON hospital_stays TO hemkoll_api;
GRANT UPDATE (discharged_at) ON hospital_stays TO hemkoll_api;
-- The patient app (docs/patient.md): codes used once, sessions ended, requests moved on,
-- messages marked read, goals removed; nothing else of them changes and none is deleted.
GRANT SELECT, INSERT ON patient_codes TO hemkoll_api;
GRANT UPDATE (used_at) ON patient_codes TO hemkoll_api;
GRANT SELECT, INSERT ON patient_sessions TO hemkoll_api;
GRANT UPDATE (revoked_at) ON patient_sessions TO hemkoll_api;
GRANT SELECT, INSERT ON contact_requests TO hemkoll_api;
GRANT UPDATE (state, seen_at, seen_by, handled_at, handled_by) ON contact_requests TO hemkoll_api;
GRANT SELECT, INSERT ON care_messages TO hemkoll_api;
GRANT UPDATE (read_at) ON care_messages TO hemkoll_api;
GRANT SELECT, INSERT ON questionnaire_responses TO hemkoll_api;
-- Her questionnaire answers that are readings go through the ingest's batch writer
-- (store/readings.py) with the FHIR ingest's grants above.
GRANT SELECT, INSERT ON patient_goals TO hemkoll_api;
GRANT UPDATE (removed_at) ON patient_goals TO hemkoll_api;

-- The care team across care providers (migration 0020, docs/operations.md): providers and their
-- units are read to decide each access and created by administrators; a care relationship is
-- ended, a consent withdrawn, a block lifted (their one column each), none is removed or
-- rewritten. An emergency access is recorded and read; nothing of it changes here.
GRANT SELECT, INSERT ON care_providers TO hemkoll_api;
GRANT SELECT, INSERT ON care_relationships TO hemkoll_api;
GRANT UPDATE (ended_at) ON care_relationships TO hemkoll_api;
GRANT SELECT, INSERT ON sharing_consents TO hemkoll_api;
GRANT UPDATE (withdrawn_at) ON sharing_consents TO hemkoll_api;
GRANT SELECT, INSERT ON sharing_blocks TO hemkoll_api;
GRANT UPDATE (lifted_at) ON sharing_blocks TO hemkoll_api;
GRANT SELECT, INSERT ON emergency_accesses TO hemkoll_api;

-- 9. hemkoll_broker_auth (devices.sql: active_device_credentials). ------------------------
GRANT SELECT (id, credential_hash, active) ON devices TO hemkoll_broker_auth;

-- 10. The rollup readings_hourly. On plain PostgreSQL it is a table kept by a trigger on
-- readings that runs as the inserting role (ingest, and the API for its FHIR ingest and the
-- patient app's answers); on TimescaleDB it is a continuous aggregate, maintained by
-- TimescaleDB's own jobs, and they need nothing on it.
DO $rollup$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relname = 'readings_hourly'
                 AND c.relkind = 'r') THEN
        GRANT SELECT, INSERT, UPDATE ON readings_hourly TO hemkoll_ingest;
        GRANT INSERT, UPDATE ON readings_hourly TO hemkoll_api;
    END IF;
END
$rollup$;

-- Tables no service role touches (the owner's alone): schema_migrations.
