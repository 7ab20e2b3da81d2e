-- The dispatcher at national scale (issue 18, bench/dispatch.py). Measured on an outbox of
-- 100,000 pending device messages and 10,000 webhooks (EXPLAIN ANALYZE):
--
-- * The claim's in_flight part (leases held per webhook endpoint) and next_notification_due_in
--   (the earliest lease to run out) read every pending notification: 78 ms and 54 ms per call,
--   for the few rows a dispatcher has in flight. Leased pending rows are only those being sent
--   (a record, a hold and a redelivery clear lease_until), so this index holds a few dozen
--   rows whatever the backlog.
CREATE INDEX notifications_in_flight_idx
    ON notifications (health_centre_id, channel)
    WHERE state = 'pending' AND lease_until IS NOT NULL;

-- * The dispatcher claims device messages and webhooks in lanes of their own (a device
--   message never waits behind webhooks held up by their endpoints, nor a webhook behind a
--   morning's device messages): each lane's claim reads this index from its own first row,
--   first attempts before retries, by due time. It replaces 0027's, whose leading column
--   (first attempt or retry) put each lane's rows in two places.
DROP INDEX notifications_claim_order_idx;
CREATE INDEX notifications_claim_lane_idx
    ON notifications ((channel = 'device'), (attempts > 0), next_attempt_at)
    WHERE state = 'pending';
