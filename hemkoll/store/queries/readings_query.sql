-- name: raw_readings_page
-- One page of a patient's readings in [since, until), ordered by (measured_at, metric,
-- device_id) (the key of a reading, so the order is total) and starting after the cursor
-- (NULL: from the start).
-- Per metric of the list (NULL: every metric of the metrics table, which lists all a reading
-- can have), the first `limit` readings after the cursor come off readings' primary key
-- (patient_id, metric, measured_at, device_id; on TimescaleDB readings_patient_metric_time_idx)
-- in time order, and the page is the first `limit` of their merge: a page costs at most `limit` rows per metric wherever it is in the range, rather than
-- a sort of everything after the cursor. (unnest rather than a join with the metrics table:
-- too small for autovacuum to analyse, that table's default estimate of 520 rows made the
-- planner JIT-compile every page, 8 ms for a 2 ms query.)
SELECT r.metric, r.value, r.measured_at, r.device_id, r.received_at
FROM unnest(coalesce(%(metrics)s::text[], ARRAY(SELECT metric FROM metrics))) AS m (metric)
CROSS JOIN LATERAL (
    SELECT metric, value, measured_at, device_id, received_at
    FROM readings
    WHERE patient_id = %(patient_id)s::uuid
      AND metric = m.metric
      AND measured_at >= %(since)s::timestamptz
      AND measured_at < %(until)s::timestamptz
      AND measured_at >= coalesce(%(after_at)s::timestamptz, %(since)s::timestamptz)
      AND (%(after_at)s::timestamptz IS NULL
           OR (measured_at, metric, device_id)
              > (%(after_at)s::timestamptz, %(after_metric)s::text, %(after_device)s::uuid))
    ORDER BY measured_at, device_id
    LIMIT %(limit)s::integer
) AS r
ORDER BY r.measured_at, r.metric, r.device_id
LIMIT %(limit)s::integer;

-- name: daily_readings
-- Per metric and local day of the time zone, from the hourly rollup: the hours whose start
-- falls in [local midnight of since, local midnight of until), folded into their local day.
-- Exact for a time zone whose UTC offset is a whole number of hours (checked by the caller):
-- then every local midnight is a UTC hour boundary and no hour straddles two days. The newest
-- reading of the day is that of its newest hour (ties: the larger value, as in the rollup).
SELECT metric,
       (hour AT TIME ZONE %(tz)s::text)::date AS day,
       sum(n)::bigint AS n,
       min(min_value) AS min,
       max(max_value) AS max,
       sum(sum_value) / sum(n) AS mean,
       (array_agg(last_value ORDER BY last_at DESC, last_value DESC))[1] AS last_value,
       max(last_at) AS last_at
FROM readings_hourly
WHERE patient_id = %(patient_id)s::uuid
  AND (%(metrics)s::text[] IS NULL OR metric = ANY(%(metrics)s::text[]))
  AND hour >= (%(since)s::date::timestamp AT TIME ZONE %(tz)s::text)
  AND hour < (%(until)s::date::timestamp AT TIME ZONE %(tz)s::text)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: daily_readings_from_raw
-- The same figures straight from readings (no rollup): the benchmark's baseline and the tests'
-- cross-check.
SELECT metric,
       (measured_at AT TIME ZONE %(tz)s::text)::date AS day,
       count(*) AS n,
       min(value) AS min,
       max(value) AS max,
       avg(value) AS mean,
       (array_agg(value ORDER BY measured_at DESC, value DESC))[1] AS last_value,
       max(measured_at) AS last_at
FROM readings
WHERE patient_id = %(patient_id)s::uuid
  AND (%(metrics)s::text[] IS NULL OR metric = ANY(%(metrics)s::text[]))
  AND measured_at >= (%(since)s::date::timestamp AT TIME ZONE %(tz)s::text)
  AND measured_at < (%(until)s::date::timestamp AT TIME ZONE %(tz)s::text)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: reading_in_scope
-- One reading by its key (an Observation id), with its patient, in the caller's centre (NULL:
-- any centre).
SELECT r.patient_id, p.health_centre_id, r.metric, r.value, r.measured_at, r.device_id,
       r.received_at
