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

-- What the attempts so far say, so that a centre with a history shows it from the start: per
-- endpoint, the attempts after its last delivery are its streak.
INSERT INTO endpoint_health
    (health_centre_id, channel, failures, failing_since, last_error, last_attempt_at,
     last_delivered_at)
SELECT health_centre_id, channel,
       count(*) FILTER (WHERE failing),
       min(started_at) FILTER (WHERE failing),
       (array_agg(error ORDER BY started_at DESC) FILTER (WHERE failing))[1],
       max(started_at),
       max(started_at) FILTER (WHERE result = 'delivered')
FROM (
    SELECT n.health_centre_id, n.channel, a.started_at, a.result, a.error,
           a.result <> 'delivered'
               AND a.started_at > coalesce(
                   max(a.started_at) FILTER (WHERE a.result = 'delivered')
                       OVER (PARTITION BY n.health_centre_id, n.channel),
                   '-infinity') AS failing
    FROM notification_attempts AS a
    JOIN notifications AS n ON n.id = a.notification_id
    WHERE n.channel IN ('care_team', 'escalation')
) AS attempts
GROUP BY health_centre_id, channel;
