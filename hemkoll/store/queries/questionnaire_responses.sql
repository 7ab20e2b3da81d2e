-- name: insert_questionnaire_response
INSERT INTO questionnaire_responses (patient_id, questionnaire, answers, score)
VALUES (%(patient_id)s, %(questionnaire)s, %(answers)s, %(score)s)
RETURNING id;

-- name: latest_questionnaire_responses
SELECT DISTINCT ON (questionnaire) id, patient_id, questionnaire, answers, score, authored_at
FROM questionnaire_responses
WHERE patient_id = %(patient_id)s
ORDER BY questionnaire, authored_at DESC;
