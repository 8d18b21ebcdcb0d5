-- 090_roles.sql — least privilege.  Idempotent.
--
--   hbmon_loader  what hbpgload needs: INSERT into the tables it feeds (and
--                 pipeline_metrics, and its word on them: hb_rollup_delta), and asking for day partitions
--                 (hb_ensure_partitions); no SELECT, UPDATE, DELETE or TRUNCATE.
--                 ON CONFLICT DO NOTHING needs INSERT only.  Alerts and
--                 detection states only through hb_alerts_apply, hb_state_apply
--                 and hb_alert_state_load (no right on their tables).
--   hbmon_reader  SELECT on tables and views, EXECUTE on the report functions
--                 (hb_bucket, hb_buckets, hb_report_*), for dashboards and reports
--                 (the seeds' compatibility views vw_anomalies and heartbeats too).
-- Both are NOLOGIN groups: grant them to login roles, e.g.
--   CREATE ROLE loader LOGIN PASSWORD '...' IN ROLE hbmon_loader;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hbmon_loader') THEN
        CREATE ROLE hbmon_loader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hbmon_reader') THEN
        CREATE ROLE hbmon_reader NOLOGIN;
    END IF;
END
$$;

REVOKE ALL ON heartbeat_records, heartbeat_anomalies, pipeline_metrics,
              hb_rollup_minute, hb_rollup_minute_hr, hb_rollup_customer_minute,
              hb_fold_minute, hb_fold_minute_hr, hb_fold_5min_hr, hb_fold_5min, hb_fold_customer_minute, hb_fold_customer_day,
              hb_fold_day_first, hb_customer_day, hb_rollup_pending, hb_rollup_delta, heartbeat_alerts, hb_alert_state FROM PUBLIC;
GRANT INSERT ON heartbeat_records, heartbeat_anomalies, pipeline_metrics TO hbmon_loader;
-- the loader's word on the rows it stores (012_rollups.sql: checked, then
-- folded in place of reading the rows back)
GRANT INSERT ON hb_rollup_delta TO hbmon_loader;
GRANT SELECT ON heartbeat_records, heartbeat_anomalies, pipeline_metrics,
                hb_rollup_minute, hb_rollup_minute_hr, hb_rollup_customer_minute,
                hb_fold_minute, hb_fold_minute_hr, hb_fold_5min_hr, hb_fold_5min, hb_fold_customer_minute, hb_fold_customer_day,
                hb_fold_day_first, hb_customer_day, hb_rollup_pending,
                vw_customer_bpm_summary, vw_recent_anomalies, vw_pipeline_summary,
                heartbeat_alerts, hb_alert_state, vw_open_alerts, vw_alerts_daily,
                vw_pipeline_health, vw_anomalies, heartbeats
    TO hbmon_reader;

-- The rollups are noted by the triggers and folded by hb_rollup_fold, as
-- the tables' owner: the loader needs no right on them, and may ask for a
-- fold (hbpgload does, after its commits).  Day partitions are created as
-- the owner too; the loader may ask for them, nobody else.  hb_retain is the
-- owner's alone.
REVOKE ALL ON FUNCTION hb_ensure_partitions(date, date), hb_retain(integer),
                       hb_rollup_note(), hb_rollup_fold(interval, integer, boolean),
                       hb_rollup_fold_before(timestamptz, interval, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hb_ensure_partitions(date, date),
                          hb_rollup_fold(interval, integer, boolean),
                          hb_rollup_fold_before(timestamptz, interval, integer, boolean) TO hbmon_loader;

-- Alerts: stored, closed and their states loaded only by these functions, as
-- the owner; the loader calls them, nobody else.
REVOKE ALL ON FUNCTION hb_alerts_apply(jsonb), hb_state_apply(jsonb),
                       hb_alert_state_load(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hb_alerts_apply(jsonb), hb_state_apply(jsonb),
                          hb_alert_state_load(text, integer) TO hbmon_loader;

-- The report's functions (030_report.sql): the reader's, as the views are.
-- They run with the caller's rights (SELECT on the tables they read).
REVOKE ALL ON FUNCTION hb_bucket(timestamptz, integer), hb_buckets(timestamptz, timestamptz, integer),
                       hb_customer_totals_at(date, timestamptz), hb_customer_sums(timestamptz, timestamptz),
                       hb_report_status(timestamptz, timestamptz), hb_report_span(timestamptz, timestamptz),
                       hb_report_customers(timestamptz, timestamptz),
                       hb_report_fleet(timestamptz, timestamptz, integer),
                       hb_rollup_hr_pieces(timestamptz, timestamptz, boolean, boolean),
                       hb_rollup_whole_slots(timestamptz, timestamptz, boolean),
                       hb_report_customer_buckets(timestamptz, timestamptz, integer, text[]),
                       hb_report_anomaly_buckets(timestamptz, timestamptz, integer),
                       hb_report_distribution(timestamptz, timestamptz),
                       hb_report_loaders(timestamptz, timestamptz), hb_report_loaders_all(),
                       hb_report_alerts_daily(timestamptz, timestamptz),
                       hb_report_latest(timestamptz, timestamptz, integer),
                       hb_report_latest_anomalies(timestamptz, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hb_bucket(timestamptz, integer), hb_buckets(timestamptz, timestamptz, integer),
                          hb_customer_totals_at(date, timestamptz), hb_customer_sums(timestamptz, timestamptz),
                          hb_report_status(timestamptz, timestamptz), hb_report_span(timestamptz, timestamptz),
                          hb_report_customers(timestamptz, timestamptz),
                          hb_report_fleet(timestamptz, timestamptz, integer),
                          hb_rollup_hr_pieces(timestamptz, timestamptz, boolean, boolean),
                          hb_rollup_whole_slots(timestamptz, timestamptz, boolean),
                          hb_report_customer_buckets(timestamptz, timestamptz, integer, text[]),
                          hb_report_anomaly_buckets(timestamptz, timestamptz, integer),
                          hb_report_distribution(timestamptz, timestamptz),
                          hb_report_loaders(timestamptz, timestamptz), hb_report_loaders_all(),
                          hb_report_alerts_daily(timestamptz, timestamptz),
                          hb_report_latest(timestamptz, timestamptz, integer),
                          hb_report_latest_anomalies(timestamptz, timestamptz, integer)
    TO hbmon_reader;
