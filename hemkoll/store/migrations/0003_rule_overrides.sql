-- Versioned rule configuration. The programme is hemkoll's built-in preset (named with its own
-- version); on top of it a health centre's overrides, then a patient's. Every change is a new
-- row: who, when, why and the whole new layer; the previous version of the same scope is the
-- old one. Rows are never updated.
CREATE TABLE rule_overrides (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    health_centre_id  uuid REFERENCES health_centres (id),
    patient_id        uuid REFERENCES patients (id),
    version           integer NOT NULL CHECK (version >= 1),
    -- An OverrideLayer (hemkoll.rules.overrides) as JSON.
    layer             jsonb NOT NULL,
    changed_by        text NOT NULL CHECK (length(changed_by) BETWEEN 1 AND 200),
    reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    changed_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((health_centre_id IS NULL) <> (patient_id IS NULL))
);
CREATE UNIQUE INDEX rule_overrides_centre_version_idx
    ON rule_overrides (health_centre_id, version) WHERE health_centre_id IS NOT NULL;
CREATE UNIQUE INDEX rule_overrides_patient_version_idx
    ON rule_overrides (patient_id, version) WHERE patient_id IS NOT NULL;
