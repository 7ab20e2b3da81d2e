-- The contact log: what the care team did with and for a patient (calls, visits, notes,
-- hand-overs), which stays with the patient whatever became of the alerts that prompted it.
--
-- Append-only, as a patient record is: an entry is never changed or removed. A correction is a
-- new entry that refers to the one it corrects (corrects); both stay, and readers show the
-- earlier one as corrected. The trigger below refuses UPDATE, DELETE and TRUNCATE whoever asks,
-- and the API's database role is granted INSERT and SELECT only (deploy/postgres/roles.sql).
--
-- kind, each with one meaning:
--   call_out   the care team phoned the patient (or a relative)
--   call_in    the patient (or a relative) phoned the care team
--   visit      met in person: a home visit, or the patient at the centre
--   note       a note on the patient, no contact with them (e.g. an alert closed as a false alarm)
--   hand_over  the patient's care handed to a colleague or another care giver (a referral, a
--              shift's hand-over)
--
-- occurred_at is when it happened (a call made this morning, logged this afternoon: it may be
-- earlier than written_at, never later than a few minutes' clock skew); written_at when the
-- entry was made. A note written while resolving an alert is logged with it (alert_id).
-- What the composite foreign key below refers to (an alert's id is unique on its own).
ALTER TABLE alerts ADD CONSTRAINT alerts_patient_id_id_key UNIQUE (patient_id, id);

CREATE TABLE contact_log (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id   uuid NOT NULL REFERENCES patients (id),
    kind         text NOT NULL
                 CHECK (kind IN ('call_out', 'call_in', 'visit', 'note', 'hand_over')),
    alert_id     uuid,
    corrects     uuid,
    author       uuid NOT NULL REFERENCES staff (id),
    text         text NOT NULL CHECK (length(btrim(text)) >= 1 AND length(text) <= 2000),
    occurred_at  timestamptz NOT NULL,
    written_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (occurred_at <= written_at + interval '5 minutes'),
    CHECK (corrects IS NULL OR corrects <> id),
    -- The alert and the corrected entry are the same patient's (composite foreign keys).
    UNIQUE (patient_id, id),
    FOREIGN KEY (patient_id, alert_id) REFERENCES alerts (patient_id, id),
    FOREIGN KEY (patient_id, corrects) REFERENCES contact_log (patient_id, id)
);
CREATE INDEX contact_log_patient_idx ON contact_log (patient_id, occurred_at DESC, id DESC);
CREATE INDEX contact_log_alert_idx ON contact_log (alert_id) WHERE alert_id IS NOT NULL;

CREATE FUNCTION contact_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the contact log is append-only (correct an entry with a new one): % refused',
        TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER contact_log_append_only
    BEFORE UPDATE OR DELETE ON contact_log
    FOR EACH ROW EXECUTE FUNCTION contact_log_refuse_change();
CREATE TRIGGER contact_log_no_truncate
    BEFORE TRUNCATE ON contact_log
    FOR EACH STATEMENT EXECUTE FUNCTION contact_log_refuse_change();
