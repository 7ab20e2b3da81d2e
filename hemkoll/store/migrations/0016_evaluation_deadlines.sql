-- Deadlines, not sweeps: after each evaluation the rules worker stores when the patient's
-- time-based (missing-measurement) rules could next fire without a new reading
-- (hemkoll.rules.deadlines); the scheduler queues only the patients whose deadline has passed
-- (the partial index below), so the cost follows readings and deadlines, not the number of
-- patients enrolled. due_at NULL: nothing is due (paused, no missing rules, nothing measured).
--
-- programme: a fingerprint of the programme (rule set) the deadline was computed under. A
-- worker started with a different programme queues the patients computed under another one,
-- once, so that a changed preset cannot leave a deadline computed under the old one.
CREATE TABLE evaluation_deadlines (
    patient_id   uuid PRIMARY KEY REFERENCES patients (id),
    due_at       timestamptz,
    programme    text NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX evaluation_deadlines_due_idx ON evaluation_deadlines (due_at)
    WHERE due_at IS NOT NULL;
CREATE INDEX evaluation_deadlines_programme_idx ON evaluation_deadlines (programme);

-- Patients under monitoring before deadlines existed have none yet: each is due now, once.
INSERT INTO evaluation_deadlines (patient_id, due_at, programme)
SELECT id, clock_timestamp(), '' FROM patients WHERE discharged_at IS NULL;
