-- name: insert_questionnaire_response
INSERT INTO questionnaire_responses (patient_id, questionnaire, answers, score)
VALUES (%(patient_id)s, %(questionnaire)s, %(answers)s, %(score)s)
RETURNING id;

-- name: latest_questionnaire_responses
SELECT DISTINCT ON (questionnaire) id, patient_id, questionnaire, answers, score, authored_at
FROM questionnaire_responses
WHERE patient_id = %(patient_id)s
ORDER BY questionnaire, authored_at DESC;

-- name: questionnaire_responses_page
-- A patient's responses for the FHIR API, oldest first, keyset-paged on (authored_at, id).
SELECT id, patient_id, questionnaire, answers, score, authored_at
FROM questionnaire_responses
WHERE patient_id = %(patient_id)s
  AND (%(after_at)s::timestamptz IS NULL
       OR (authored_at, id) > (%(after_at)s::timestamptz, %(after_id)s::uuid))
ORDER BY authored_at, id
LIMIT %(limit)s;

-- name: questionnaire_response_in_scope
SELECT r.id, r.patient_id, r.questionnaire, r.answers, r.score, r.authored_at
FROM questionnaire_responses AS r
JOIN patients AS p ON p.id = r.patient_id
WHERE r.id = %(id)s
  AND (%(health_centre_id)s::uuid IS NULL OR p.health_centre_id = %(health_centre_id)s);
