-- name: patient_list
-- The console's patient list: a care unit's patients under monitoring (patient_ids: those the
-- access decision lets the caller see, a shared patient's too: 0020) (their reference
-- containing `search`, case-folded; NULL: all), each with her latest values, in one statement.
-- Days are the patient's local days (her time zone) and `today` is hers at `now`.
--   latest weight: the newest hour of the hourly rollup (readings_hourly, its key
--     (patient_id, metric, hour) read backwards), its newest reading;
--   usual weight: the median of her daily mean weights over the `usual_days` local days before
--     the day of that latest weight, given at least `usual_min_days` of them;
--   blood pressure: the newest systolic hour and the diastolic of the same hour;
--   last reading: the newest of every metric's newest hour (one index probe per metric);
--   adherence: local days with a weight among the `adherence_days` whole days before today,
--     counted from her day of enrolment (days before it are not hers to miss);
--   alerts: her unresolved alerts (open or acknowledged) by severity, and who has them.
-- Folding UTC hours into local days is exact for time zones whose offset is a whole number of
-- hours (as daily_readings).
WITH listed AS (
    SELECT p.id, p.reference, p.timezone, p.monitoring_paused_since,
           (%(now)s::timestamptz AT TIME ZONE p.timezone)::date AS today,
           (p.enrolled_at AT TIME ZONE p.timezone)::date AS enrolled_day
    FROM patients AS p
    WHERE p.id = ANY(%(patient_ids)s::uuid[])
      AND p.discharged_at IS NULL
      AND (%(search)s::text IS NULL OR strpos(lower(p.reference), lower(%(search)s::text)) > 0)
    ORDER BY p.reference
    LIMIT %(limit)s
)
SELECT l.id, l.reference, l.monitoring_paused_since,
       w.last_value AS weight_kg, w.last_at AS weight_at,
       usual.kg AS usual_weight_kg,
       sys.last_value AS systolic, dia.last_value AS diastolic, sys.last_at AS bp_at,
       latest.at AS last_reading_at,
       (l.today - (latest.at AT TIME ZONE l.timezone)::date)::integer AS days_since_reading,
       adherence.weighed_days,
       greatest(0, l.today - greatest(l.today - %(adherence_days)s::integer, l.enrolled_day))
           ::integer AS adherence_days,
       al.red_alerts, al.yellow_alerts, al.assignees
FROM listed AS l
LEFT JOIN LATERAL (
    SELECT h.last_value, h.last_at
    FROM readings_hourly AS h
    WHERE h.patient_id = l.id AND h.metric = 'body_weight'
    ORDER BY h.hour DESC
    LIMIT 1
) AS w ON true
LEFT JOIN LATERAL (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d.kg) AS kg
    FROM (
        SELECT sum(h.sum_value) / sum(h.n) AS kg
        FROM readings_hourly AS h
        WHERE h.patient_id = l.id AND h.metric = 'body_weight'
          AND h.hour >= (((w.last_at AT TIME ZONE l.timezone)::date - %(usual_days)s::integer)
                         ::timestamp AT TIME ZONE l.timezone)
          AND h.hour < ((w.last_at AT TIME ZONE l.timezone)::date::timestamp
                        AT TIME ZONE l.timezone)
        GROUP BY (h.hour AT TIME ZONE l.timezone)::date
    ) AS d
    HAVING count(*) >= %(usual_min_days)s::integer
) AS usual ON true
LEFT JOIN LATERAL (
    SELECT h.hour, h.last_value, h.last_at
    FROM readings_hourly AS h
    WHERE h.patient_id = l.id AND h.metric = 'systolic_bp'
    ORDER BY h.hour DESC
    LIMIT 1
) AS sys ON true
LEFT JOIN readings_hourly AS dia
    ON dia.patient_id = l.id AND dia.metric = 'diastolic_bp' AND dia.hour = sys.hour
LEFT JOIN LATERAL (
    SELECT max(newest.last_at) AS at
    FROM unnest(ARRAY(SELECT metric FROM metrics)) AS m (metric)
    CROSS JOIN LATERAL (
        SELECT h.last_at
        FROM readings_hourly AS h
        WHERE h.patient_id = l.id AND h.metric = m.metric
        ORDER BY h.hour DESC
        LIMIT 1
    ) AS newest
) AS latest ON true
LEFT JOIN LATERAL (
    SELECT count(DISTINCT (h.hour AT TIME ZONE l.timezone)::date)::integer AS weighed_days
    FROM readings_hourly AS h
    WHERE h.patient_id = l.id AND h.metric = 'body_weight'
      AND h.hour >= (greatest(l.today - %(adherence_days)s::integer, l.enrolled_day)::timestamp
                     AT TIME ZONE l.timezone)
      AND h.hour < (l.today::timestamp AT TIME ZONE l.timezone)
) AS adherence ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE a.severity = 'red')::integer AS red_alerts,
           count(*) FILTER (WHERE a.severity = 'yellow')::integer AS yellow_alerts,
           coalesce(array_agg(DISTINCT a.assigned_to) FILTER (WHERE a.assigned_to IS NOT NULL),
                    ARRAY[]::uuid[]) AS assignees
    FROM alerts AS a
    WHERE a.patient_id = l.id AND a.state <> 'resolved'
) AS al ON true
ORDER BY l.reference;
