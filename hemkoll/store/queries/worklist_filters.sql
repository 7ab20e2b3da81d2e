-- name: worklist_rules
-- The worklist's alerts (its scope: the worklist block in alerts.sql) (of `states`) counted per rule: what the worklist's rule
-- filter offers, and (summed) how many alerts there are before any filter.
SELECT a.rule_id, a.rule_kind, count(*)::integer AS alerts
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE a.patient_id = ANY(%(patient_ids)s::uuid[])
  AND (p.health_centre_id = %(health_centre_id)s OR a.escalated_at IS NOT NULL)
  AND a.state = ANY(%(states)s)
GROUP BY a.rule_id, a.rule_kind
ORDER BY a.rule_id;

-- name: worklist_matching
-- How many of them the worklist's filters keep (the conditions of the worklist block, without
-- its page).
SELECT count(*)::integer
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE a.patient_id = ANY(%(patient_ids)s::uuid[])
  AND (p.health_centre_id = %(health_centre_id)s OR a.escalated_at IS NOT NULL)
  AND a.state = ANY(%(states)s)
  AND (%(severity)s::text IS NULL OR a.severity = %(severity)s)
  AND (%(assigned_to)s::uuid IS NULL OR a.assigned_to = %(assigned_to)s)
  AND (NOT %(unassigned)s OR a.assigned_to IS NULL)
  AND (%(rule_id)s::text IS NULL OR a.rule_id = %(rule_id)s)
  AND (%(rule_kind)s::text IS NULL OR a.rule_kind = %(rule_kind)s);
