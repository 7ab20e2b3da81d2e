-- Hospital stays: a patient in hospital is measured by the ward, not at home. While she is in
-- (and hemkoll.rules.stays.DISCHARGE_GRACE after she is out) the missing-measurement rules are
-- silent, and readings taken during the stay are left out of her baselines and trends: the
-- rules worker and the backtest read this table (hospital_stays_of_patients).
--
-- A stay is recorded by a nurse or clinician (recorded_by) when she is admitted, or afterwards;
-- discharged_at is NULL while she is in, and is then set once (the API's role may change that
-- column only). A patient has at most one open stay, and her stays never overlap: the
-- exclusion constraint needs btree_gist (uuid equality in a GiST index), a contrib extension
-- marked trusted, so the database owner creates it without a superuser.
--
-- admitted_at may be in the past (recorded after the fact), never more than a few minutes'
-- clock skew ahead of when it was recorded.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE hospital_stays (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id     uuid NOT NULL REFERENCES patients (id),
    admitted_at    timestamptz NOT NULL,
    discharged_at  timestamptz,
    note           text CHECK (note IS NULL OR length(note) <= 500),
    recorded_by    uuid NOT NULL REFERENCES staff (id),
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (discharged_at IS NULL OR discharged_at > admitted_at),
    CHECK (admitted_at <= recorded_at + interval '5 minutes'),
    -- [admitted_at, discharged_at): an open stay runs on without an end.
    CONSTRAINT hospital_stays_no_overlap EXCLUDE USING gist (
        patient_id WITH =, tstzrange(admitted_at, discharged_at, '[)') WITH &&
    )
);
CREATE UNIQUE INDEX hospital_stays_one_open ON hospital_stays (patient_id)
    WHERE discharged_at IS NULL;
-- A patient's stays newest first (the API's list), and the rules worker's batch
-- (patient_id = ANY(...), which the GiST index above does not serve as well).
CREATE INDEX hospital_stays_patient_idx ON hospital_stays (patient_id, admitted_at DESC);
