-- 002_views.sql — the views dashboards and reports read.  Idempotent.

-- Per customer per minute, over every valid reading (NORMAL, BRADYCARDIA and
-- TACHYCARDIA: an average that left out the episodes would lie).  Minutes are
-- UTC minutes.  Read from the rollup, so it costs the same at any volume.
CREATE OR REPLACE VIEW vw_customer_bpm_summary AS
SELECT customer_id,
       minute,
       round(hr_sum::numeric / readings, 1)   AS avg_bpm,
       hr_min                                 AS min_bpm,
       hr_max                                 AS max_bpm,
       readings,
       bradycardia + tachycardia              AS anomalies
FROM hb_rollup_customer_minute
WHERE readings > 0;

-- Anomalies stored in the last 24 hours, newest first.
CREATE OR REPLACE VIEW vw_recent_anomalies AS
SELECT id, anomaly_type, customer_id, ts, heart_rate, reason,
       left(raw, 200) AS raw_excerpt, raw_length, created_at
FROM heartbeat_anomalies
WHERE created_at >= now() - interval '24 hours'
ORDER BY created_at DESC, id DESC;

-- One row: what is stored, per status, and what the loaders counted.
-- Counts come from the rollup (plus INVALID lines without a time, which it
-- does not hold); the first and last reading from the rollup's first and last
-- minute, looked up exactly in the rows of that minute; last_stored_at is when
-- the newest reading (by its time) and the newest anomaly were stored.
CREATE OR REPLACE VIEW vw_pipeline_summary AS
WITH st AS (
    SELECT coalesce(sum(readings) FILTER (WHERE status = 'NORMAL'), 0)      AS normal,
           coalesce(sum(readings) FILTER (WHERE status = 'BRADYCARDIA'), 0) AS bradycardia,
           coalesce(sum(readings) FILTER (WHERE status = 'TACHYCARDIA'), 0) AS tachycardia,
           coalesce(sum(readings) FILTER (WHERE status = 'INVALID'), 0)
             + (SELECT count(*) FROM heartbeat_anomalies WHERE ts IS NULL) AS invalid
    FROM hb_rollup_minute
), edge AS (
    SELECT (SELECT min(minute) FROM hb_rollup_minute) AS first_minute,
           (SELECT max(minute) FROM hb_rollup_minute) AS last_minute
), rec AS (
    SELECT (SELECT min(ts) FROM heartbeat_records
            WHERE ts >= edge.first_minute AND ts < edge.first_minute + interval '1 minute') AS first_ts,
           (SELECT max(ts) FROM heartbeat_records
            WHERE ts >= edge.last_minute AND ts < edge.last_minute + interval '1 minute') AS last_ts,
           (SELECT max(created_at) FROM heartbeat_records
            WHERE ts >= edge.last_minute AND ts < edge.last_minute + interval '1 minute') AS last_created
    FROM edge
), anom AS (
    SELECT (SELECT min(ts) FROM heartbeat_anomalies
            WHERE ts >= edge.first_minute AND ts < edge.first_minute + interval '1 minute') AS first_ts,
           (SELECT max(ts) FROM heartbeat_anomalies
            WHERE ts >= edge.last_minute AND ts < edge.last_minute + interval '1 minute') AS last_ts,
           (SELECT max(created_at) FROM heartbeat_anomalies) AS last_created
    FROM edge
), cust AS (
    -- distinct customers by a skip scan of the rollup's primary key
    WITH RECURSIVE c AS (
        (SELECT customer_id FROM hb_rollup_customer_minute ORDER BY customer_id LIMIT 1)
        UNION ALL
        SELECT (SELECT h.customer_id FROM hb_rollup_customer_minute h
                WHERE h.customer_id > c.customer_id ORDER BY h.customer_id LIMIT 1)
        FROM c WHERE c.customer_id IS NOT NULL
    )
    SELECT count(customer_id) AS n FROM c
), latest AS (
    SELECT DISTINCT ON (instance) *
    FROM pipeline_metrics
    ORDER BY instance, id DESC
), met AS (
    SELECT count(*)                     AS loader_runs,
           sum(rows_in)                 AS rows_in,
           sum(rows_stored)             AS rows_stored,
           sum(duplicates_skipped)      AS duplicates_skipped,
           sum(rejected)                AS rejected,
           max(recorded_at)             AS last_snapshot_at
    FROM latest
)
SELECT st.normal + st.bradycardia + st.tachycardia + st.invalid AS readings_stored,
       st.normal, st.bradycardia, st.tachycardia, st.invalid,
       round(100.0 * (st.bradycardia + st.tachycardia)
             / nullif(st.normal + st.bradycardia + st.tachycardia, 0), 2)      AS anomaly_pct,
       cust.n                                                                  AS customers,
       least(rec.first_ts, anom.first_ts)                                      AS first_reading,
       greatest(rec.last_ts, anom.last_ts)                                     AS last_reading,
       greatest(rec.last_created, anom.last_created)                           AS last_stored_at,
       met.loader_runs, met.rows_in, met.rows_stored, met.duplicates_skipped, met.rejected,
       met.last_snapshot_at,
       (SELECT lag_ms FROM pipeline_metrics ORDER BY id DESC LIMIT 1)          AS last_lag_ms,
       (SELECT latency_p99_ms FROM pipeline_metrics ORDER BY id DESC LIMIT 1)  AS last_latency_p99_ms
FROM st, rec, anom, cust, met;

-- The alerts open now, oldest first, with how long they have been open (from
-- their first reading, by the wall clock: for a replay of old readings, ages
-- are long).  peak_bpm and readings as the open event gave them.
CREATE OR REPLACE VIEW vw_open_alerts AS
SELECT id, alert, customer_id, start_ts, opened_at, now() - start_ts AS age,
       peak_bpm, readings, reason, stored_at
FROM heartbeat_alerts
WHERE end_ts IS NULL
ORDER BY start_ts, id;

-- Per UTC day (of the alert's start), customer and type: alerts opened, those
-- of them closed, and their total length in seconds (closed ones only).
CREATE OR REPLACE VIEW vw_alerts_daily AS
SELECT (start_ts AT TIME ZONE 'UTC')::date                               AS day,
       customer_id,
       alert,
       count(*)                                                          AS opened,
       count(end_ts)                                                     AS closed,
       round(coalesce(sum(extract(epoch FROM end_ts - start_ts)), 0), 3) AS total_seconds
FROM heartbeat_alerts
GROUP BY 1, 2, 3;
