-- How each health centre's notification endpoints (its care-team webhook and its escalation
-- contact's) are faring: how many attempts in a row have failed and since when. The
-- dispatcher keeps it in the transaction that records each attempt, so that a centre whose
-- webhook has failed for a day shows on a dashboard (hemkoll_endpoint_failure_streak,
-- hemkoll_endpoint_failing_seconds) and in the console's follow-up page. A centre with no
-- endpoint configured fails too: nobody there hears of its alerts.
CREATE TABLE endpoint_health (
    health_centre_id   uuid NOT NULL REFERENCES health_centres (id),
    channel            text NOT NULL CHECK (channel IN ('care_team', 'escalation')),
    -- Attempts in a row that did not deliver (0 after a delivery), the first of them, and
    -- the last one's error.
    failures           integer NOT NULL CHECK (failures >= 0),
    failing_since      timestamptz,
    last_error         text,
    last_attempt_at    timestamptz NOT NULL,
    last_delivered_at  timestamptz,
    PRIMARY KEY (health_centre_id, channel),
    CHECK ((failures = 0) = (failing_since IS NULL))
);
