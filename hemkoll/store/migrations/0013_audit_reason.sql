-- Why an administrator did something the audit log must explain: today, an enrolment with an
-- earlier monitoring start (the patient's history is to be imported), whose reason is
-- required by the API and the CLI and kept with the access it explains.
--
-- A nullable column without a default: no rewrite of the (append-only) table, whose existing
-- rows simply have no reason. The bound keeps it a short statement, not a record of its own:
-- it must not carry personal identity (docs/api.md says so where the reason is asked for).
ALTER TABLE audit_log
    ADD COLUMN reason text CHECK (reason IS NULL OR length(btrim(reason)) BETWEEN 1 AND 500);
