-- Retention of the outbox (issue 18: delivered notifications were never deleted, about 250 GiB
-- a year for the nation). The dispatcher's retention job (hemkoll/notify/retention.py) deletes
-- settled notifications older than HEMKOLL_NOTIFICATION_RETENTION_DAYS, oldest first.

-- Finds them without reading the table; holds no pending notification (the dispatcher claims
-- those by notifications_due_idx).
CREATE INDEX notifications_settled_idx ON notifications (created_at) WHERE state <> 'pending';

-- Up to max_rows notifications settled for good (delivered, expired after their retries, or
-- gone) and created before `before`, with their attempts; never a pending one, nor one of an
-- alert not yet resolved (its delivery log stays in the console while staff work on it, and
-- an escalation copies its evidence). How many went. SKIP LOCKED: several dispatchers take
-- different rows. The attempts go in the same statement (their foreign key is checked at its
-- end). A function of the owner's, so that the dispatch role, which may run it
-- (deploy/postgres/roles.sql), deletes only what this says and holds no DELETE of its own.
CREATE FUNCTION delete_settled_notifications(before timestamptz, max_rows integer)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    WITH settled AS (
        SELECT n.id FROM notifications AS n
        WHERE n.state <> 'pending' AND n.created_at < before
          AND NOT EXISTS (SELECT 1 FROM alerts AS a
                          WHERE a.id = n.alert_id AND a.state <> 'resolved')
        ORDER BY n.created_at
        LIMIT max_rows
        FOR UPDATE OF n SKIP LOCKED
    ), attempts AS (
        DELETE FROM notification_attempts WHERE notification_id IN (SELECT id FROM settled)
    ), deleted AS (
        DELETE FROM notifications WHERE id IN (SELECT id FROM settled) RETURNING 1
    )
    SELECT count(*)::integer FROM deleted
$$;
REVOKE EXECUTE ON FUNCTION delete_settled_notifications(timestamptz, integer) FROM PUBLIC;
