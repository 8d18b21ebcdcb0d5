-- 003_roles.sql — least privilege.  Idempotent.
--
--   hbmon_loader  what hbpgload needs: INSERT into the tables it feeds (and
--                 pipeline_metrics); no SELECT, UPDATE, DELETE or TRUNCATE.
--                 ON CONFLICT DO NOTHING needs INSERT only.
--   hbmon_reader  SELECT on tables and views, for dashboards and reports.
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

REVOKE ALL ON heartbeat_records, heartbeat_anomalies, pipeline_metrics FROM PUBLIC;
GRANT INSERT ON heartbeat_records, heartbeat_anomalies, pipeline_metrics TO hbmon_loader;
GRANT SELECT ON heartbeat_records, heartbeat_anomalies, pipeline_metrics,
                vw_customer_bpm_summary, vw_recent_anomalies, vw_pipeline_summary
    TO hbmon_reader;
