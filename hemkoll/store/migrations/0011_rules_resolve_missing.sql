-- The rules resolve a missing-measurement alert themselves when the readings no longer bear it
-- out (a backlog brought readings measured inside its window: hemkoll.rules.alerting.Resolve),
-- with an outcome of their own, which no nurse chooses.
ALTER TABLE alerts DROP CONSTRAINT alerts_outcome_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_outcome_check CHECK (outcome IN (
    'contacted_patient', 'medication_adjusted', 'referred', 'no_action_needed', 'false_alarm',
    'reading_arrived'));
