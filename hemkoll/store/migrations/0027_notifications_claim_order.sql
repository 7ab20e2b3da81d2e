-- The dispatcher's claim (claim_notifications) takes due notifications in the order
-- (attempts > 0, channel = 'device', next_attempt_at): first attempts before retries, the care
-- team's webhooks before device messages. With only notifications_due_idx (next_attempt_at),
-- PostgreSQL read every pending notification and sorted them for each claim: at 434,000 pending
-- (bench/scale.py at 250,000 patients) 1.1 s a claim, and the dispatcher fell to about 26
-- notifications a second, which made the backlog grow. This index is that order: a claim reads
-- its first rows (0.7 ms there).
CREATE INDEX notifications_claim_order_idx
    ON notifications ((attempts > 0), (channel = 'device'), next_attempt_at)
    WHERE state = 'pending';
