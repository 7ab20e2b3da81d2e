-- The care team: staff and their API tokens, the health centre's notification settings, alert
-- assignment, comments and escalation, the notification outbox with its delivery log, patient
-- discharge, and the append-only audit log of every access to patient data.

-- Where a health centre is told about its patients' alerts (Standard Webhooks, signed with
-- its own secret), and who takes over an urgent alert nobody acknowledged in time (e.g. the
-- municipality's home-care nursing on call), with its own endpoint and secret.
ALTER TABLE health_centres
    ADD COLUMN notification_url text CHECK (notification_url ~ '^https?://'),
    ADD COLUMN signing_secret text CHECK (signing_secret ~ '^whsec_'),
    ADD COLUMN escalation_contact text CHECK (length(escalation_contact) BETWEEN 1 AND 200),
    ADD COLUMN escalation_url text CHECK (escalation_url ~ '^https?://'),
    ADD COLUMN escalation_signing_secret text CHECK (escalation_signing_secret ~ '^whsec_'),
    ADD COLUMN escalate_after interval NOT NULL DEFAULT interval '2 hours'
        CHECK (escalate_after >= interval '1 minute' AND escalate_after <= interval '7 days'),
    ADD CONSTRAINT health_centres_notification_pair
        CHECK ((notification_url IS NULL) = (signing_secret IS NULL)),
    ADD CONSTRAINT health_centres_escalation_pair
        CHECK ((escalation_url IS NULL) = (escalation_signing_secret IS NULL));

-- A discharged patient is no longer monitored: evaluation skips them and their devices are
-- deactivated in the same transaction. Their data stays (patient-record law).
ALTER TABLE patients ADD COLUMN discharged_at timestamptz;

-- Staff: nurses and clinicians belong to one health centre; administrators may belong to one
-- (they then administer only it) or to none (the region's administrators).
CREATE TABLE staff (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role              text NOT NULL CHECK (role IN ('admin', 'clinician', 'nurse')),
    health_centre_id  uuid REFERENCES health_centres (id),
    active            boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (role = 'admin' OR health_centre_id IS NOT NULL)
);
CREATE INDEX staff_health_centre_idx ON staff (health_centre_id);

-- Bearer tokens, kept only as SHA-256 of the token (256 random bits: a slow hash adds
-- nothing). An OIDC provider can replace them: the API only needs a staff row per identity.
CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    staff_id      uuid NOT NULL REFERENCES staff (id),
    token_sha256  bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_staff_idx ON api_tokens (staff_id);

-- Alerts: who has taken it, since when it has its current severity (escalation counts from
-- the moment it turned red), and when it was escalated (once).
ALTER TABLE alerts
    ADD COLUMN assigned_to uuid REFERENCES staff (id),
    ADD COLUMN severity_since timestamptz,
    ADD COLUMN escalated_at timestamptz;
UPDATE alerts SET severity_since = opened_at;
ALTER TABLE alerts
    ALTER COLUMN severity_since SET NOT NULL,
    ALTER COLUMN severity_since SET DEFAULT now();
CREATE INDEX alerts_escalation_due_idx ON alerts (severity_since)
    WHERE state = 'open' AND severity = 'red' AND escalated_at IS NULL;

ALTER TABLE alert_events DROP CONSTRAINT alert_events_kind_check;
ALTER TABLE alert_events ADD CONSTRAINT alert_events_kind_check CHECK (kind IN (
    'opened', 'severity_raised', 'acknowledged', 'resolved', 'assigned', 'commented',
    'escalated'));

-- The outbox. A row is written in the transaction that opens, raises, escalates or
-- acknowledges an alert (or that evaluates a reading the patient should hear about), so a
-- committed change is always announced. The dispatcher delivers it:
--   pending -> delivered
--   pending -> expired   (the retry schedule ran out, about three days)
--   pending -> gone      (the endpoint answered 410 Gone, or there is none to send to)
-- and a redelivery puts any of them back to pending. Several dispatchers claim rows with a
-- lease (SKIP LOCKED); the id is the Standard Webhooks webhook-id and never changes, so a
-- receiver drops the copy it gets when a dispatcher died between sending and recording.
CREATE TABLE notifications (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    health_centre_id  uuid NOT NULL REFERENCES health_centres (id),
    patient_id        uuid NOT NULL REFERENCES patients (id),
    alert_id          uuid REFERENCES alerts (id),
    -- care_team: the health centre's webhook; escalation: its escalation contact's webhook;
    -- device: the device's MQTT feedback topic.
    channel           text NOT NULL CHECK (channel IN ('care_team', 'escalation', 'device')),
    device_id         uuid REFERENCES devices (id),
    event             text NOT NULL CHECK (event IN (
                          'alert.opened', 'alert.severity_raised', 'alert.escalated',
                          'alert.acknowledged', 'readings.in_range')),
    payload           jsonb NOT NULL,
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'delivered', 'expired', 'gone')),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    lease_until       timestamptz,
    delivered_at      timestamptz,
    last_error        text,
    CHECK ((channel = 'device') = (device_id IS NOT NULL)),
    CHECK (channel = 'device' OR alert_id IS NOT NULL),
    CHECK ((state = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_alert_idx ON notifications (alert_id, created_at);

-- Every delivery attempt: the delivery log a nurse or an operator reads.
CREATE TABLE notification_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id  uuid NOT NULL REFERENCES notifications (id),
    attempt          integer NOT NULL,
    started_at       timestamptz NOT NULL,
    duration_ms      integer NOT NULL,
    -- delivered, retry (failed, tried again later), expired, gone.
    result           text NOT NULL CHECK (result IN ('delivered', 'retry', 'expired', 'gone')),
    status_code      integer,
    error            text
);
CREATE INDEX notification_attempts_notification_idx
    ON notification_attempts (notification_id, attempt);

-- Patients whose devices sent readings since their last evaluation: they are told whether
-- their values look as usual once they are evaluated.
ALTER TABLE evaluation_queue ADD COLUMN feedback_devices uuid[] NOT NULL DEFAULT '{}';

-- The audit log: who (staff and role) did what (method and route) to which patient, when,
-- from where, and with what result. Rows are only ever added: the trigger below refuses any
-- change or removal, whoever asks, and the API's database role is granted INSERT and SELECT
-- only (deploy/). A request that lists several patients writes a row per patient shown.
CREATE TABLE audit_log (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                timestamptz NOT NULL DEFAULT clock_timestamp(),
    staff_id          uuid,
    role              text,
    action            text NOT NULL,
    status            integer NOT NULL,
    health_centre_id  uuid,
    patient_id        uuid,
    object_type       text,
    object_id         text,
    client_address    inet
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_patient_idx ON audit_log (patient_id, at DESC) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_log_staff_idx ON audit_log (staff_id, at DESC);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
