-- name: insert_contact
-- occurred_at NULL: now (a note written while resolving an alert). The composite foreign keys
-- refuse an alert or a corrected entry of another patient.
INSERT INTO contact_log (patient_id, kind, alert_id, corrects, author, text, occurred_at)
VALUES (%(patient_id)s, %(kind)s, %(alert_id)s, %(corrects)s, %(author)s, %(text)s,
        coalesce(%(occurred_at)s, clock_timestamp()))
RETURNING id;

-- name: contact_entries
-- A patient's entries, newest (by when it happened) first, in [since, until) of occurred_at
-- where given, after the (occurred_at, id) a previous page ended at; with the author's name,
-- the linked alert's rule and severity, and the entry (if any) that corrects each.
SELECT c.id, c.patient_id, c.kind, c.alert_id, a.rule_id AS alert_rule_id,
       a.severity AS alert_severity, c.corrects, c.author, s.name AS author_name, c.text,
       c.occurred_at, c.written_at,
       (SELECT n.id FROM contact_log AS n
        WHERE n.patient_id = c.patient_id AND n.corrects = c.id
        ORDER BY n.written_at DESC, n.id DESC LIMIT 1) AS corrected_by
FROM contact_log AS c
JOIN staff AS s ON s.id = c.author
LEFT JOIN alerts AS a ON a.id = c.alert_id
WHERE c.patient_id = %(patient_id)s
  AND (%(since)s::timestamptz IS NULL OR c.occurred_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR c.occurred_at < %(until)s)
  AND (%(before_at)s::timestamptz IS NULL
       OR (c.occurred_at, c.id) < (%(before_at)s::timestamptz, %(before_id)s::uuid))
ORDER BY c.occurred_at DESC, c.id DESC
LIMIT %(limit)s;

-- name: contact_entry
SELECT c.id, c.patient_id, c.kind, c.alert_id, a.rule_id AS alert_rule_id,
       a.severity AS alert_severity, c.corrects, c.author, s.name AS author_name, c.text,
       c.occurred_at, c.written_at,
       (SELECT n.id FROM contact_log AS n
        WHERE n.patient_id = c.patient_id AND n.corrects = c.id
        ORDER BY n.written_at DESC, n.id DESC LIMIT 1) AS corrected_by
FROM contact_log AS c
JOIN staff AS s ON s.id = c.author
LEFT JOIN alerts AS a ON a.id = c.alert_id
WHERE c.id = %(id)s;

-- name: contact_entry_of_patient
SELECT id FROM contact_log WHERE id = %(id)s AND patient_id = %(patient_id)s;
