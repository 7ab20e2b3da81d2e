-- What the patient is told after her readings is derived from what the rules judged
-- (hemkoll.alerts.patient_messages, docs/patient-messages.md):
--
-- * The evaluation queue remembers which readings prompted a request: those the feedback
--   devices sent from feedback_since on (the ingest transaction's start, the readings'
--   received_at), the oldest measured at feedback_oldest (a backlog measured before the rules'
--   window was not judged, so it is never called "as usual").
-- * A red alert asks the patient to call her health centre if it has not called her back: the
--   centre's phone number, as the patient should dial it.
-- * The new device messages' events.
ALTER TABLE evaluation_queue
    ADD COLUMN feedback_since timestamptz,
    ADD COLUMN feedback_oldest timestamptz;

ALTER TABLE health_centres
    ADD COLUMN phone text CHECK (phone ~ '^\+?[0-9][0-9 ()-]{4,30}$');

ALTER TABLE notifications DROP CONSTRAINT notifications_event_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_event_check CHECK (event IN (
    'alert.opened', 'alert.severity_raised', 'alert.escalated', 'alert.acknowledged',
    'readings.in_range', 'readings.received', 'readings.measure_again',
    'readings.severe_symptom'));