-- (The device gives the patient, so the readings' primary key finds the row.)
FROM devices AS d
JOIN patients AS p ON p.id = d.patient_id
JOIN readings AS r ON r.patient_id = d.patient_id AND r.metric = %(metric)s
                  AND r.measured_at = %(measured_at)s AND r.device_id = d.id
WHERE d.id = %(device_id)s
  AND (%(health_centre_id)s::uuid IS NULL OR p.health_centre_id = %(health_centre_id)s);

-- name: observation_page
-- One page of a patient's readings as the FHIR API serves them (hemkoll/fhir/observation.py):
-- each reading on its own, except a cuff's systolic_bp and diastolic_bp of the same device and
-- instant, which are one entry of kind 'blood_pressure' (the panel 85354-9; either half may be
-- missing). Entries are ordered by (measured_at, kind, device_id), a total order, and the page
-- starts after the cursor (that triple of the previous page's last entry; NULL: the start), so a
-- panel is one row and never split across pages. Kinds: NULL is every one. As raw_readings_page,
-- each kind reads at most `limit` rows off readings' primary key; the panels are the full join
-- of the first `limit` systolic and the first `limit` diastolic rows, which holds both halves of
-- each of the first `limit` panels (each earlier panel has at most one row of each half).
WITH kinds AS (
    SELECT k.kind
    FROM unnest(coalesce(
        %(kinds)s::text[],
        ARRAY(SELECT metric FROM metrics WHERE metric NOT IN ('systolic_bp', 'diastolic_bp'))
            || 'blood_pressure'::text)) AS k (kind)
),
singles AS (
    SELECT r.metric AS kind, r.value, r.measured_at, r.device_id, r.received_at,
           NULL::double precision AS systolic, NULL::double precision AS diastolic
    FROM kinds
    CROSS JOIN LATERAL (
        SELECT metric, value, measured_at, device_id, received_at
        FROM readings
        WHERE patient_id = %(patient_id)s::uuid
          AND metric = kinds.kind
          AND metric NOT IN ('systolic_bp', 'diastolic_bp')
          AND measured_at >= %(since)s::timestamptz
          AND measured_at < %(until)s::timestamptz
          AND measured_at >= coalesce(%(after_at)s::timestamptz, %(since)s::timestamptz)
          AND (%(after_at)s::timestamptz IS NULL
               OR (measured_at, metric, device_id)
                  > (%(after_at)s::timestamptz, %(after_kind)s::text, %(after_device)s::uuid))
        ORDER BY measured_at, device_id
        LIMIT %(limit)s::integer
    ) AS r
),
halves AS (
    SELECT h.metric, h.value, h.measured_at, h.device_id, h.received_at
    FROM unnest(ARRAY['systolic_bp', 'diastolic_bp']) AS m (metric)
    CROSS JOIN LATERAL (
        SELECT metric, value, measured_at, device_id, received_at
        FROM readings
        WHERE patient_id = %(patient_id)s::uuid
          AND metric = m.metric
          AND measured_at >= %(since)s::timestamptz
          AND measured_at < %(until)s::timestamptz
          AND measured_at >= coalesce(%(after_at)s::timestamptz, %(since)s::timestamptz)
          AND (%(after_at)s::timestamptz IS NULL
               OR (measured_at, 'blood_pressure'::text, device_id)
                  > (%(after_at)s::timestamptz, %(after_kind)s::text, %(after_device)s::uuid))
        ORDER BY measured_at, device_id
        LIMIT %(limit)s::integer
    ) AS h
    WHERE EXISTS (SELECT FROM kinds WHERE kind = 'blood_pressure')
),
panels AS (
    SELECT 'blood_pressure'::text AS kind, NULL::double precision AS value,
           coalesce(s.measured_at, d.measured_at) AS measured_at,
           coalesce(s.device_id, d.device_id) AS device_id,
           greatest(s.received_at, d.received_at) AS received_at,
           s.value AS systolic, d.value AS diastolic
    FROM (SELECT * FROM halves WHERE metric = 'systolic_bp') AS s
    FULL JOIN (SELECT * FROM halves WHERE metric = 'diastolic_bp') AS d
        ON d.measured_at = s.measured_at AND d.device_id = s.device_id
)
SELECT kind, value, measured_at, device_id, received_at, systolic, diastolic
FROM (SELECT * FROM singles UNION ALL SELECT * FROM panels) AS entries
ORDER BY measured_at, kind, device_id
LIMIT %(limit)s::integer;

-- name: blood_pressure_in_scope
-- A cuff's systolic and diastolic of one device and instant (a panel's id), with the patient,
-- in the caller's centre (NULL: any centre); no row when neither half is stored.
SELECT d.patient_id, p.health_centre_id, r.measured_at, r.device_id,
       max(r.value) FILTER (WHERE r.metric = 'systolic_bp') AS systolic,
       max(r.value) FILTER (WHERE r.metric = 'diastolic_bp') AS diastolic,
       max(r.received_at) AS received_at
FROM devices AS d
JOIN patients AS p ON p.id = d.patient_id
JOIN readings AS r ON r.patient_id = d.patient_id AND r.metric IN ('systolic_bp', 'diastolic_bp')
                  AND r.measured_at = %(measured_at)s AND r.device_id = d.id
WHERE d.id = %(device_id)s
  AND (%(health_centre_id)s::uuid IS NULL OR p.health_centre_id = %(health_centre_id)s)
GROUP BY d.patient_id, p.health_centre_id, r.measured_at, r.device_id;
