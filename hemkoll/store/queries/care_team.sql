-- name: unit_provider
-- The care provider of a care unit.
SELECT care_provider_id FROM health_centres WHERE id = %(unit_id)s;

-- name: sharing_homes
-- Each patient's own care unit and its care provider (the one that documents her monitoring).
SELECT p.id AS patient_id, p.health_centre_id AS home_unit_id,
       hc.care_provider_id AS home_provider_id
FROM patients AS p
JOIN health_centres AS hc ON hc.id = p.health_centre_id
WHERE p.id = ANY(%(patient_ids)s::uuid[]);

-- name: sharing_relationships
SELECT patient_id, health_centre_id AS unit_id, started_at, ended_at
FROM care_relationships
WHERE patient_id = ANY(%(patient_ids)s::uuid[]);

-- name: sharing_consents_of
SELECT patient_id, care_provider_id AS provider_id, recorded_at, withdrawn_at
FROM sharing_consents
WHERE patient_id = ANY(%(patient_ids)s::uuid[]);

-- name: sharing_blocks_of
SELECT patient_id, care_provider_id AS provider_id, recorded_at, lifted_at
FROM sharing_blocks
WHERE patient_id = ANY(%(patient_ids)s::uuid[]);

-- name: sharing_emergencies_of
-- Only the asking member of staff's own emergency accesses count for her.
SELECT patient_id, staff_id, started_at, expires_at
FROM emergency_accesses
WHERE patient_id = ANY(%(patient_ids)s::uuid[]) AND staff_id = %(staff_id)s;

-- name: insert_care_provider
INSERT INTO care_providers (name, kind, hsa_id)
VALUES (%(name)s, %(kind)s, %(hsa_id)s)
RETURNING id, name, kind, hsa_id, created_at;

-- name: list_care_providers
SELECT id, name, kind, hsa_id, created_at FROM care_providers ORDER BY name, id;

-- name: care_provider_by_id
SELECT id, name, kind, hsa_id, created_at FROM care_providers WHERE id = %(care_provider_id)s;

-- name: start_care_relationship
-- A unit joins the patient's care team; a unit already in it keeps its open relationship.
INSERT INTO care_relationships (patient_id, health_centre_id, started_at, recorded_by)
VALUES (%(patient_id)s, %(unit_id)s, %(now)s, %(recorded_by)s)
ON CONFLICT (patient_id, health_centre_id) WHERE ended_at IS NULL DO NOTHING
RETURNING id;

-- name: end_care_relationship
UPDATE care_relationships SET ended_at = %(now)s
WHERE patient_id = %(patient_id)s AND health_centre_id = %(unit_id)s AND ended_at IS NULL
RETURNING id;

-- name: care_team_of
-- The patient's care team: every unit's relationship, with its unit and provider.
SELECT r.id, r.health_centre_id AS unit_id, hc.name AS unit_name, hc.unit_kind,
       hc.care_provider_id, cp.name AS care_provider_name, cp.kind AS care_provider_kind,
       r.started_at, r.ended_at, r.recorded_by
FROM care_relationships AS r
JOIN health_centres AS hc ON hc.id = r.health_centre_id
JOIN care_providers AS cp ON cp.id = hc.care_provider_id
WHERE r.patient_id = %(patient_id)s
ORDER BY r.started_at, r.id;

-- name: record_consent
INSERT INTO sharing_consents (patient_id, care_provider_id, scope, recorded_by, recorded_at)
VALUES (%(patient_id)s, %(care_provider_id)s, %(scope)s, %(recorded_by)s, %(now)s)
ON CONFLICT (patient_id, care_provider_id) WHERE withdrawn_at IS NULL DO NOTHING
RETURNING id;

-- name: withdraw_consent
UPDATE sharing_consents SET withdrawn_at = %(now)s
WHERE patient_id = %(patient_id)s AND care_provider_id = %(care_provider_id)s
  AND withdrawn_at IS NULL
RETURNING id;

-- name: consents_of
SELECT id, care_provider_id, scope, recorded_by, recorded_at, withdrawn_at
FROM sharing_consents WHERE patient_id = %(patient_id)s ORDER BY recorded_at, id;

-- name: record_block
INSERT INTO sharing_blocks (patient_id, care_provider_id, recorded_by, recorded_at)
VALUES (%(patient_id)s, %(care_provider_id)s, %(recorded_by)s, %(now)s)
ON CONFLICT (patient_id, care_provider_id) WHERE lifted_at IS NULL DO NOTHING
RETURNING id;

-- name: lift_block
UPDATE sharing_blocks SET lifted_at = %(now)s
WHERE patient_id = %(patient_id)s AND care_provider_id = %(care_provider_id)s
  AND lifted_at IS NULL
RETURNING id;

-- name: blocks_of
SELECT id, care_provider_id, recorded_by, recorded_at, lifted_at
FROM sharing_blocks WHERE patient_id = %(patient_id)s ORDER BY recorded_at, id;

-- name: start_emergency_access
INSERT INTO emergency_accesses (staff_id, patient_id, reason, started_at, expires_at)
VALUES (%(staff_id)s, %(patient_id)s, %(reason)s, %(now)s, %(expires_at)s)
RETURNING id, staff_id, patient_id, reason, started_at, expires_at, reviewed_at;

