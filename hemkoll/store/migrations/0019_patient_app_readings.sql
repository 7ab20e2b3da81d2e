-- Questionnaire answers in the patient app become readings (docs/patient.md): the daily
-- symptom answers, as a questionnaire device sends them, and the weekly self-rated health.
-- A reading needs a device, so each patient gets at most one active device of the kind
-- 'patient_app' (her app, made on her first answer): the readings' origin stays visible.
-- The app has no MQTT credential: it never connects to the broker.

ALTER TABLE devices DROP CONSTRAINT devices_kind_check;
ALTER TABLE devices ADD CONSTRAINT devices_kind_check CHECK (kind IN (
    'scale', 'blood_pressure_monitor', 'pulse_oximeter', 'thermometer',
    'symptom_questionnaire', 'gateway', 'patient_app'));
ALTER TABLE devices ALTER COLUMN credential_hash DROP NOT NULL;
ALTER TABLE devices ADD CONSTRAINT devices_credential_check
    CHECK ((kind = 'patient_app') = (credential_hash IS NULL));
CREATE UNIQUE INDEX devices_one_patient_app_idx ON devices (patient_id)
    WHERE kind = 'patient_app' AND active;

-- Self-rated health 1 (very poor) to 5 (very good), asked weekly as TIM-HF2 did. No LOINC
-- code: LOINC's general-health items (SF-36, PROMIS Global01) carry their own answer list
-- (excellent .. poor, 1 = excellent), which is not this scale; hemkoll's own metric code
-- (urn:hemkoll:metric) names it, as it names the symptom answers.
INSERT INTO metrics (metric, canonical_unit, loinc, description) VALUES
    ('self_rated_health', '{score}', NULL, 'Self-rated health, 1 very poor to 5 very good');
