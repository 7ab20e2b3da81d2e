-- name: insert_oidc_sign_in
INSERT INTO oidc_sign_ins (state_sha256, nonce, code_verifier, next_page, created_at, expires_at)
VALUES (%(state_sha256)s, %(nonce)s, %(code_verifier)s, %(next_page)s, %(now)s, %(expires_at)s);

-- name: take_oidc_sign_in
-- The sign-in a callback's state belongs to, used once: deleted as it is read.
DELETE FROM oidc_sign_ins
WHERE state_sha256 = %(state_sha256)s
RETURNING nonce, code_verifier, next_page, expires_at;

-- name: delete_expired_oidc_sign_ins
-- Sign-ins abandoned at the provider: nothing to keep once they can no longer complete.
DELETE FROM oidc_sign_ins WHERE expires_at <= %(now)s;

-- name: staff_by_hsa_id
SELECT id, name, role, health_centre_id, active, created_at
FROM staff
WHERE hsa_id = %(hsa_id)s;

-- name: centres_by_hsa_ids
-- The care units (health centres) among the HSA ids of a person's assignments.
SELECT hsa_id, id
FROM health_centres
WHERE hsa_id = ANY(%(hsa_ids)s::text[]);

-- name: insert_staff_session
INSERT INTO staff_sessions
    (staff_id, token_sha256, health_centre_id, assignment_hsa_id, purpose, issuer, subject,
     created_at, expires_at)
VALUES
    (%(staff_id)s, %(token_sha256)s, %(health_centre_id)s, %(assignment_hsa_id)s, %(purpose)s,
     %(issuer)s, %(subject)s, %(now)s, %(expires_at)s)
RETURNING id;

-- name: staff_for_session
-- The active member of staff of a valid (known, unexpired, unrevoked) console session, with
-- the care unit of the assignment she signed in under.
SELECT s.id, s.name, s.role, ss.health_centre_id, s.active, s.created_at
FROM staff_sessions AS ss
JOIN staff AS s ON s.id = ss.staff_id
WHERE ss.token_sha256 = %(token_sha256)s
  AND ss.revoked_at IS NULL
  AND ss.expires_at > %(now)s
  AND s.active;

-- name: revoke_staff_session
UPDATE staff_sessions SET revoked_at = %(now)s
WHERE token_sha256 = %(token_sha256)s AND revoked_at IS NULL
RETURNING id;

-- name: revoke_staff_sessions
UPDATE staff_sessions SET revoked_at = %(now)s
WHERE staff_id = %(staff_id)s AND revoked_at IS NULL
RETURNING id;
