-- The patient's own side (docs/patient.md): her sign-in with a one-time enrolment code, her
-- sessions, her requests for contact, the secure messages between her and her care team,
-- her questionnaire answers and what matters to her; and the audit log learns to name a
-- patient session as the actor of an access.

-- A one-time enrolment code a nurse gives the patient (printed, or read out). Only its hash
-- is kept (SHA-256 of the normalised code: the code has ~50 bits of entropy and the exchange
-- is rate limited, so a slow hash buys nothing). Used once (used_at), then never again.
CREATE TABLE patient_codes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  uuid NOT NULL REFERENCES patients (id),
    code_hash   bytea NOT NULL UNIQUE,
    created_by  uuid NOT NULL REFERENCES staff (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX patient_codes_patient_idx ON patient_codes (patient_id);

-- A patient's session in her app: the cookie holds a random token, the table its hash; a
-- session ends when it expires or is revoked (by her signing out, or by staff).
CREATE TABLE patient_sessions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  uuid NOT NULL REFERENCES patients (id),
    token_hash  bytea NOT NULL UNIQUE,
    code_id     uuid REFERENCES patient_codes (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX patient_sessions_patient_idx ON patient_sessions (patient_id);

-- The audit log names its actor: a member of staff (staff_id) or a patient's session.
ALTER TABLE audit_log ADD COLUMN patient_session_id uuid;

-- "Please contact me": received (new), seen (a nurse has opened it), handled (done).
-- worry: how worried she is, 1 (a little) to 3 (very); it sets the item's priority.
CREATE TABLE contact_requests (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  uuid NOT NULL REFERENCES patients (id),
    reason      text CHECK (reason IS NULL OR length(btrim(reason)) BETWEEN 1 AND 1000),
    worry       smallint NOT NULL CHECK (worry BETWEEN 1 AND 3),
    state       text NOT NULL DEFAULT 'received'
                CHECK (state IN ('received', 'seen', 'handled')),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    seen_at     timestamptz,
    seen_by     uuid REFERENCES staff (id),
    handled_at  timestamptz,
    handled_by  uuid REFERENCES staff (id),
    CHECK ((state = 'received') = (seen_at IS NULL)),
    CHECK ((state = 'handled') = (handled_at IS NOT NULL))
);
CREATE INDEX contact_requests_open_idx ON contact_requests (patient_id, created_at DESC);

-- A contact request is notified to the health centre like an alert: the outbox holds it.
ALTER TABLE notifications ADD COLUMN contact_request_id uuid REFERENCES contact_requests (id);
ALTER TABLE notifications DROP CONSTRAINT notifications_check1;
ALTER TABLE notifications ADD CONSTRAINT notifications_subject_check
    CHECK (channel = 'device' OR (alert_id IS NULL) <> (contact_request_id IS NULL));
ALTER TABLE notifications DROP CONSTRAINT notifications_event_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_event_check CHECK (event IN (
    'alert.opened', 'alert.severity_raised', 'alert.escalated', 'alert.acknowledged',
    'readings.in_range', 'readings.received', 'readings.measure_again',
    'readings.severe_symptom', 'patient.contact_requested'));

-- Secure messages between the patient and her care team, in threads: a thread is its first
-- message's id (thread_id = id for the first). Written by her (author_staff NULL) or by staff.
-- Never changed, except that the other side's reading it is noted (read_at).
CREATE TABLE care_messages (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id    uuid NOT NULL REFERENCES patients (id),
    thread_id     uuid NOT NULL,
    author_staff  uuid REFERENCES staff (id),
    body          text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 2000),
    sent_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    read_at       timestamptz,
    UNIQUE (patient_id, id),
    FOREIGN KEY (patient_id, thread_id) REFERENCES care_messages (patient_id, id)
);
CREATE INDEX care_messages_patient_idx ON care_messages (patient_id, sent_at DESC);

-- A questionnaire's answers (definitions: hemkoll/api/mitt/questionnaires.py, FHIR
-- Questionnaire shape): answers by linkId, and the score where the instrument has one.
CREATE TABLE questionnaire_responses (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id     uuid NOT NULL REFERENCES patients (id),
    questionnaire  text NOT NULL,
    answers        jsonb NOT NULL,
    score          double precision,
    authored_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX questionnaire_responses_patient_idx
    ON questionnaire_responses (patient_id, questionnaire, authored_at DESC);

-- What matters to her: goals and preferences in her own words; removed, not deleted.
CREATE TABLE patient_goals (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  uuid NOT NULL REFERENCES patients (id),
    kind        text NOT NULL CHECK (kind IN ('goal', 'preference')),
    text        text NOT NULL CHECK (length(btrim(text)) BETWEEN 1 AND 300),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    removed_at  timestamptz
);
CREATE INDEX patient_goals_patient_idx ON patient_goals (patient_id) WHERE removed_at IS NULL;
