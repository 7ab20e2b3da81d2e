-- Alerts raised by the rules engine, their history, and the queue of patients to evaluate.

-- An alert is open -> acknowledged -> resolved (with an outcome). At most one alert per patient
-- and rule is not resolved at any time: the partial unique index below enforces it, whatever
-- the number of rules workers.
CREATE TABLE alerts (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id         uuid NOT NULL REFERENCES patients (id),
    rule_id            text NOT NULL,
    rule_kind          text NOT NULL,
    -- The name of the rule set (with its version) whose rule fired.
    rule_set           text NOT NULL,
    state              text NOT NULL DEFAULT 'open'
                       CHECK (state IN ('open', 'acknowledged', 'resolved')),
    severity           text NOT NULL CHECK (severity IN ('yellow', 'red')),
    opened_at          timestamptz NOT NULL DEFAULT now(),
    -- measured_at of the reading that fired it first, and of the latest finding seen for it.
    first_fired_at     timestamptz NOT NULL,
    last_fired_at      timestamptz NOT NULL,
    -- The finding that set the current severity: evidence and sentences for the nurse.
    evidence           jsonb NOT NULL,
    explanation_en     text NOT NULL,
    explanation_sv     text NOT NULL,
    acknowledged_at    timestamptz,
    resolved_at        timestamptz,
    outcome            text CHECK (outcome IN ('contacted_patient', 'medication_adjusted',
                           'referred', 'no_action_needed', 'false_alarm')),
    CHECK (last_fired_at >= first_fired_at),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL AND outcome IS NOT NULL)),
    CHECK (state = 'open' OR acknowledged_at IS NOT NULL OR state = 'resolved')
);
CREATE UNIQUE INDEX alerts_one_unresolved_per_rule_idx
    ON alerts (patient_id, rule_id) WHERE state <> 'resolved';
CREATE INDEX alerts_patient_rule_idx ON alerts (patient_id, rule_id, last_fired_at DESC);
CREATE INDEX alerts_unresolved_idx ON alerts (severity, opened_at) WHERE state <> 'resolved';

-- Append-only history of every alert: opened, severity raised, acknowledged, resolved.
CREATE TABLE alert_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    uuid NOT NULL REFERENCES alerts (id),
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('opened', 'severity_raised', 'acknowledged',
                    'resolved')),
    severity    text CHECK (severity IN ('yellow', 'red')),
    -- Who did it: 'rules' for the engine, otherwise the staff member (from the API).
    actor       text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, at);

-- Patients whose readings changed (or whose time-based rules are due) and must be evaluated.
-- Written in the ingest transaction, so a committed reading always gets evaluated. Workers
-- claim rows with a lease (SKIP LOCKED), so several can run; a worker that dies loses only its
-- lease. A failed evaluation is retried after not_before, with the error kept.
CREATE TABLE evaluation_queue (
    patient_id    uuid PRIMARY KEY REFERENCES patients (id),
    requested_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    lease_until   timestamptz,
    not_before    timestamptz NOT NULL DEFAULT '-infinity',
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text
);
CREATE INDEX evaluation_queue_due_idx ON evaluation_queue (requested_at);
