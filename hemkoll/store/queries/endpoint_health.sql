-- name: observe_endpoint_attempt
-- One attempt on a centre's endpoint: a delivery ends the streak, anything else extends it.
-- An attempt older than the last one seen (recorded late by a slow dispatcher thread) does
-- not undo what a newer one said. Returns the streak before this attempt (0 for a new
-- endpoint): a delivery that ends one is the endpoint answering again (the dispatcher then
-- makes its waiting backlog due). `prior` locks the row and reads its latest version; the
-- insert reads `prior`, so it runs after it.
WITH prior AS (
    SELECT failures FROM endpoint_health
    WHERE health_centre_id = %(health_centre_id)s AND channel = %(channel)s
    FOR UPDATE
), observed AS (
    INSERT INTO endpoint_health AS h
        (health_centre_id, channel, failures, failing_since, last_error, last_attempt_at,
         last_delivered_at)
    SELECT %(health_centre_id)s, %(channel)s,
           CASE WHEN %(delivered)s THEN 0 ELSE 1 END,
           CASE WHEN %(delivered)s THEN NULL ELSE %(at)s::timestamptz END,
           CASE WHEN %(delivered)s THEN NULL ELSE %(error)s::text END,
           %(at)s::timestamptz,
           CASE WHEN %(delivered)s THEN %(at)s::timestamptz END
    FROM (SELECT count(*) FROM prior) AS after_prior
    ON CONFLICT (health_centre_id, channel) DO UPDATE SET
        failures = CASE WHEN %(delivered)s THEN 0 ELSE h.failures + 1 END,
        failing_since = CASE WHEN %(delivered)s THEN NULL
                             ELSE coalesce(h.failing_since, EXCLUDED.last_attempt_at) END,
        last_error = EXCLUDED.last_error,
        last_attempt_at = EXCLUDED.last_attempt_at,
        last_delivered_at = coalesce(EXCLUDED.last_delivered_at, h.last_delivered_at)
    WHERE h.last_attempt_at <= EXCLUDED.last_attempt_at
    RETURNING 1
)
SELECT coalesce((SELECT failures FROM prior), 0) AS failures_before;

-- name: endpoint_health_all
SELECT health_centre_id, channel, failures, failing_since, last_error, last_attempt_at,
       last_delivered_at
FROM endpoint_health
ORDER BY health_centre_id, channel;

-- name: endpoint_health_of_centre
SELECT health_centre_id, channel, failures, failing_since, last_error, last_attempt_at,
       last_delivered_at
FROM endpoint_health
WHERE health_centre_id = %(health_centre_id)s
ORDER BY channel;
