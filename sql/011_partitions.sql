-- 011_partitions.sql — day partitions of heartbeat_records and heartbeat_anomalies.
-- Idempotent.
--
-- Partitioning.  heartbeat_records and heartbeat_anomalies are partitioned by
-- day (UTC) on ts: heartbeat_records_p20261201 holds 2026-12-01T00:00Z up to
-- the next midnight.  A row whose day has no partition (yet), and an INVALID
-- line without a usable time (ts NULL), goes to the DEFAULT partition, so an
-- insert never fails for want of a partition.  hb_ensure_partitions() creates
-- day partitions (hbpgload calls it for the days ahead and for the days of the
-- rows it loads; `hb-partitions ensure` for backfills), moving rows of those
-- days out of the default partition; hb_retain() drops whole days (`hb-partitions
-- retain`, for cron).  Every unique key includes ts, so a key lives in exactly
-- one partition and deduplication works across all of them.

-- Creates the day partitions of both tables from p_from to p_to (UTC days, both
-- included) that do not exist yet, moving rows of those days out of the default
-- partition; returns how many it created.  At most 62 days per call.  Runs as
-- its owner (SECURITY DEFINER): the loader, which may only INSERT, calls it.
-- Concurrent calls queue on an advisory lock.
CREATE OR REPLACE FUNCTION hb_ensure_partitions(p_from date, p_to date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    d       date;
    t       text;
    part    text;
    lo      timestamptz;
    hi      timestamptz;
    created integer := 0;
BEGIN
    IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
        RETURN 0;
    END IF;
    IF p_to - p_from > 61 THEN
        RAISE EXCEPTION 'hb_ensure_partitions: % to % is more than 62 days; call it in steps', p_from, p_to;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('hbmon: day partitions'));
    FOR d IN SELECT g::date FROM generate_series(p_from, p_to, interval '1 day') g LOOP
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        FOREACH t IN ARRAY ARRAY['heartbeat_records', 'heartbeat_anomalies'] LOOP
            part := t || '_p' || to_char(d, 'YYYYMMDD');
            CONTINUE WHEN to_regclass(part) IS NOT NULL;
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, t);
            -- rows of that day that went to the default partition move in
            -- (straight into the new table: the rollups counted them already)
            EXECUTE format('WITH m AS (DELETE FROM %I WHERE ts >= $1 AND ts < $2 RETURNING *) '
                           'INSERT INTO %I SELECT * FROM m', t || '_default', part)
                USING lo, hi;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           t, part, lo, hi);
            created := created + 1;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;

-- Drops the day partitions of both tables older than p_days days (whole days
-- before today minus p_days, UTC), deletes older rows from the default
-- partitions and the rollups; returns one row per table touched.  For the
-- owner (cron: `hb-partitions retain --days N`), not granted to anyone.
CREATE OR REPLACE FUNCTION hb_retain(p_days integer)
RETURNS TABLE (dropped text, rows_deleted bigint)
LANGUAGE plpgsql SET search_path = public, pg_temp
AS $$
DECLARE
    cutoff date;
    cut_ts timestamptz;
    p      record;
    n      bigint;
BEGIN
    IF p_days IS NULL OR p_days < 1 THEN
        RAISE EXCEPTION 'hb_retain: keep at least 1 day (got %)', p_days;
    END IF;
    cutoff := (now() AT TIME ZONE 'UTC')::date - p_days;
    cut_ts := cutoff::timestamp AT TIME ZONE 'UTC';
    PERFORM pg_advisory_xact_lock(hashtext('hbmon: day partitions'));
    -- no fold meanwhile (hb_rollup_fold, 012): it reads every partition of
    -- one table and then of the other, and this drops them in the other
    -- order, which would deadlock; a fold under way is waited for, and the
    -- folds that try meanwhile fold nothing and come again
    PERFORM pg_advisory_xact_lock(hashtext('hbmon: rollup fold'));
    FOR p IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN ('heartbeat_records'::regclass, 'heartbeat_anomalies'::regclass)
          AND c.relname ~ '_p[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT count(*) FROM %I', p.relname) INTO n;
        EXECUTE format('DROP TABLE %I', p.relname);
        dropped := p.relname;
        rows_deleted := n;
        RETURN NEXT;
    END LOOP;
    -- what the partitions dropped cannot reach: the default partitions and the rollups
    FOR p IN
        SELECT * FROM (VALUES ('heartbeat_records_default', 'ts'), ('heartbeat_anomalies_default', 'ts'),
                              ('hb_fold_minute', 'minute'), ('hb_fold_minute_hr', 'minute'),
                              ('hb_fold_5min_hr', 'slot'), ('hb_fold_5min', 'slot'),
                              ('hb_fold_customer_minute', 'minute'), ('hb_rollup_pending', 'minute'),
                              ('hb_rollup_delta', 'minute'), ('hb_fold_day_first', 'minute')) v(relname, col)
    LOOP
        IF to_regclass(p.relname) IS NULL THEN
            CONTINUE;   -- a table of a later file of sql/ not made yet (while sql/ is applied)
        END IF;
        EXECUTE format('DELETE FROM %I WHERE %I < $1', p.relname, p.col) USING cut_ts;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            dropped := p.relname || ' (rows)';
            rows_deleted := n;
            RETURN NEXT;
        END IF;
    END LOOP;
    DELETE FROM hb_fold_customer_day WHERE day < cutoff;
END
$$;
