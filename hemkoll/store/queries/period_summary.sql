-- name: period_metric_stats
-- Per metric, a patient's readings measured in [since, until): how many, their median, lowest
-- and highest, and the latest with when it was measured.
SELECT r.metric, count(*)::integer AS readings,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.value) AS median,
       min(r.value) AS lowest, max(r.value) AS highest,
       (array_agg(r.value ORDER BY r.measured_at DESC))[1] AS latest,
       max(r.measured_at) AS latest_at
FROM readings AS r
WHERE r.patient_id = %(patient_id)s
  AND r.metric = ANY(%(metrics)s)
  AND r.measured_at >= %(since)s AND r.measured_at < %(until)s
GROUP BY r.metric;

-- name: period_weighed_days
-- The patient's whole local days in [first_day, last_day] on which they were enrolled (from
-- the day of enrolment to the day before discharge), and those with a body weight reading: the
-- programme's adherence, as the follow-up counts it.
WITH days AS (
    SELECT d::date AS day
    FROM patients AS p,
         generate_series(
             greatest(%(first_day)s::date, (p.enrolled_at AT TIME ZONE %(tz)s::text)::date),
             least(%(last_day)s::date,
                   coalesce((p.discharged_at AT TIME ZONE %(tz)s::text)::date - 1,
                            %(last_day)s::date)),
             interval '1 day') AS d
    WHERE p.id = %(patient_id)s
),
weighed AS (
    SELECT DISTINCT (r.measured_at AT TIME ZONE %(tz)s::text)::date AS day
    FROM readings AS r
    WHERE r.patient_id = %(patient_id)s
      AND r.metric = 'body_weight'
      AND r.measured_at >= (%(first_day)s::date::timestamp AT TIME ZONE %(tz)s::text)
      AND r.measured_at < ((%(last_day)s::date + 1)::timestamp AT TIME ZONE %(tz)s::text)
)
SELECT count(*)::integer AS days, count(w.day)::integer AS weighed_days
FROM days AS d
LEFT JOIN weighed AS w ON w.day = d.day;
