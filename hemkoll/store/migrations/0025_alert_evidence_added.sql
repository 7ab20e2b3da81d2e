-- One alert per deterioration (hemkoll.rules.alerting): a finding of another detection rule
-- while the patient's alert is being handled joins that alert instead of opening one of its
-- own, recorded in the alert's history as an 'evidence_added' event whose details hold the
-- rule id, its evidence and its sentences (sv/en). The alerts table is unchanged: the alert
-- keeps the rule that opened it, and the worker reads which other rules an alert carries from
-- these events.
ALTER TABLE alert_events DROP CONSTRAINT alert_events_kind_check;
ALTER TABLE alert_events ADD CONSTRAINT alert_events_kind_check CHECK (kind IN (
    'opened', 'severity_raised', 'acknowledged', 'resolved', 'assigned', 'commented',
    'escalated', 'evidence_added'));
