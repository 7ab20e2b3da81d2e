-- Severe readings first (issue 18's national run: a red reading waited a minute behind the
-- morning's routine ones). Ingest marks a patient urgent when one of her new readings is beyond
-- the programme's red limits (hemkoll.rules.urgency); the rules workers claim urgent patients
-- first, then the oldest request (claim_evaluations). A later routine request never lowers it
-- (the upserts keep the greater); deadlines and scheduled passes queue routine (0).
ALTER TABLE evaluation_queue ADD COLUMN priority smallint NOT NULL DEFAULT 0
    CHECK (priority IN (0, 1));

-- The claim walks this index in its order (urgent first, then oldest) and stops at its limit,
-- as it walked requested_at's before, which it replaces.
CREATE INDEX evaluation_queue_claim_idx ON evaluation_queue (priority DESC, requested_at);
DROP INDEX evaluation_queue_due_idx;
