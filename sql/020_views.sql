-- 020_views.sql — the views dashboards and reports read.  Idempotent.

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
       bradycardia + tachycardia              AS anomalies,
       -- seed 001's names for minute and readings (its Grafana and README
       -- queries use them); new columns go last, CREATE OR REPLACE VIEW
       -- cannot move the others
       minute                                 AS minute_bucket,
       readings                               AS reading_count
FROM hb_rollup_customer_minute
WHERE readings > 0;

-- Anomalies stored in the last 24 hours, newest first, with the Kafka
-- message each came from when known (new columns go last: CREATE OR REPLACE
-- VIEW cannot move the others).
CREATE OR REPLACE VIEW vw_recent_anomalies AS
SELECT id, anomaly_type, customer_id, ts, heart_rate, reason,
       left(raw, 200) AS raw_excerpt, raw_length, created_at,
       kafka_topic, kafka_partition, kafka_offset
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
    -- every folded or pending minute holds rows: the ends by their indexes
    SELECT least((SELECT min(minute) FROM hb_fold_minute), (SELECT min(minute) FROM hb_rollup_pending))
             AS first_minute,
           greatest((SELECT max(minute) FROM hb_fold_minute), (SELECT max(minute) FROM hb_rollup_pending))
             AS last_minute
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
    -- distinct customers: a skip scan of the folded minutes' primary key,
    -- and those of the pending minutes' rows
    WITH RECURSIVE c AS (
        (SELECT customer_id FROM hb_fold_customer_minute ORDER BY customer_id LIMIT 1)
        UNION ALL
        SELECT (SELECT h.customer_id FROM hb_fold_customer_minute h
                WHERE h.customer_id > c.customer_id ORDER BY h.customer_id LIMIT 1)
        FROM c WHERE c.customer_id IS NOT NULL
    )
    SELECT count(*) AS n FROM (
        SELECT customer_id FROM c WHERE customer_id IS NOT NULL
        UNION
        SELECT r.customer_id FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p
        JOIN heartbeat_records r ON r.ts >= p.minute AND r.ts < p.minute + interval '1 minute'
        UNION
        SELECT a.customer_id FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p
        JOIN heartbeat_anomalies a ON a.ts >= p.minute AND a.ts < p.minute + interval '1 minute'
        WHERE a.customer_id IS NOT NULL) u
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
       -- the latest snapshot that measured any (an idle one, or a run's
       -- final one after its last batch, has none)
       (SELECT latency_p99_ms FROM pipeline_metrics WHERE latency_p99_ms IS NOT NULL
        ORDER BY id DESC LIMIT 1)                                              AS last_latency_p99_ms
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

