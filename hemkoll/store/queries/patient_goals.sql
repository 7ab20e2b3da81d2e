-- name: insert_patient_goal
INSERT INTO patient_goals (patient_id, kind, text)
VALUES (%(patient_id)s, %(kind)s, %(text)s)
RETURNING id;

-- name: current_patient_goals
SELECT id, kind, text, created_at FROM patient_goals
WHERE patient_id = %(patient_id)s AND removed_at IS NULL
ORDER BY kind, created_at;

-- name: remove_patient_goal
UPDATE patient_goals SET removed_at = clock_timestamp()
WHERE patient_id = %(patient_id)s AND id = %(id)s AND removed_at IS NULL;