-- name: staff_identities
-- Who members of staff are, for the alert history both sides of a care team read: name,
-- role, care unit and its care provider.
SELECT s.id, s.name, s.role, hc.name AS unit_name, cp.name AS care_provider_name
FROM staff AS s
LEFT JOIN health_centres AS hc ON hc.id = s.health_centre_id
LEFT JOIN care_providers AS cp ON cp.id = hc.care_provider_id
WHERE s.id = ANY(%(staff_ids)s::uuid[]);

-- name: handovers_of
-- What the staff of a care team said and did on escalated alerts, for both sides' worklists:
-- each acknowledgement (with its note) and comment, oldest first, with who, of which unit.
SELECT e.alert_id, e.at, e.kind, s.name AS staff_name, hc.name AS unit_name,
       coalesce(e.details ->> 'note', e.details ->> 'text', '') AS text
FROM alert_events AS e
JOIN alerts AS a ON a.id = e.alert_id
JOIN staff AS s ON e.actor = 'staff:' || s.id::text
LEFT JOIN health_centres AS hc ON hc.id = s.health_centre_id
WHERE e.alert_id = ANY(%(alert_ids)s::uuid[]) AND a.escalated_at IS NOT NULL
  AND e.kind IN ('acknowledged', 'commented')
ORDER BY e.alert_id, e.at, e.id;

-- name: unit_related_patients
-- The patients a unit has a care relationship with at %(now)s whose own care unit is of the
-- unit's care provider: decide() allows each of them to the unit's staff on the basis
-- care_relationship (its rule 3's first case; a block binds only another provider), so a list
-- takes them as decided without loading their facts. One row, one array.
SELECT coalesce(array_agg(DISTINCT r.patient_id), '{}') AS patient_ids
FROM care_relationships AS r
JOIN patients AS p ON p.id = r.patient_id
JOIN health_centres AS hc ON hc.id = p.health_centre_id
WHERE r.health_centre_id = %(unit_id)s
  AND r.started_at <= %(now)s AND (r.ended_at IS NULL OR r.ended_at > %(now)s)
  AND hc.care_provider_id = %(provider_id)s;

-- name: unit_sharing
-- The rest of a unit's list in one statement: the patients a unit's member of staff might see
-- at %(now)s that unit_related_patients does not decide (those of another care provider her
-- unit has a care relationship with, and those she has an emergency access to), with the
-- facts the decision consults for this caller only (relationships of her unit, consents and
-- blocks of her provider, her own emergency accesses), each as parallel arrays; each fact
-- table is read once and hash-joined (a lateral per patient costs ~0.1 ms a patient).
WITH candidate AS (
    SELECT r.patient_id FROM care_relationships AS r
    JOIN patients AS p ON p.id = r.patient_id
    JOIN health_centres AS hc ON hc.id = p.health_centre_id
    WHERE r.health_centre_id = %(unit_id)s
      AND r.started_at <= %(now)s AND (r.ended_at IS NULL OR r.ended_at > %(now)s)
      AND hc.care_provider_id IS DISTINCT FROM %(provider_id)s
    UNION
    SELECT patient_id FROM emergency_accesses
    WHERE staff_id = %(staff_id)s AND started_at <= %(now)s AND expires_at > %(now)s
), rel AS (
    SELECT patient_id, array_agg(started_at) AS starts, array_agg(ended_at) AS ends
    FROM care_relationships WHERE health_centre_id = %(unit_id)s GROUP BY patient_id
), con AS (
    SELECT patient_id, array_agg(recorded_at) AS recorded, array_agg(withdrawn_at) AS withdrawn
    FROM sharing_consents WHERE care_provider_id = %(provider_id)s GROUP BY patient_id
), blk AS (
    SELECT patient_id, array_agg(recorded_at) AS recorded, array_agg(lifted_at) AS lifted
    FROM sharing_blocks WHERE care_provider_id = %(provider_id)s GROUP BY patient_id
), em AS (
    SELECT patient_id, array_agg(started_at) AS starts, array_agg(expires_at) AS expires
    FROM emergency_accesses WHERE staff_id = %(staff_id)s GROUP BY patient_id
)
SELECT p.id AS patient_id, p.health_centre_id AS home_unit_id,
       hc.care_provider_id AS home_provider_id,
       coalesce(rel.starts, '{}') AS relationship_starts,
       coalesce(rel.ends, '{}') AS relationship_ends,
       coalesce(con.recorded, '{}') AS consent_recorded,
       coalesce(con.withdrawn, '{}') AS consent_withdrawn,
       coalesce(blk.recorded, '{}') AS block_recorded,
       coalesce(blk.lifted, '{}') AS block_lifted,
       coalesce(em.starts, '{}') AS emergency_starts,
       coalesce(em.expires, '{}') AS emergency_expires
FROM candidate
JOIN patients AS p ON p.id = candidate.patient_id
JOIN health_centres AS hc ON hc.id = p.health_centre_id
LEFT JOIN rel ON rel.patient_id = p.id
LEFT JOIN con ON con.patient_id = p.id
LEFT JOIN blk ON blk.patient_id = p.id
LEFT JOIN em ON em.patient_id = p.id;
