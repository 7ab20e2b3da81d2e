-- name: followup_enrolment
-- The programme follow-up of one health centre over the local days [first_day, last_day] of its
-- time zone (hemkoll.store.followup: the caller caps last_day at today, so what has happened
-- today counts). Here: patients enrolled and discharged in the period, and those under
-- monitoring at its end (today: now).
WITH bounds AS (
    SELECT (%(first_day)s::date::timestamp AT TIME ZONE %(tz)s::text) AS since,
           ((%(last_day)s::date + 1)::timestamp AT TIME ZONE %(tz)s::text) AS until
)
SELECT count(*) FILTER (WHERE p.enrolled_at < b.until
                          AND (p.discharged_at IS NULL OR p.discharged_at >= b.until))::integer
           AS at_end,
       count(*) FILTER (WHERE p.enrolled_at >= b.since AND p.enrolled_at < b.until)::integer
           AS enrolled,
       count(*) FILTER (WHERE p.discharged_at >= b.since AND p.discharged_at < b.until)::integer
           AS discharged
FROM patients AS p, bounds AS b
WHERE p.health_centre_id = %(health_centre_id)s;

-- name: followup_adherence
-- Patient-days (a local day on which the patient was enrolled: from the day of enrolment to
-- the day before discharge), those with at least one body weight reading on that local day,
-- and the patients with any, over whole days only (up to adherence_last_day, at most
-- yesterday: a day still going on would count as a day without a weight). Read from the
-- readings themselves (a weight or two a day), so any time zone is exact.
WITH patient_days AS (
    SELECT p.id AS patient_id, d::date AS day
    FROM patients AS p,
         generate_series(
             greatest(%(first_day)s::date, (p.enrolled_at AT TIME ZONE %(tz)s::text)::date),
             least(%(adherence_last_day)s::date,
                   coalesce((p.discharged_at AT TIME ZONE %(tz)s::text)::date - 1,
                            %(adherence_last_day)s::date)),
             interval '1 day') AS d
    WHERE p.health_centre_id = %(health_centre_id)s
),
weighed AS (
    SELECT DISTINCT r.patient_id, (r.measured_at AT TIME ZONE %(tz)s::text)::date AS day
    FROM readings AS r
    JOIN patients AS p ON p.id = r.patient_id
    WHERE p.health_centre_id = %(health_centre_id)s
      AND r.metric = 'body_weight'
      AND r.measured_at >= (%(first_day)s::date::timestamp AT TIME ZONE %(tz)s::text)
      AND r.measured_at < ((%(adherence_last_day)s::date + 1)::timestamp AT TIME ZONE %(tz)s::text)
)
SELECT count(DISTINCT pd.patient_id)::integer AS patients,
       count(*)::integer AS patient_days,
       count(w.patient_id)::integer AS weighed_days
FROM patient_days AS pd
LEFT JOIN weighed AS w ON w.patient_id = pd.patient_id AND w.day = pd.day;

-- name: followup_alerts_by_rule
-- Alerts opened in the period, per rule.
SELECT a.rule_id, count(*)::integer AS alerts
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE p.health_centre_id = %(health_centre_id)s
  AND a.opened_at >= (%(first_day)s::date::timestamp AT TIME ZONE %(tz)s::text)
  AND a.opened_at < ((%(last_day)s::date + 1)::timestamp AT TIME ZONE %(tz)s::text)
GROUP BY a.rule_id
ORDER BY alerts DESC, a.rule_id;

-- name: followup_response_times
-- Of the alerts opened in the period: how many, how many acknowledged and resolved so far, and
-- the median time from opening to each (seconds; NULL when there is none to take it of).
SELECT count(*)::integer AS alerts,
       count(a.acknowledged_at)::integer AS acknowledged,
       count(a.resolved_at)::integer AS resolved,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM a.acknowledged_at - a.opened_at))
           AS median_acknowledge_s,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM a.resolved_at - a.opened_at))
           AS median_resolve_s
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE p.health_centre_id = %(health_centre_id)s
  AND a.opened_at >= (%(first_day)s::date::timestamp AT TIME ZONE %(tz)s::text)
  AND a.opened_at < ((%(last_day)s::date + 1)::timestamp AT TIME ZONE %(tz)s::text);

-- name: followup_outcomes
-- Of the alerts opened in the period and resolved since, how many per outcome.
SELECT a.outcome, count(*)::integer AS alerts
FROM alerts AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE p.health_centre_id = %(health_centre_id)s
  AND a.outcome IS NOT NULL
  AND a.opened_at >= (%(first_day)s::date::timestamp AT TIME ZONE %(tz)s::text)
  AND a.opened_at < ((%(last_day)s::date + 1)::timestamp AT TIME ZONE %(tz)s::text)
GROUP BY a.outcome
ORDER BY alerts DESC, a.outcome;
