-- name: insert_patient_code
INSERT INTO patient_codes (patient_id, code_hash, created_by, expires_at)
VALUES (%(patient_id)s, %(code_hash)s, %(created_by)s, %(expires_at)s)
RETURNING id;

-- name: redeem_patient_code
-- One statement: the code is marked used only if it is unused and unexpired and its patient
-- still enrolled, and the session is opened with it; a second exchange finds nothing.
WITH used AS (
    UPDATE patient_codes AS c
    SET used_at = %(now)s
    FROM patients AS p
    WHERE c.code_hash = %(code_hash)s AND c.used_at IS NULL AND c.expires_at > %(now)s
      AND p.id = c.patient_id AND p.discharged_at IS NULL
    RETURNING c.id, c.patient_id, p.health_centre_id
), opened AS (
    INSERT INTO patient_sessions (patient_id, token_hash, code_id, created_at, expires_at)
    SELECT patient_id, %(token_hash)s, id, %(now)s, %(expires_at)s FROM used
    RETURNING id, patient_id, expires_at
)
SELECT o.id, o.patient_id, u.health_centre_id, o.expires_at
FROM opened AS o JOIN used AS u ON u.patient_id = o.patient_id;

-- name: patient_session_for_token
SELECT s.id, s.patient_id, p.health_centre_id, s.expires_at
FROM patient_sessions AS s
JOIN patients AS p ON p.id = s.patient_id
WHERE s.token_hash = %(token_hash)s AND s.revoked_at IS NULL AND s.expires_at > %(now)s
  AND p.discharged_at IS NULL;

-- name: revoke_patient_session
UPDATE patient_sessions SET revoked_at = %(now)s WHERE id = %(id)s AND revoked_at IS NULL;

-- name: revoke_patient_sessions
UPDATE patient_sessions SET revoked_at = %(now)s
WHERE patient_id = %(patient_id)s AND revoked_at IS NULL AND expires_at > %(now)s;

-- name: failed_patient_sign_ins
SELECT count(*) FROM audit_log
WHERE action = %(action)s AND status = 401 AND at >= %(since)s
  AND client_address IS NOT DISTINCT FROM %(client_address)s::inet;
