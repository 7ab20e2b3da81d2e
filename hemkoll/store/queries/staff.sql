-- name: insert_staff
INSERT INTO staff (name, role, health_centre_id, hsa_id)
VALUES (%(name)s, %(role)s, %(health_centre_id)s, %(hsa_id)s)
RETURNING id, name, role, health_centre_id, active, created_at;

-- name: list_staff
SELECT id, name, role, health_centre_id, active, created_at
FROM staff
WHERE %(health_centre_id)s::uuid IS NULL OR health_centre_id = %(health_centre_id)s
ORDER BY name, id;

-- name: staff_by_id
SELECT id, name, role, health_centre_id, active, created_at
FROM staff
WHERE id = %(staff_id)s;

-- name: insert_api_token
INSERT INTO api_tokens (staff_id, token_sha256, expires_at)
VALUES (%(staff_id)s, %(token_sha256)s, %(expires_at)s)
RETURNING id, staff_id, created_at, expires_at;

-- name: staff_for_token
-- The active staff member a valid (known, unexpired, unrevoked) token belongs to.
SELECT s.id, s.name, s.role, s.health_centre_id, s.active, s.created_at
FROM api_tokens AS t
JOIN staff AS s ON s.id = t.staff_id
WHERE t.token_sha256 = %(token_sha256)s
  AND t.revoked_at IS NULL
  AND t.expires_at > now()
  AND s.active;

-- name: revoke_api_tokens
UPDATE api_tokens SET revoked_at = now()
WHERE staff_id = %(staff_id)s AND revoked_at IS NULL
RETURNING id;

-- name: deactivate_staff
UPDATE staff SET active = false WHERE id = %(staff_id)s
RETURNING id, name, role, health_centre_id, active, created_at;
