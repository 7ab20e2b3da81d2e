-- shares_with_care_team(patient, at) looks up the patient's care relationships, open or
-- ended, by patient; care_relationships_open_idx serves only the open ones (WHERE ended_at IS
-- NULL) and care_relationships_unit_idx leads with the unit, so each call read the whole table:
-- at 250,000 patients (bench/scale.py) 20 ms a call, and the escalation pass, which asks it of
-- every red alert still open (3,666 there), took 75.6 s and held a core and its row locks
-- meanwhile. By patient, the pass took 0.28 s there.
CREATE INDEX care_relationships_patient_idx ON care_relationships (patient_id);
