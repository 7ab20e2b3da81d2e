-- name: insert_questionnaire_response
INSERT INTO questionnaire_responses (patient_id, questionnaire, answers, score)
VALUES (%(patient_id)s, %(questionnaire)s, %(answers)s, %(score)s)
RETURNING id;

-- name: latest_questionnaire_responses
SELECT DISTINCT ON (questionnaire) id, patient_id, questionnaire, answers, score, authored_at
FROM questionnaire_responses
WHERE patient_id = %(patient_id)s
ORDER BY questionnaire, authored_at DESC;

-- name: latest_app_message
-- What the rules last told the patient about the answers she gave in her app: the device
-- message queued for her app device (docs/patient-messages.md), in her language.
SELECT n.payload->>'text' AS text, n.created_at
FROM notifications AS n
JOIN devices AS d ON d.id = n.device_id
WHERE d.patient_id = %(patient_id)s AND d.kind = 'patient_app' AND n.channel = 'device'
  AND n.created_at >= %(since)s
ORDER BY n.created_at DESC
LIMIT 1;
