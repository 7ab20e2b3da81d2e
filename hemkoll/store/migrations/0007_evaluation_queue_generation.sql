-- A patient requested again while queued keeps its place: requested_at stays the time of the
-- first request not yet evaluated, so a patient who measures often is not pushed to the back
-- of a long queue again and again. The generation counts requests instead: the worker that
-- finishes an evaluation removes the row only if no request came in meanwhile.
ALTER TABLE evaluation_queue ADD COLUMN generation bigint NOT NULL DEFAULT 0;
