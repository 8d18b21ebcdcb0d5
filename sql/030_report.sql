-- 030_report.sql — the questions hb-report (and the Grafana panels that fit)
-- ask of a time range, as functions.  Idempotent.
--
-- A range is [p_from, p_to) and is read from the per-minute rollups
-- (012_rollups.sql) by the minute: a minute is in it when its start is, so
-- give whole minutes (hb-report does) to count exactly the readings whose ts
-- is in the range.  A bucket is p_secs seconds (a whole number of minutes
-- for the rollups' data) and starts on a multiple of p_secs from 2000-01-01
-- 00:00 in the session's TimeZone: an hour bucket starts on the hour, a day
-- bucket at local midnight.  The functions that give a bucket per row give
-- every bucket of the range, in order, an empty one with NULLs (and zero
-- counts).  Plain SQL (but hb_rollup_hr_pieces, plpgsql for the ranges it
-- computes first), STABLE, not SECURITY DEFINER: the caller reads the
-- tables with its own rights (hbmon_reader's, 090_roles.sql grants EXECUTE),
-- and PostgreSQL inlines them into the caller's query, so a condition on
-- their result (a customer) reaches the rollups' indexes.

-- The start of the bucket of p_secs seconds that holds t.  The one bucket
-- expression: everything below and hb-report use it.
CREATE OR REPLACE FUNCTION hb_bucket(t timestamptz, p_secs integer) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT date_bin(make_interval(secs => p_secs), t, timestamptz '2000-01-01 00:00')
$$;

-- Every bucket of p_secs seconds that holds a part of [p_from, p_to), in order.
CREATE OR REPLACE FUNCTION hb_buckets(p_from timestamptz, p_to timestamptz, p_secs integer)
RETURNS SETOF timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT generate_series(hb_bucket(p_from, p_secs), p_to - interval '1 microsecond',
                           make_interval(secs => p_secs))
$$;

-- One row: the readings with a time in the range, all (readings) and per
-- status, and the heart rate of the valid ones (NORMAL, BRADYCARDIA and
-- TACHYCARDIA): average, min and max (NULL without any).  INVALID lines
-- without a time are not in it (hb_report_span counts them).
CREATE OR REPLACE FUNCTION hb_report_status(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (readings bigint, normal bigint, bradycardia bigint, tachycardia bigint, invalid bigint,
               avg_bpm numeric, min_bpm integer, max_bpm integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(sum(readings), 0)::bigint,
           coalesce(sum(readings) FILTER (WHERE status = 'NORMAL'), 0)::bigint,
           coalesce(sum(readings) FILTER (WHERE status = 'BRADYCARDIA'), 0)::bigint,
           coalesce(sum(readings) FILTER (WHERE status = 'TACHYCARDIA'), 0)::bigint,
           coalesce(sum(readings) FILTER (WHERE status = 'INVALID'), 0)::bigint,
           sum(hr_sum) FILTER (WHERE status <> 'INVALID')::numeric
             / nullif(sum(readings) FILTER (WHERE status <> 'INVALID'), 0),
           min(hr_min), max(hr_max)
    FROM hb_rollup_minute
    WHERE minute >= p_from AND minute < p_to
$$;

-- One row: the customers with a reading (of any status) in the range, the
-- first and the last reading's time (looked up in the rows of the range's
-- first and last minute), and the INVALID lines without a time that were
-- stored (created_at) in the range.
CREATE OR REPLACE FUNCTION hb_report_span(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (customers bigint, first_reading timestamptz, last_reading timestamptz,
               untimed_invalid bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH m AS (
        SELECT min(minute) AS m0, max(minute) AS m1
        FROM hb_rollup_minute WHERE minute >= p_from AND minute < p_to
    )
    SELECT (SELECT count(*) FROM hb_customer_sums(p_from, p_to)),
           (SELECT min(ts) FROM (
                SELECT min(ts) AS ts FROM heartbeat_records
                WHERE ts >= m.m0 AND ts < m.m0 + interval '1 minute'
                UNION ALL
                SELECT min(ts) FROM heartbeat_anomalies
                WHERE ts >= m.m0 AND ts < m.m0 + interval '1 minute') x),
           (SELECT max(ts) FROM (
                SELECT max(ts) AS ts FROM heartbeat_records
                WHERE ts >= m.m1 AND ts < m.m1 + interval '1 minute'
                UNION ALL
                SELECT max(ts) FROM heartbeat_anomalies
                WHERE ts >= m.m1 AND ts < m.m1 + interval '1 minute') x),
           (SELECT count(*) FROM heartbeat_anomalies
            WHERE ts IS NULL AND created_at >= p_from AND created_at < p_to)
    FROM m
$$;

-- Per customer with a reading in the range: its valid readings (readings)
-- and their heart rate (average, min, max), and its readings per status;
-- anomalies = bradycardia + tachycardia + invalid.  No order: the caller
-- orders (by anomalies for a top list) or picks customers.  The counts come
-- from the running totals (hb_customer_sums: what a range costs does not
-- grow with its length); min and max only when asked for (from the minutes
-- of that customer).
CREATE OR REPLACE FUNCTION hb_report_customers(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (customer_id text, readings bigint, normal bigint, bradycardia bigint,
               tachycardia bigint, invalid bigint, anomalies bigint,
               avg_bpm numeric, min_bpm integer, max_bpm integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.customer_id, s.readings, s.normal, s.bradycardia, s.tachycardia, s.invalid,
           s.bradycardia + s.tachycardia + s.invalid,
           s.hr_sum::numeric / nullif(s.readings, 0),
           (SELECT min(m.hr_min) FROM hb_rollup_customer_minute m
            WHERE m.customer_id = s.customer_id AND m.minute >= p_from AND m.minute < p_to),
           (SELECT max(m.hr_max) FROM hb_rollup_customer_minute m
            WHERE m.customer_id = s.customer_id AND m.minute >= p_from AND m.minute < p_to)
    FROM hb_customer_sums(p_from, p_to) s
$$;

-- The 5-minute slots whole in [p_from, p_to): [lo, hi), empty (lo = hi =
-- p_to) when there is none or p_whole is false; and those of them with a
-- minute pending, which are not whole in the folded slots yet.
CREATE OR REPLACE FUNCTION hb_rollup_whole_slots(p_from timestamptz, p_to timestamptz, p_whole boolean,
                                                 OUT lo timestamptz, OUT hi timestamptz,
                                                 OUT pending timestamptz[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    lo := hb_5min(p_from - interval '1 microsecond') + interval '5 minutes';
    hi := hb_5min(p_to - interval '4 minutes 1 microsecond') + interval '5 minutes';
    IF NOT p_whole OR lo >= hi THEN
        lo := p_to;
        hi := p_to;
    END IF;
    SELECT coalesce(array_agg(DISTINCT hb_5min(minute)), '{}') INTO pending
    FROM hb_rollup_pending WHERE minute >= lo AND minute < hi;
END
$$;

-- The valid readings per heart rate of the minutes in [p_from, p_to) (a
-- minute of the range by its start, as in the rollups), in pieces of 5
-- minutes where it can: per 5-minute slot for each slot whole in the range
-- with no minute pending (hb_fold_5min_hr; left out with p_slots false,
-- for a caller that reads those slots from hb_fold_5min), per minute for
-- the rest (the range's ragged ends and the pending slots, from
-- hb_rollup_minute_hr).  Summed per bucket of p_secs seconds, the same
-- figures as the minutes': with p_whole false (a bucket that is not a
-- multiple of 5 minutes, or an origin of hb_bucket that is not on a
-- 5-minute boundary of UTC), every piece is a minute.  Never in parallel:
-- its queries read a few minutes each, and starting workers for them took
-- longer than the reading (3 x 8 ms of a report's 100).
DROP FUNCTION IF EXISTS hb_rollup_hr_pieces(timestamptz, timestamptz, boolean);
CREATE OR REPLACE FUNCTION hb_rollup_hr_pieces(p_from timestamptz, p_to timestamptz, p_whole boolean,
                                               p_slots boolean DEFAULT true)
RETURNS TABLE (piece timestamptz, heart_rate integer, readings bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    w record;
BEGIN
    SELECT * INTO w FROM hb_rollup_whole_slots(p_from, p_to, p_whole);
    RETURN QUERY
    SELECT f.slot, f.heart_rate, f.readings FROM hb_fold_5min_hr f
    WHERE p_slots AND f.slot >= w.lo AND f.slot < w.hi AND f.slot <> ALL (w.pending)
    UNION ALL
    SELECT v.minute, v.heart_rate, v.readings FROM hb_rollup_minute_hr v
    WHERE v.minute >= p_from AND v.minute < w.lo
    UNION ALL
    SELECT v.minute, v.heart_rate, v.readings FROM hb_rollup_minute_hr v
    WHERE v.minute >= w.hi AND v.minute < p_to
    UNION ALL
    SELECT v.minute, v.heart_rate, v.readings
    FROM unnest(w.pending) s(slot)
    CROSS JOIN LATERAL (
        SELECT * FROM hb_rollup_minute_hr x
        WHERE x.minute >= s.slot AND x.minute < s.slot + interval '5 minutes') v;
END
$$;

-- The fleet per bucket, over the valid readings: average, min and max heart
-- rate, the 5th and 95th percentile (the smallest heart rates with 5 % and
-- 95 % of the bucket's readings at or below them) and the readings.  A
-- bucket of 5 minutes that is a slot whole in the range and folded takes
-- its percentiles from hb_fold_5min; the others sum their heart rates'
-- counts from hb_rollup_hr_pieces and find them.
CREATE OR REPLACE FUNCTION hb_report_fleet(p_from timestamptz, p_to timestamptz, p_secs integer)
RETURNS TABLE (bucket timestamptz, avg_bpm numeric, min_bpm integer, max_bpm integer,
               p5_bpm integer, p95_bpm integer, readings bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH k AS (
        -- slots nest in the buckets when a bucket is a multiple of 5 minutes
        -- and hb_bucket's origin (midnight in the session's zone) is on a
        -- 5-minute boundary of UTC, as in every zone of today; a bucket of
        -- 5 minutes is then a slot
        SELECT p_secs % 300 = 0 AND extract(epoch FROM hb_bucket(p_from, 300))::bigint % 300 = 0 AS whole,
               p_secs = 300 AND extract(epoch FROM hb_bucket(p_from, 300))::bigint % 300 = 0 AS slot
    ), m AS (
        SELECT hb_bucket(minute, p_secs) AS g,
               sum(hr_sum)::numeric / sum(readings) AS a, min(hr_min) AS lo, max(hr_max) AS hi,
               sum(readings) AS n
        FROM hb_rollup_minute
        WHERE status <> 'INVALID' AND minute >= p_from AND minute < p_to
        GROUP BY 1
    ), v AS (
        -- counted in float8: exact while 19 x a bucket's readings stays
        -- under 2^53 (4.7e14 readings), and several times faster
        -- than numeric, which sum(bigint) is, in the windows below
        SELECT hb_bucket(x.piece, p_secs) AS g, x.heart_rate, sum(x.readings::float8) AS n
        FROM k, hb_rollup_hr_pieces(p_from, p_to, k.whole, NOT k.slot) x
        GROUP BY 1, 2
    ), p AS (
        SELECT f.slot AS g, f.p5, f.p95
        FROM k, hb_rollup_whole_slots(p_from, p_to, k.slot) w
        JOIN hb_fold_5min f ON f.slot >= w.lo AND f.slot < w.hi AND f.slot <> ALL (w.pending)
        UNION ALL
        SELECT g, min(heart_rate) FILTER (WHERE 20 * cum >= tot),
                  min(heart_rate) FILTER (WHERE 20 * cum >= 19 * tot)
        FROM (SELECT g, heart_rate,
                     sum(n) OVER (PARTITION BY g ORDER BY heart_rate ROWS UNBOUNDED PRECEDING) AS cum,
                     sum(n) OVER (PARTITION BY g) AS tot
              FROM v) c
        GROUP BY g
    )
    SELECT b.g, m.a, m.lo, m.hi, p.p5, p.p95, coalesce(m.n, 0)::bigint
    FROM hb_buckets(p_from, p_to, p_secs) b(g) LEFT JOIN m USING (g) LEFT JOIN p USING (g)
    ORDER BY b.g
$$;

-- The customers given, per bucket, over their valid readings: average, min
-- and max heart rate; every customer given gets every bucket.  In the
-- order of p_customers, then of the buckets.
CREATE OR REPLACE FUNCTION hb_report_customer_buckets(p_from timestamptz, p_to timestamptz,
                                                      p_secs integer, p_customers text[])
RETURNS TABLE (customer_id text, bucket timestamptz, avg_bpm numeric, min_bpm integer, max_bpm integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH c AS (
        SELECT c, o FROM unnest(p_customers) WITH ORDINALITY AS u(c, o)
    ), s AS (
        SELECT customer_id AS c, hb_bucket(minute, p_secs) AS g,
               sum(hr_sum)::numeric / sum(readings) AS a, min(hr_min) AS lo, max(hr_max) AS hi
        FROM hb_rollup_customer_minute
        WHERE customer_id = ANY (p_customers) AND readings > 0 AND minute >= p_from AND minute < p_to
        GROUP BY 1, 2
    )
    SELECT c.c, b.g, s.a, s.lo, s.hi
    FROM c CROSS JOIN hb_buckets(p_from, p_to, p_secs) b(g) LEFT JOIN s ON s.c = c.c AND s.g = b.g
    ORDER BY c.o, b.g
$$;

-- Anomalies per bucket by type (readings, not a rate).
CREATE OR REPLACE FUNCTION hb_report_anomaly_buckets(p_from timestamptz, p_to timestamptz, p_secs integer)
RETURNS TABLE (bucket timestamptz, bradycardia bigint, tachycardia bigint, invalid bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH a AS (
        SELECT hb_bucket(minute, p_secs) AS g,
               sum(readings) FILTER (WHERE status = 'BRADYCARDIA') AS b,
               sum(readings) FILTER (WHERE status = 'TACHYCARDIA') AS t,
               sum(readings) FILTER (WHERE status = 'INVALID')     AS i
        FROM hb_rollup_minute
        WHERE status <> 'NORMAL' AND minute >= p_from AND minute < p_to
        GROUP BY 1
    )
    SELECT b.g, coalesce(a.b, 0)::bigint, coalesce(a.t, 0)::bigint, coalesce(a.i, 0)::bigint
    FROM hb_buckets(p_from, p_to, p_secs) b(g) LEFT JOIN a USING (g)
    ORDER BY b.g
$$;

-- The valid readings per heart rate, in bpm order.
CREATE OR REPLACE FUNCTION hb_report_distribution(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (heart_rate integer, readings bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT heart_rate, sum(readings)::bigint FROM hb_rollup_minute_hr
    WHERE minute >= p_from AND minute < p_to
    GROUP BY 1 ORDER BY 1
$$;

-- One row: what the loaders counted in the range, by the time their
-- snapshots were recorded (wall clock): each snapshot counts what it adds
-- to the previous one of its run (cumulative counters; a run starts after a
-- 'final' row or where the counters went back).  runs: instances seen;
-- max_*: the worst snapshot; last_snapshot: the latest.
CREATE OR REPLACE FUNCTION hb_report_loaders(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (runs bigint, rows_in bigint, rows_stored bigint, duplicates_skipped bigint,
               rejected bigint, normal bigint, bradycardia bigint, tachycardia bigint,
               invalid bigint, batches bigint, retries bigint, max_lag_ms bigint,
               max_p99_ms double precision, max_consumer_lag bigint, last_snapshot timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH m AS (
        SELECT m.instance, m.recorded_at, m.lag_ms, m.latency_p99_ms, m.consumer_lag,
               m.rows_in - coalesce(p.rows_in, 0)                       AS rows_in,
               m.rows_stored - coalesce(p.rows_stored, 0)               AS rows_stored,
               m.duplicates_skipped - coalesce(p.duplicates_skipped, 0) AS duplicates_skipped,
               m.rejected - coalesce(p.rejected, 0)                     AS rejected,
               m.normal - coalesce(p.normal, 0)                         AS normal,
               m.bradycardia - coalesce(p.bradycardia, 0)               AS bradycardia,
               m.tachycardia - coalesce(p.tachycardia, 0)               AS tachycardia,
               m.invalid - coalesce(p.invalid, 0)                       AS invalid,
               m.batches - coalesce(p.batches, 0)                       AS batches,
               m.retries - coalesce(p.retries, 0)                       AS retries
        FROM pipeline_metrics m
        LEFT JOIN LATERAL (
            SELECT * FROM pipeline_metrics p
            WHERE p.instance = m.instance AND p.id < m.id
            ORDER BY p.id DESC LIMIT 1
        ) p ON p.kind <> 'final' AND p.rows_in <= m.rows_in
        WHERE m.recorded_at >= p_from AND m.recorded_at < p_to
    )
    SELECT count(DISTINCT instance), sum(rows_in)::bigint, sum(rows_stored)::bigint,
           sum(duplicates_skipped)::bigint, sum(rejected)::bigint, sum(normal)::bigint,
           sum(bradycardia)::bigint, sum(tachycardia)::bigint, sum(invalid)::bigint,
           sum(batches)::bigint, sum(retries)::bigint, max(lag_ms), max(latency_p99_ms),
           max(consumer_lag), max(recorded_at)
    FROM m
$$;

-- One row: every loader run's totals, whatever the range (the latest
-- snapshot of each instance, as vw_pipeline_summary counts them).
CREATE OR REPLACE FUNCTION hb_report_loaders_all()
RETURNS TABLE (runs bigint, rows_in bigint, rows_stored bigint, duplicates_skipped bigint,
               rejected bigint, normal bigint, bradycardia bigint, tachycardia bigint,
               invalid bigint, batches bigint, retries bigint, last_snapshot timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH l AS (
        SELECT DISTINCT ON (instance) * FROM pipeline_metrics ORDER BY instance, id DESC
    )
    SELECT count(*), sum(rows_in)::bigint, sum(rows_stored)::bigint, sum(duplicates_skipped)::bigint,
           sum(rejected)::bigint, sum(normal)::bigint, sum(bradycardia)::bigint,
           sum(tachycardia)::bigint, sum(invalid)::bigint, sum(batches)::bigint,
           sum(retries)::bigint, max(recorded_at)
    FROM l
$$;

-- The alerts that started in the range, per day (in the session's
-- TimeZone) and type: opened, closed since, and the total length in seconds
-- of the closed ones.
CREATE OR REPLACE FUNCTION hb_report_alerts_daily(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (day date, alert text, opened bigint, closed bigint, total_seconds numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT start_ts::date, alert, count(*), count(end_ts),
           coalesce(sum(extract(epoch FROM end_ts - start_ts)), 0)
    FROM heartbeat_alerts
    WHERE start_ts >= p_from AND start_ts < p_to
    GROUP BY 1, 2 ORDER BY 1, 2
$$;

-- hb_report_latest and hb_report_latest_anomalies gained the Kafka
-- coordinates of the anomaly rows (010_readings.sql): CREATE OR REPLACE
-- cannot change what a function returns, so a database made before drops
-- them first (090_roles.sql grants them again).
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['hb_report_latest(timestamptz,timestamptz,integer)',
                             'hb_report_latest_anomalies(timestamptz,timestamptz,integer)'] LOOP
        IF EXISTS (SELECT FROM pg_proc WHERE oid = to_regprocedure(f)
                   AND NOT 'kafka_offset' = ANY(proargnames)) THEN
            EXECUTE 'DROP FUNCTION ' || f;
        END IF;
    END LOOP;
END
$$;

-- The latest p_n readings in the range, of every status (reason: an
-- INVALID one's, else ''; the Kafka coordinates of an anomaly row when it
-- has them), newest first.  Looked for in the last two minutes that hold
-- any (by the rollups), so a day's range costs what a minute does.
CREATE OR REPLACE FUNCTION hb_report_latest(p_from timestamptz, p_to timestamptz, p_n integer)
RETURNS TABLE (ts timestamptz, customer_id text, heart_rate integer, status text, reason text,
               kafka_topic text, kafka_partition integer, kafka_offset bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH m AS (
        SELECT max(minute) AS m FROM hb_rollup_minute WHERE minute >= p_from AND minute < p_to
    ), r AS (
        (SELECT ts, customer_id, heart_rate, 'NORMAL' AS status, '' AS reason,
                NULL::text AS kafka_topic, NULL::integer AS kafka_partition, NULL::bigint AS kafka_offset
         FROM heartbeat_records, m
         WHERE ts >= m.m - interval '1 minute' AND ts >= p_from AND ts < p_to
         ORDER BY ts DESC LIMIT p_n)
        UNION ALL
        (SELECT ts, customer_id, heart_rate, anomaly_type, coalesce(reason, ''),
                kafka_topic, kafka_partition, kafka_offset
         FROM heartbeat_anomalies, m
         WHERE ts >= m.m - interval '1 minute' AND ts >= p_from AND ts < p_to
         ORDER BY ts DESC LIMIT p_n)
    )
    SELECT ts, customer_id, heart_rate, status, reason, kafka_topic, kafka_partition, kafka_offset
    FROM r ORDER BY ts DESC, customer_id LIMIT p_n
$$;

-- The latest p_n anomalies in the range, newest first (by the index on ts),
-- with the Kafka message each came from when known.
CREATE OR REPLACE FUNCTION hb_report_latest_anomalies(p_from timestamptz, p_to timestamptz, p_n integer)
RETURNS TABLE (ts timestamptz, customer_id text, heart_rate integer, anomaly_type text, reason text,
               kafka_topic text, kafka_partition integer, kafka_offset bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT ts, customer_id, heart_rate, anomaly_type, reason, kafka_topic, kafka_partition, kafka_offset
    FROM heartbeat_anomalies
    WHERE ts >= p_from AND ts < p_to
    ORDER BY ts DESC, id DESC LIMIT p_n
$$;
