-- 013_unpartitioned_copy.sql — the rows of an install from before partitioning,
-- moved aside by 009_unpartitioned_aside.sql: day partitions for them, then
-- copied into the partitioned tables (the rollup triggers note their
-- minutes, so the rollups count them), then the old tables dropped.  Does
-- nothing when there are none.
DO $$
DECLARE
    lo date;
    hi date;
BEGIN
    IF to_regclass('hb_old_records') IS NOT NULL OR to_regclass('hb_old_anomalies') IS NOT NULL THEN
        -- day partitions for the newest 62 days that hold rows; older ones stay in the default
        SELECT max(d) INTO hi FROM (
            SELECT (max(ts) AT TIME ZONE 'UTC')::date AS d FROM hb_old_records
            UNION ALL SELECT (max(ts) AT TIME ZONE 'UTC')::date FROM hb_old_anomalies) x;
        SELECT greatest(min(d), hi - 61) INTO lo FROM (
            SELECT (min(ts) AT TIME ZONE 'UTC')::date AS d FROM hb_old_records
            UNION ALL SELECT (min(ts) AT TIME ZONE 'UTC')::date FROM hb_old_anomalies) x;
        PERFORM hb_ensure_partitions(lo, hi);
    END IF;
    IF to_regclass('hb_old_records') IS NOT NULL THEN
        INSERT INTO heartbeat_records (customer_id, ts, heart_rate, created_at)
        SELECT customer_id, ts, heart_rate, created_at FROM hb_old_records;
        DROP TABLE hb_old_records;
    END IF;
    IF to_regclass('hb_old_anomalies') IS NOT NULL THEN
        INSERT INTO heartbeat_anomalies (id, anomaly_type, customer_id, ts, heart_rate, reason, raw,
                                         raw_bytes, raw_length, created_at)
        OVERRIDING SYSTEM VALUE
        SELECT id, anomaly_type, customer_id, ts, heart_rate, reason, raw, raw_bytes, raw_length, created_at
        FROM hb_old_anomalies;
        PERFORM setval(pg_get_serial_sequence('heartbeat_anomalies', 'id'),
                       greatest((SELECT max(id) FROM hb_old_anomalies), 1));
        DROP TABLE hb_old_anomalies;
    END IF;
END
$$;
