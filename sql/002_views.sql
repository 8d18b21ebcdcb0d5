-- 002_views.sql — the views dashboards and reports read.  Idempotent.

-- Per customer per minute, over every valid reading (NORMAL, BRADYCARDIA and
-- TACHYCARDIA: an average that left out the episodes would lie).
CREATE OR REPLACE VIEW vw_customer_bpm_summary AS
SELECT customer_id,
       date_trunc('minute', ts)               AS minute,
       round(avg(heart_rate), 1)              AS avg_bpm,
       min(heart_rate)                        AS min_bpm,
       max(heart_rate)                        AS max_bpm,
       count(*)                               AS readings,
       count(*) FILTER (WHERE anomaly)        AS anomalies
FROM (
    SELECT customer_id, ts, heart_rate, false AS anomaly FROM heartbeat_records
    UNION ALL
    SELECT customer_id, ts, heart_rate, true FROM heartbeat_anomalies
    WHERE anomaly_type <> 'INVALID'
) r
GROUP BY customer_id, date_trunc('minute', ts);

-- Anomalies stored in the last 24 hours, newest first.
CREATE OR REPLACE VIEW vw_recent_anomalies AS
SELECT id, anomaly_type, customer_id, ts, heart_rate, reason,
       left(raw, 200) AS raw_excerpt, raw_length, created_at
FROM heartbeat_anomalies
WHERE created_at >= now() - interval '24 hours'
ORDER BY created_at DESC, id DESC;

-- One row: what is stored, per status, and what the loaders counted.
CREATE OR REPLACE VIEW vw_pipeline_summary AS
WITH rec AS (
    SELECT count(*) AS normal, min(ts) AS first_ts, max(ts) AS last_ts,
           max(created_at) AS last_created
    FROM heartbeat_records
), anom AS (
    SELECT count(*) FILTER (WHERE anomaly_type = 'BRADYCARDIA') AS bradycardia,
           count(*) FILTER (WHERE anomaly_type = 'TACHYCARDIA') AS tachycardia,
           count(*) FILTER (WHERE anomaly_type = 'INVALID')     AS invalid,
           min(ts) AS first_ts, max(ts) AS last_ts, max(created_at) AS last_created
    FROM heartbeat_anomalies
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
SELECT rec.normal + anom.bradycardia + anom.tachycardia + anom.invalid AS readings_stored,
       rec.normal, anom.bradycardia, anom.tachycardia, anom.invalid,
       round(100.0 * (anom.bradycardia + anom.tachycardia)
             / nullif(rec.normal + anom.bradycardia + anom.tachycardia, 0), 2) AS anomaly_pct,
       (SELECT count(DISTINCT customer_id) FROM heartbeat_records)             AS customers,
       least(rec.first_ts, anom.first_ts)                                      AS first_reading,
       greatest(rec.last_ts, anom.last_ts)                                     AS last_reading,
       greatest(rec.last_created, anom.last_created)                           AS last_stored_at,
       met.loader_runs, met.rows_in, met.rows_stored, met.duplicates_skipped, met.rejected,
       met.last_snapshot_at,
       (SELECT lag_ms FROM pipeline_metrics ORDER BY id DESC LIMIT 1)          AS last_lag_ms,
       (SELECT latency_p99_ms FROM pipeline_metrics ORDER BY id DESC LIMIT 1)  AS last_latency_p99_ms
FROM rec, anom, met;
