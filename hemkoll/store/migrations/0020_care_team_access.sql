-- One care team across care providers (issue 16; docs/access.md): the region's health centres
-- and a municipality's home-care units are care units of different care providers
-- (vårdgivare, omsorgsgivare). A patient's care team is the units with a care relationship
-- with her; a unit of another provider than the one that documents her monitoring (her own
-- health centre's) sees her data only with her consent, or by a documented emergency access,
-- and never while she has blocked (spärr) sharing with that provider (SFS 2022:913). Every
-- decision is in the audit log, which now names the care provider and the access basis.

-- Care providers: the region (its health centres) and the municipalities (home-care nursing).
CREATE TABLE care_providers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('region', 'municipality')),
    -- The provider's HSA id (Inera's catalogue), where known.
    hsa_id      text UNIQUE CHECK (hsa_id IS NULL OR length(btrim(hsa_id)) BETWEEN 1 AND 64),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The health centres that exist are the region's: one region provider carries them. A unit
-- created later without naming its provider belongs to the oldest region provider (the
-- deployment's region: store/queries/health_centres.sql).
INSERT INTO care_providers (name, kind) VALUES ('Regionen', 'region');

-- health_centres is the care unit table (its name stays: everything references it).
ALTER TABLE health_centres
    ADD COLUMN care_provider_id uuid REFERENCES care_providers (id),
    ADD COLUMN unit_kind text NOT NULL DEFAULT 'health_centre'
        CHECK (unit_kind IN ('health_centre', 'home_care')),
    ADD COLUMN hsa_id text UNIQUE CHECK (hsa_id IS NULL OR length(btrim(hsa_id)) BETWEEN 1 AND 64);
UPDATE health_centres SET care_provider_id = (SELECT id FROM care_providers);
ALTER TABLE health_centres ALTER COLUMN care_provider_id SET NOT NULL;
CREATE INDEX health_centres_care_provider_idx ON health_centres (care_provider_id);

-- A care unit's care relationship with a patient, from started_at until ended_at (open while
-- NULL). The patient's own health centre has one from her enrolment; another unit (a
-- municipality's home care) is added to her care team by her own centre's staff.
CREATE TABLE care_relationships (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id        uuid NOT NULL REFERENCES patients (id),
    health_centre_id  uuid NOT NULL REFERENCES health_centres (id),
    started_at        timestamptz NOT NULL DEFAULT now(),
    ended_at          timestamptz,
    -- Who recorded it (NULL: made by enrolment, or carried over by this migration).
    recorded_by       uuid REFERENCES staff (id),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- One open relationship per unit and patient.
CREATE UNIQUE INDEX care_relationships_open_idx ON care_relationships (patient_id, health_centre_id)
    WHERE ended_at IS NULL;
-- A unit's worklist and patient list: its patients.
CREATE INDEX care_relationships_unit_idx ON care_relationships (health_centre_id, patient_id);

INSERT INTO care_relationships (patient_id, health_centre_id, started_at)
SELECT id, health_centre_id, enrolled_at FROM patients;

-- The patient's consent that a care provider (the one that may see) sees her data documented
-- by others; scope 'monitoring': everything hemkoll holds of her (readings, alerts, messages,
-- contact requests). Withdrawn, never removed.
CREATE TABLE sharing_consents (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id        uuid NOT NULL REFERENCES patients (id),
    care_provider_id  uuid NOT NULL REFERENCES care_providers (id),
    scope             text NOT NULL DEFAULT 'monitoring' CHECK (scope IN ('monitoring')),
    recorded_by       uuid NOT NULL REFERENCES staff (id),
    recorded_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    withdrawn_at      timestamptz,
    CHECK (withdrawn_at IS NULL OR withdrawn_at >= recorded_at)
);
CREATE UNIQUE INDEX sharing_consents_open_idx ON sharing_consents (patient_id, care_provider_id)
    WHERE withdrawn_at IS NULL;

-- The patient's block (spärr): the blocked provider's units see nothing of what others
-- documented, whatever the consent, even in an emergency. Lifted, never removed.
CREATE TABLE sharing_blocks (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id        uuid NOT NULL REFERENCES patients (id),
    care_provider_id  uuid NOT NULL REFERENCES care_providers (id),
    recorded_by       uuid NOT NULL REFERENCES staff (id),
    recorded_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    lifted_at         timestamptz,
    CHECK (lifted_at IS NULL OR lifted_at >= recorded_at)
);
CREATE UNIQUE INDEX sharing_blocks_open_idx ON sharing_blocks (patient_id, care_provider_id)
    WHERE lifted_at IS NULL;

-- Emergency access (nödåtkomst): one member of staff, one patient, a stated reason, for a
-- limited time; each is flagged for review until reviewed_at is set.
CREATE TABLE emergency_accesses (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    staff_id     uuid NOT NULL REFERENCES staff (id),
    patient_id   uuid NOT NULL REFERENCES patients (id),
    reason       text NOT NULL CHECK (length(btrim(reason)) BETWEEN 10 AND 500),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at   timestamptz NOT NULL,
    reviewed_at  timestamptz,
    CHECK (expires_at > started_at)
);
CREATE INDEX emergency_accesses_patient_idx ON emergency_accesses (patient_id, staff_id);
CREATE INDEX emergency_accesses_unreviewed_idx ON emergency_accesses (started_at)
    WHERE reviewed_at IS NULL;

-- Each audit row names the care provider as well as the care unit (health_centre_id), and the
-- basis of the access: for an access granted, what allowed it; for one refused, why there
-- was none. Nullable without defaults: no rewrite of the append-only table.
ALTER TABLE audit_log
    ADD COLUMN care_provider_id uuid,
    ADD COLUMN access_basis text CHECK (access_basis IS NULL OR access_basis IN (
        'care_relationship', 'consent', 'emergency', 'administration',
        'no_care_relationship', 'no_consent', 'blocked'));
