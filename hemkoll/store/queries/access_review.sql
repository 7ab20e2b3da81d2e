-- A care unit's administrator reviews the unit's rows and every access to the unit's own
-- patients (another unit's or provider's too), as she reads the audit log (audit_log.sql).

-- name: review_random_sample
-- Staff's accesses to patient data in the period, a random sample of them: ordered by a hash
-- of each row's id and the review's seed, so that the same seed draws the same sample again.
SELECT a.id, a.at, a.staff_id, s.name AS staff_name, a.role, a.health_centre_id,
       hc.name AS health_centre_name, a.patient_id, p.reference AS patient_reference,
       a.action, a.object_type, a.status, a.access_basis, a.reason
FROM audit_log AS a
LEFT JOIN staff AS s ON s.id = a.staff_id
LEFT JOIN health_centres AS hc ON hc.id = a.health_centre_id
LEFT JOIN patients AS p ON p.id = a.patient_id
WHERE a.staff_id IS NOT NULL AND a.patient_id IS NOT NULL AND a.status < 400
  AND a.at >= %(since)s AND a.at < %(until)s
  AND (%(health_centre_id)s::uuid IS NULL OR a.health_centre_id = %(health_centre_id)s
       OR p.health_centre_id = %(health_centre_id)s)
ORDER BY md5(a.id::text || %(seed)s)
LIMIT %(limit)s;

-- name: review_without_care_relationship
-- Accesses to a patient's data made from a care unit that had no care relationship with her
-- at that moment, while no alert of hers was open (the one reason to look without one).
SELECT a.id, a.at, a.staff_id, s.name AS staff_name, a.role, a.health_centre_id,
       hc.name AS health_centre_name, a.patient_id, p.reference AS patient_reference,
       a.action, a.object_type, a.status, a.access_basis, a.reason
FROM audit_log AS a
LEFT JOIN staff AS s ON s.id = a.staff_id
LEFT JOIN health_centres AS hc ON hc.id = a.health_centre_id
LEFT JOIN patients AS p ON p.id = a.patient_id
WHERE a.staff_id IS NOT NULL AND a.patient_id IS NOT NULL AND a.status < 400
  AND a.at >= %(since)s AND a.at < %(until)s
  AND (%(health_centre_id)s::uuid IS NULL OR a.health_centre_id = %(health_centre_id)s
       OR p.health_centre_id = %(health_centre_id)s)
  AND NOT EXISTS (
      SELECT 1 FROM care_relationships AS r
      WHERE r.patient_id = a.patient_id AND r.health_centre_id = a.health_centre_id
        AND r.started_at <= a.at AND (r.ended_at IS NULL OR a.at < r.ended_at))
  AND NOT EXISTS (
      SELECT 1 FROM alerts AS al
      WHERE al.patient_id = a.patient_id
        AND al.opened_at <= a.at AND (al.resolved_at IS NULL OR a.at < al.resolved_at))
ORDER BY a.at, a.id
LIMIT %(limit)s;

-- name: review_user_accesses
-- One member of staff's accesses over the period, patient data or not, refused ones too.
SELECT a.id, a.at, a.staff_id, s.name AS staff_name, a.role, a.health_centre_id,
       hc.name AS health_centre_name, a.patient_id, p.reference AS patient_reference,
       a.action, a.object_type, a.status, a.access_basis, a.reason
FROM audit_log AS a
LEFT JOIN staff AS s ON s.id = a.staff_id
LEFT JOIN health_centres AS hc ON hc.id = a.health_centre_id
LEFT JOIN patients AS p ON p.id = a.patient_id
WHERE a.staff_id = %(staff_id)s
  AND a.at >= %(since)s AND a.at < %(until)s
  AND (%(health_centre_id)s::uuid IS NULL OR a.health_centre_id = %(health_centre_id)s
       OR p.health_centre_id = %(health_centre_id)s)
ORDER BY a.at, a.id
LIMIT %(limit)s;

-- name: review_emergency_accesses
-- Emergency accesses started in the period, with the accesses made under each (the member's
-- rows about the patient while it was open).
SELECT e.id, e.staff_id, s.name AS staff_name, s.health_centre_id, e.patient_id,
       p.reference AS patient_reference, e.reason, e.started_at, e.expires_at, e.reviewed_at,
       coalesce(array_agg(a.id ORDER BY a.id) FILTER (WHERE a.id IS NOT NULL), '{}')
           AS audit_ids
FROM emergency_accesses AS e
JOIN staff AS s ON s.id = e.staff_id
JOIN patients AS p ON p.id = e.patient_id
LEFT JOIN audit_log AS a
    ON a.staff_id = e.staff_id AND a.patient_id = e.patient_id
   AND a.at >= e.started_at AND a.at < e.expires_at
WHERE e.started_at >= %(since)s AND e.started_at < %(until)s
  AND (%(health_centre_id)s::uuid IS NULL OR s.health_centre_id = %(health_centre_id)s
       OR p.health_centre_id = %(health_centre_id)s)
GROUP BY e.id, s.name, s.health_centre_id, p.reference
ORDER BY e.started_at, e.id
LIMIT %(limit)s;

-- name: insert_access_review
INSERT INTO access_reviews
    (reviewed_by, reviewer_name, kind, health_centre_id, period_start, period_end,
     subject_staff_id, audit_ids, finding, note, reviewed_at)
VALUES
    (%(reviewed_by)s, %(reviewer_name)s, %(kind)s, %(health_centre_id)s, %(period_start)s,
     %(period_end)s, %(subject_staff_id)s, %(audit_ids)s, %(finding)s, %(note)s, %(now)s)
RETURNING id, reviewed_by, reviewer_name, kind, health_centre_id, period_start, period_end,
          subject_staff_id, audit_ids, finding, note, reviewed_at;

-- name: list_access_reviews
SELECT id, reviewed_by, reviewer_name, kind, health_centre_id, period_start, period_end,
       subject_staff_id, audit_ids, finding, note, reviewed_at
FROM access_reviews
WHERE (%(health_centre_id)s::uuid IS NULL OR health_centre_id = %(health_centre_id)s)
ORDER BY reviewed_at DESC, id
LIMIT %(limit)s;

-- name: mark_emergency_accesses_reviewed
-- An emergency access is flagged for review until a review has looked at it (0020).
UPDATE emergency_accesses SET reviewed_at = %(now)s
WHERE id = ANY(%(ids)s::uuid[]) AND reviewed_at IS NULL
RETURNING id;
