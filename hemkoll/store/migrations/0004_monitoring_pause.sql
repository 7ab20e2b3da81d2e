-- Monitoring can be paused (a hospital stay, a holiday without the devices): the
-- missing-measurement rules are then silent. NULL means monitoring is on.
ALTER TABLE patients ADD COLUMN monitoring_paused_since timestamptz;
