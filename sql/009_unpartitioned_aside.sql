-- 009_unpartitioned_aside.sql — an install from before partitioning (its
-- heartbeat_records and heartbeat_anomalies plain tables): move its tables
-- aside, so that 010_readings.sql creates the partitioned ones.  Their rows are
-- copied into those by 013_unpartitioned_copy.sql (noted by the rollup
-- triggers of 012_rollups.sql), then the old tables are dropped.  Stop the
-- loaders while this runs: it is one transaction per statement, not online.
-- Does nothing on a fresh database or one already partitioned.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_class WHERE oid = to_regclass('heartbeat_records') AND relkind = 'r') THEN
        DROP VIEW IF EXISTS vw_customer_bpm_summary, vw_recent_anomalies, vw_pipeline_summary;
        ALTER TABLE heartbeat_records RENAME TO hb_old_records;
        ALTER INDEX IF EXISTS heartbeat_records_pkey RENAME TO hb_old_records_pkey;
        ALTER INDEX IF EXISTS heartbeat_records_ts_brin RENAME TO hb_old_records_ts_brin;
    END IF;
    IF EXISTS (SELECT FROM pg_class WHERE oid = to_regclass('heartbeat_anomalies') AND relkind = 'r') THEN
        DROP VIEW IF EXISTS vw_recent_anomalies, vw_pipeline_summary, vw_customer_bpm_summary;
        ALTER TABLE heartbeat_anomalies RENAME TO hb_old_anomalies;
        ALTER INDEX IF EXISTS heartbeat_anomalies_pkey RENAME TO hb_old_anomalies_pkey;
        ALTER INDEX IF EXISTS heartbeat_anomalies_reading_key RENAME TO hb_old_anomalies_reading_key;
        ALTER INDEX IF EXISTS heartbeat_anomalies_raw_key RENAME TO hb_old_anomalies_raw_key;
        ALTER INDEX IF EXISTS heartbeat_anomalies_created_at RENAME TO hb_old_anomalies_created_at;
        ALTER INDEX IF EXISTS heartbeat_anomalies_ts RENAME TO hb_old_anomalies_ts;
    END IF;
END
$$;