-- The pipeline now, for the live views (hb-watch, the hb-report dashboard):
-- the loaders alive (a snapshot in the last 75 s: they write one every 2 s
-- while lines come, hbkafka-sub's marks included, at least one a minute
-- when idle, and a 'final' one when they end), readings per second read and
-- stored over each one's last 4 s or more of snapshots (over the snapshots,
-- not a wall-clock interval, so the figure does not flap between 0 and
-- twice the rate with the snapshots' rhythm), the consumer lag (messages
-- behind), the age of the newest reading they stored (its age at their last
-- snapshot plus the time since: it grows while nothing comes) and their
-- latency, reading time to commit, over their last snapshot (the worst of
-- them).  One row; NULLs (and loaders 0) when none is alive.
CREATE OR REPLACE VIEW vw_pipeline_health AS
WITH latest AS (
    SELECT DISTINCT ON (instance) *
    FROM pipeline_metrics
    WHERE recorded_at >= now() - interval '75 seconds'
    ORDER BY instance, id DESC
), live AS (
    SELECT * FROM latest WHERE kind = 'snapshot'
), rate AS (
    SELECT l.instance,
           (l.rows_in - p.rows_in) / nullif(extract(epoch FROM l.recorded_at - p.recorded_at), 0)         AS in_s,
           (l.rows_stored - p.rows_stored) / nullif(extract(epoch FROM l.recorded_at - p.recorded_at), 0) AS stored_s
    FROM live l
    LEFT JOIN LATERAL (
        SELECT rows_in, rows_stored, recorded_at FROM pipeline_metrics p
        WHERE p.instance = l.instance AND p.id < l.id AND p.kind = 'snapshot'
          AND p.recorded_at <= l.recorded_at - interval '4 seconds'
          AND p.recorded_at >= l.recorded_at - interval '90 seconds'
        ORDER BY p.id DESC LIMIT 1) p4 ON true
    LEFT JOIN LATERAL (
        SELECT rows_in, rows_stored, recorded_at FROM pipeline_metrics p
        WHERE p.instance = l.instance AND p.id < l.id AND p.kind = 'snapshot'
          AND p.recorded_at >= l.recorded_at - interval '90 seconds'
        ORDER BY p.id DESC LIMIT 1) p1 ON true
    CROSS JOIN LATERAL (SELECT coalesce(p4.rows_in, p1.rows_in) AS rows_in,
                               coalesce(p4.rows_stored, p1.rows_stored) AS rows_stored,
                               coalesce(p4.recorded_at, p1.recorded_at) AS recorded_at) p
    WHERE p.recorded_at IS NOT NULL AND p.rows_in <= l.rows_in
)
SELECT (SELECT count(*) FROM live)                                        AS loaders,
       (SELECT round(sum(in_s), 1) FROM rate)                             AS in_per_s,
       (SELECT round(sum(stored_s), 1) FROM rate)                         AS stored_per_s,
       (SELECT sum(consumer_lag) FROM live)                               AS consumer_lag,
       (SELECT min(lag_ms + (extract(epoch FROM now() - recorded_at) * 1000)::bigint)
        FROM live WHERE lag_ms IS NOT NULL)                               AS reading_age_ms,
       (SELECT round(max(latency_p50_ms)::numeric, 1) FROM live)          AS latency_p50_ms,
       (SELECT round(max(latency_p99_ms)::numeric, 1) FROM live)          AS latency_p99_ms,
       (SELECT max(recorded_at) FROM pipeline_metrics)                    AS last_snapshot_at;

-- ---- the seeds' names --------------------------------------------------------------
-- Compatibility views, so that the queries of the systems hbmon replaces run
-- with at most a table name changed.  Read-only; simple views or a UNION ALL
-- of the partitioned tables, so a condition on the time reaches every branch
-- and prunes day partitions (at run time for now() - interval ...).

-- heartbeat_anomalies with seed 001's name for the reading time,
-- event_timestamp (= ts).  Seed 001's
--   SELECT COUNT(*) FROM heartbeat_anomalies WHERE event_timestamp > NOW() - INTERVAL '5 minutes'
-- runs as written on vw_anomalies.  (A column cannot be added to the table
-- without rewriting it, and would not prune partitions.)
CREATE OR REPLACE VIEW vw_anomalies AS
SELECT id, anomaly_type, customer_id, ts, heart_rate, reason, raw, raw_bytes,
       raw_length, created_at,
       ts AS event_timestamp,
       kafka_topic, kafka_partition, kafka_offset
FROM heartbeat_anomalies;

-- Seeds 000 and 004 kept every valid reading in one table, heartbeats
-- (customer_id, ts, heart_rate, created_at; seed 000 flagged the anomalies in
-- it and rejected invalid input): here heartbeat_records (NORMAL) and the
-- BRADYCARDIA/TACHYCARDIA rows of heartbeat_anomalies, with their status.
-- INVALID lines are not readings and are not in it.  No id: heartbeat_records
-- has none ((customer_id, ts) is the key).
CREATE OR REPLACE VIEW heartbeats AS
SELECT customer_id, ts, heart_rate, 'NORMAL'::text AS status, created_at
FROM heartbeat_records
UNION ALL
SELECT customer_id, ts, heart_rate, anomaly_type, created_at
FROM heartbeat_anomalies
WHERE anomaly_type <> 'INVALID';
