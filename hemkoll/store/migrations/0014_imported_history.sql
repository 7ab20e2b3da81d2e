-- imported_history: per patient, the newest reading measured in a history import
-- (``hemkoll import-history``, docs/import.md). The rules worker treats findings fired at or
-- before ``until`` as history: they open, raise and touch no alert (a backtest still shows
-- them), so a year of readings from a previous system becomes backtest material rather than
-- worklist items. An import with ``--alerts`` does not mark its range, and its findings open
-- alerts as the live path's would.
--
-- Written in each import batch's transaction, beside its readings (an upsert that only moves
-- ``until`` forward: a rerun, or an older file imported later, never shortens the history).
CREATE TABLE imported_history (
    patient_id  uuid PRIMARY KEY REFERENCES patients (id),
    until       timestamptz NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
