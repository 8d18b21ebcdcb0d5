-- 001_tables.sql — hbmon's tables, partitions, rollups and indexes.
-- Idempotent: applying it again changes nothing.  Needs PostgreSQL 15 or later
-- (a unique index with NULLS NOT DISTINCT on a partitioned table).
--
-- Lean on purpose: every index costs ingest speed.  heartbeat_records has one
-- btree, its primary key (customer_id, ts), which both deduplicates and serves
-- per-customer time series; time-range scans use a BRIN index on ts, which is
-- nearly free to maintain because readings arrive roughly in time order.
-- customer_id uses the "C" collation: byte order, faster comparisons, and the
-- ids are ASCII anyway.
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
--
-- Rollups.  hb_rollup_minute (fleet: per minute and status), hb_rollup_minute_hr
-- (fleet: per minute and heart rate) and hb_rollup_customer_minute (per
-- customer and minute) are kept by statement
-- triggers on both tables, in the same transaction as the rows, from the rows
-- actually inserted (a duplicate skipped by ON CONFLICT DO NOTHING is not
-- counted).  Dashboards and reports read them instead of the raw rows.

-- ---- an install from before partitioning: move its tables aside ----------------
-- Their rows are copied into the partitioned tables at the end of this file
-- (through the rollup triggers), then the old tables are dropped.  Stop the
-- loaders while this runs: it is one transaction per statement, not online.
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

-- ---- readings ------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS heartbeat_records (
    customer_id text COLLATE "C" NOT NULL,
    ts          timestamptz NOT NULL,
    heart_rate  integer NOT NULL CONSTRAINT heartbeat_records_heart_rate_check
                CHECK (heart_rate BETWEEN 1 AND 300),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT heartbeat_records_pkey PRIMARY KEY (customer_id, ts)
) PARTITION BY RANGE (ts);

CREATE TABLE IF NOT EXISTS heartbeat_records_default PARTITION OF heartbeat_records DEFAULT;

CREATE INDEX IF NOT EXISTS heartbeat_records_ts_brin
    ON heartbeat_records USING brin (ts) WITH (pages_per_range = 32);

COMMENT ON TABLE heartbeat_records IS
    'Valid NORMAL readings, one row per (customer_id, ts); loaded by hbpgload.  Partitioned by day.';

-- BRADYCARDIA, TACHYCARDIA and INVALID readings: the audit trail.
--   raw        the input line as text (always valid UTF-8: bytes that were not
--              are replaced by U+FFFD, NUL bytes too)
--   raw_bytes  the exact input bytes, only when raw could not hold them
--   raw_length the input's true length in bytes (raw is cut for huge lines)
-- Stored once even when replayed: a reading by (customer_id, ts); an INVALID
-- line, which may have no usable customer or time, by its exact content and
-- the time it carries, if any (NULLS NOT DISTINCT: no time is one value).
-- id is unique by its identity sequence; a partitioned table cannot have a
-- primary key without ts, and ts may be NULL here.
CREATE TABLE IF NOT EXISTS heartbeat_anomalies (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    anomaly_type text NOT NULL CONSTRAINT heartbeat_anomalies_type_check
                 CHECK (anomaly_type IN ('BRADYCARDIA', 'TACHYCARDIA', 'INVALID')),
    customer_id  text COLLATE "C",
    ts           timestamptz,
    heart_rate   integer,
    reason       text,
    raw          text,
    raw_bytes    bytea,
    raw_length   integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT heartbeat_anomalies_reading_check CHECK (
        anomaly_type = 'INVALID'
        OR (customer_id IS NOT NULL AND ts IS NOT NULL AND heart_rate IS NOT NULL)),
    CONSTRAINT heartbeat_anomalies_invalid_check CHECK (
        anomaly_type <> 'INVALID' OR (raw IS NOT NULL AND raw_length IS NOT NULL))
) PARTITION BY RANGE (ts);

CREATE TABLE IF NOT EXISTS heartbeat_anomalies_default PARTITION OF heartbeat_anomalies DEFAULT;

CREATE UNIQUE INDEX IF NOT EXISTS heartbeat_anomalies_reading_key
    ON heartbeat_anomalies (customer_id, ts) WHERE anomaly_type <> 'INVALID';
CREATE UNIQUE INDEX IF NOT EXISTS heartbeat_anomalies_raw_key
    ON heartbeat_anomalies (md5(raw), (coalesce(md5(raw_bytes), '')), raw_length, ts)
    NULLS NOT DISTINCT WHERE anomaly_type = 'INVALID';
CREATE INDEX IF NOT EXISTS heartbeat_anomalies_created_at
    ON heartbeat_anomalies (created_at);
CREATE INDEX IF NOT EXISTS heartbeat_anomalies_ts
    ON heartbeat_anomalies (ts);

COMMENT ON TABLE heartbeat_anomalies IS
    'BRADYCARDIA/TACHYCARDIA readings and INVALID input with its raw text and reason.  Partitioned by day.';

-- ---- day partitions --------------------------------------------------------------

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
                              ('hb_rollup_minute', 'minute'), ('hb_rollup_minute_hr', 'minute'),
                              ('hb_rollup_customer_minute', 'minute')) v(relname, col)
    LOOP
        EXECUTE format('DELETE FROM %I WHERE %I < $1', p.relname, p.col) USING cut_ts;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            dropped := p.relname || ' (rows)';
            rows_deleted := n;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

-- ---- per-minute rollups ------------------------------------------------------------

-- Per UTC minute and status: the number of readings and, for the valid ones
-- (not INVALID), their heart-rate sum, min and max.  Fleet averages, readings
-- per second and anomalies by type come from it: four rows a minute, 5,760 a
-- day, whatever the volume.  INVALID lines without a time are not in it.
CREATE TABLE IF NOT EXISTS hb_rollup_minute (
    minute     timestamptz NOT NULL,
    status     text COLLATE "C" NOT NULL,
    readings   bigint NOT NULL,
    hr_sum     bigint NOT NULL DEFAULT 0,
    hr_min     integer,
    hr_max     integer,
    CONSTRAINT hb_rollup_minute_pkey PRIMARY KEY (minute, status)
);

-- Per UTC minute and heart rate: the number of valid readings (NORMAL,
-- BRADYCARDIA and TACHYCARDIA).  The heart-rate distribution and percentiles.
CREATE TABLE IF NOT EXISTS hb_rollup_minute_hr (
    minute     timestamptz NOT NULL,
    heart_rate integer NOT NULL,
    readings   bigint NOT NULL,
    CONSTRAINT hb_rollup_minute_hr_pkey PRIMARY KEY (minute, heart_rate)
);

-- Per customer and UTC minute: valid readings (NORMAL, BRADYCARDIA and
-- TACHYCARDIA) with their heart-rate sum, min and max, and the count of each
-- status, INVALID ones with a customer and a time included.
CREATE TABLE IF NOT EXISTS hb_rollup_customer_minute (
    customer_id text COLLATE "C" NOT NULL,
    minute      timestamptz NOT NULL,
    readings    bigint NOT NULL DEFAULT 0,
    hr_sum      bigint NOT NULL DEFAULT 0,
    hr_min      integer,
    hr_max      integer,
    normal      bigint NOT NULL DEFAULT 0,
    bradycardia bigint NOT NULL DEFAULT 0,
    tachycardia bigint NOT NULL DEFAULT 0,
    invalid     bigint NOT NULL DEFAULT 0,
    CONSTRAINT hb_rollup_customer_minute_pkey PRIMARY KEY (customer_id, minute)
);
CREATE INDEX IF NOT EXISTS hb_rollup_customer_minute_minute ON hb_rollup_customer_minute (minute);

COMMENT ON TABLE hb_rollup_minute IS
    'Readings per UTC minute and status; kept by triggers in the loading transaction.';
COMMENT ON TABLE hb_rollup_minute_hr IS
    'Valid readings per UTC minute and heart rate; kept by triggers in the loading transaction.';
COMMENT ON TABLE hb_rollup_customer_minute IS
    'Readings per customer and UTC minute; kept by triggers in the loading transaction.';

-- The minute of a time, in UTC whatever the session's TimeZone.
CREATE OR REPLACE FUNCTION hb_minute(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_trunc('minute', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';

-- Upserts go in key order, so two loaders never wait for each other in a
-- cycle within one table.  (Across the two triggers of one transaction they
-- can, when two loaders load the same customers at once; PostgreSQL then
-- cancels one with a deadlock error, and hbpgload retries its batch.)
CREATE OR REPLACE FUNCTION hb_rollup_records() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    INSERT INTO hb_rollup_minute AS r (minute, status, readings, hr_sum, hr_min, hr_max)
    SELECT hb_minute(ts), 'NORMAL', count(*), sum(heart_rate), min(heart_rate), max(heart_rate)
    FROM new_rows GROUP BY 1 ORDER BY 1
    ON CONFLICT (minute, status) DO UPDATE SET
        readings = r.readings + excluded.readings,
        hr_sum = r.hr_sum + excluded.hr_sum,
        hr_min = least(r.hr_min, excluded.hr_min),
        hr_max = greatest(r.hr_max, excluded.hr_max);

    INSERT INTO hb_rollup_minute_hr AS r (minute, heart_rate, readings)
    SELECT hb_minute(ts), heart_rate, count(*)
    FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (minute, heart_rate) DO UPDATE SET readings = r.readings + excluded.readings;

    INSERT INTO hb_rollup_customer_minute AS r
           (customer_id, minute, readings, hr_sum, hr_min, hr_max, normal)
    SELECT customer_id, hb_minute(ts), count(*), sum(heart_rate), min(heart_rate), max(heart_rate), count(*)
    FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (customer_id, minute) DO UPDATE SET
        readings = r.readings + excluded.readings,
        hr_sum = r.hr_sum + excluded.hr_sum,
        hr_min = least(r.hr_min, excluded.hr_min),
        hr_max = greatest(r.hr_max, excluded.hr_max),
        normal = r.normal + excluded.normal;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION hb_rollup_anomalies() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    INSERT INTO hb_rollup_minute AS r (minute, status, readings, hr_sum, hr_min, hr_max)
    SELECT hb_minute(ts), anomaly_type, count(*),
           coalesce(sum(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID'), 0),
           min(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID'),
           max(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID')
    FROM new_rows WHERE ts IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (minute, status) DO UPDATE SET
        readings = r.readings + excluded.readings,
        hr_sum = r.hr_sum + excluded.hr_sum,
        hr_min = least(r.hr_min, excluded.hr_min),
        hr_max = greatest(r.hr_max, excluded.hr_max);

    INSERT INTO hb_rollup_minute_hr AS r (minute, heart_rate, readings)
    SELECT hb_minute(ts), heart_rate, count(*)
    FROM new_rows WHERE anomaly_type <> 'INVALID' GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (minute, heart_rate) DO UPDATE SET readings = r.readings + excluded.readings;

    INSERT INTO hb_rollup_customer_minute AS r
           (customer_id, minute, readings, hr_sum, hr_min, hr_max, bradycardia, tachycardia, invalid)
    SELECT customer_id, hb_minute(ts),
           count(*) FILTER (WHERE anomaly_type <> 'INVALID'),
           coalesce(sum(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID'), 0),
           min(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID'),
           max(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID'),
           count(*) FILTER (WHERE anomaly_type = 'BRADYCARDIA'),
           count(*) FILTER (WHERE anomaly_type = 'TACHYCARDIA'),
           count(*) FILTER (WHERE anomaly_type = 'INVALID')
    FROM new_rows WHERE ts IS NOT NULL AND customer_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (customer_id, minute) DO UPDATE SET
        readings = r.readings + excluded.readings,
        hr_sum = r.hr_sum + excluded.hr_sum,
        hr_min = least(r.hr_min, excluded.hr_min),
        hr_max = greatest(r.hr_max, excluded.hr_max),
        bradycardia = r.bradycardia + excluded.bradycardia,
        tachycardia = r.tachycardia + excluded.tachycardia,
        invalid = r.invalid + excluded.invalid;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER hb_rollup AFTER INSERT ON heartbeat_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_records();
CREATE OR REPLACE TRIGGER hb_rollup AFTER INSERT ON heartbeat_anomalies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_anomalies();

-- ---- the rows of an install from before partitioning ---------------------------------
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

-- ---- pipeline metrics ---------------------------------------------------------------

-- Counters of each hbpgload run (cumulative within a run, so the latest row of
-- an instance is its total), written every few seconds and at the end.
-- lag_ms: age of the newest reading at its commit; latency_p50/p99_ms:
-- reading timestamp to commit, over the rows since the previous snapshot;
-- consumer_lag: Kafka messages behind the partitions' end when last read.
CREATE TABLE IF NOT EXISTS pipeline_metrics (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    source             text NOT NULL,
    instance           text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('snapshot', 'final')),
    rows_in            bigint NOT NULL DEFAULT 0,
    rows_stored        bigint NOT NULL DEFAULT 0,
    duplicates_skipped bigint NOT NULL DEFAULT 0,
    rejected           bigint NOT NULL DEFAULT 0,
    normal             bigint NOT NULL DEFAULT 0,
    bradycardia        bigint NOT NULL DEFAULT 0,
    tachycardia        bigint NOT NULL DEFAULT 0,
    invalid            bigint NOT NULL DEFAULT 0,
    batches            bigint NOT NULL DEFAULT 0,
    retries            bigint NOT NULL DEFAULT 0,
    lag_ms             bigint,
    latency_p50_ms     double precision,
    latency_p99_ms     double precision,
    consumer_lag       bigint,
    extra              jsonb
);

CREATE INDEX IF NOT EXISTS pipeline_metrics_recorded_at ON pipeline_metrics (recorded_at);
CREATE INDEX IF NOT EXISTS pipeline_metrics_instance ON pipeline_metrics (instance, id);

COMMENT ON TABLE pipeline_metrics IS
    'Snapshots of loader counters: rows in/stored, duplicates, rejects, per-status counts, lag.';

-- What each loader run saw besides readings: alert events and detection
-- states it stored, and control lines (_hb_mark) it ignored.
ALTER TABLE pipeline_metrics ADD COLUMN IF NOT EXISTS alerts_in bigint NOT NULL DEFAULT 0;
ALTER TABLE pipeline_metrics ADD COLUMN IF NOT EXISTS states_in bigint NOT NULL DEFAULT 0;
ALTER TABLE pipeline_metrics ADD COLUMN IF NOT EXISTS marks_in bigint NOT NULL DEFAULT 0;

-- ---- alerts ---------------------------------------------------------------------------

-- One row per alert (hbclassify --store writes the events, hbpgload hands them
-- to hb_alerts_apply in the transaction of their readings).  (alert,
-- customer_id, start_ts) identifies an alert: its open and its close share it.
-- end_ts NULL: still open.  opened_at/closed_at are the events' "at" (reading
-- time the rule was met); stored_at/closed_stored_at the wall clock.
-- peak_bpm and readings are the open's, then the close's.  Not partitioned:
-- a few alerts per thousand anomalous readings.
CREATE TABLE IF NOT EXISTS heartbeat_alerts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert            text NOT NULL,
    customer_id      text COLLATE "C" NOT NULL,
    start_ts         timestamptz NOT NULL,
    end_ts           timestamptz,
    opened_at        timestamptz,
    closed_at        timestamptz,
    peak_bpm         integer,
    readings         integer,
    reason           text,
    ended_by         text,
    open_event       jsonb,
    close_event      jsonb,
    stored_at        timestamptz NOT NULL DEFAULT now(),
    closed_stored_at timestamptz,
    CONSTRAINT heartbeat_alerts_key UNIQUE (alert, customer_id, start_ts)
);

-- The open alert of a type and customer: looked up by every event, and at
-- most one (UNIQUE), so two loaders racing on one customer (a rebalance)
-- cannot open it twice.
CREATE UNIQUE INDEX IF NOT EXISTS heartbeat_alerts_open
    ON heartbeat_alerts (alert, customer_id) WHERE end_ts IS NULL;
-- Reports and the daily view select by time.
CREATE INDEX IF NOT EXISTS heartbeat_alerts_start_ts ON heartbeat_alerts (start_ts);

COMMENT ON TABLE heartbeat_alerts IS
    'Alerts (BRADYCARDIA, TACHYCARDIA, SILENCE, DEVIATION): one row per alert, end_ts NULL while open; written by hb_alerts_apply.';

-- The detection state of each customer, as hbclassify --store last wrote it
-- (opaque to the database but for the Kafka coordinates), so that a restarted
-- or rebalanced hbclassify carries on where the stored readings end.
CREATE TABLE IF NOT EXISTS hb_alert_state (
    customer_id text COLLATE "C" PRIMARY KEY,
    topic       text,
    kpartition  integer,
    koffset     bigint,
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS hb_alert_state_partition ON hb_alert_state (topic, kpartition);

COMMENT ON TABLE hb_alert_state IS
    'Per customer: the alert engine''s state as last stored (hb_state_apply), with its Kafka topic/partition/offset.';

-- A JSON member as an integer: NULL unless it is a number within the range
-- of int (fractions cut).  Events are checked by hbpgload; this keeps one
-- odd member from failing a whole batch anyway.
CREATE OR REPLACE FUNCTION hb_jint(v jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN jsonb_typeof(v) = 'number' AND v::text::numeric BETWEEN -2147483648 AND 2147483647
            THEN trunc(v::text::numeric)::integer END;

-- A JSON member as a bigint: NULL unless it is an integer in range.
CREATE OR REPLACE FUNCTION hb_jbig(v jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN jsonb_typeof(v) = 'number'
                 AND v::text::numeric BETWEEN -9223372036854775808 AND 9223372036854775807
            THEN trunc(v::text::numeric)::bigint END;

-- A JSON member as a time: NULL unless it is a string PostgreSQL reads as one.
CREATE OR REPLACE FUNCTION hb_jts(v jsonb) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = public, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(v) <> 'string' THEN
        RETURN NULL;
    END IF;
    RETURN (v #>> '{}')::timestamptz;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;

-- Applies alert events (a JSON array of event objects, in order): the one
-- way alerts are stored.  Idempotent: a replayed event changes nothing.
--   open:  skipped if that alert (alert, customer, start) exists, if one of
--          that type and customer is open, or if a closed one spans its
--          start (start_ts <= start <= end_ts: a replay); else inserted.
--   close: closes the open one of that type and customer that started at or
--          before the close's end; with none open, skipped if the alert
--          exists, else inserted already closed (an alert is never lost).
-- Events without alert, state, customer_id and start are skipped (hbpgload
-- stores such lines as INVALID before they get here).  Returns how many
-- events changed a row.  Runs as its owner: the loader may not touch the
-- table otherwise.
CREATE OR REPLACE FUNCTION hb_alerts_apply(events jsonb)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    e       jsonb;
    v_alert text;
    v_cid   text;
    v_start timestamptz;
    v_end   timestamptz;
    n       integer;
    changed integer := 0;
BEGIN
    IF jsonb_typeof(events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'hb_alerts_apply: expected a JSON array of events, got %', jsonb_typeof(events)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR e IN SELECT x.value FROM jsonb_array_elements(events) WITH ORDINALITY x(value, i) ORDER BY x.i LOOP
        v_alert := e ->> 'alert';
        v_cid := e ->> 'customer_id';
        v_start := hb_jts(e -> 'start');
        CONTINUE WHEN v_alert IS NULL OR v_cid IS NULL OR v_start IS NULL
                   OR jsonb_typeof(e -> 'alert') <> 'string';
        IF e ->> 'state' = 'open' THEN
            CONTINUE WHEN EXISTS (
                SELECT FROM heartbeat_alerts a
                WHERE a.alert = v_alert AND a.customer_id = v_cid
                  AND (a.start_ts = v_start OR a.end_ts IS NULL
                       OR (a.start_ts <= v_start AND v_start <= a.end_ts)));
            INSERT INTO heartbeat_alerts (alert, customer_id, start_ts, opened_at, peak_bpm,
                                          readings, reason, open_event)
            VALUES (v_alert, v_cid, v_start, hb_jts(e -> 'at'), hb_jint(e -> 'peak_bpm'),
                    hb_jint(e -> 'readings'), e ->> 'reason', e)
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS n = ROW_COUNT;
            changed := changed + n;
        ELSIF e ->> 'state' = 'close' THEN
            v_end := coalesce(hb_jts(e -> 'end'), v_start);
            UPDATE heartbeat_alerts a SET
                end_ts = greatest(v_end, a.start_ts),
                closed_at = hb_jts(e -> 'at'),
                ended_by = e ->> 'ended_by',
                close_event = e,
                peak_bpm = coalesce(hb_jint(e -> 'peak_bpm'), a.peak_bpm),
                readings = coalesce(hb_jint(e -> 'readings'), a.readings),
                reason = coalesce(a.reason, e ->> 'reason'),
                closed_stored_at = now()
            WHERE a.alert = v_alert AND a.customer_id = v_cid AND a.end_ts IS NULL
              AND a.start_ts <= v_end;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n = 0 THEN
                INSERT INTO heartbeat_alerts (alert, customer_id, start_ts, end_ts, closed_at,
                                              peak_bpm, readings, reason, ended_by, close_event,
                                              closed_stored_at)
                VALUES (v_alert, v_cid, v_start, greatest(v_end, v_start), hb_jts(e -> 'at'),
                        hb_jint(e -> 'peak_bpm'), hb_jint(e -> 'readings'), e ->> 'reason',
                        e ->> 'ended_by', e, now())
                ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
            END IF;
            changed := changed + n;
        END IF;
    END LOOP;
    RETURN changed;
END
$$;

-- Stores detection states (a JSON array of state objects, in order): one
-- row per customer_id, the last one given wins unless the stored one is
-- newer (its "last" reading later).  Returns the rows written.
CREATE OR REPLACE FUNCTION hb_state_apply(states jsonb)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF jsonb_typeof(states) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'hb_state_apply: expected a JSON array of states, got %', jsonb_typeof(states)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- one row per customer (an upsert may not touch a row twice), in key order
    INSERT INTO hb_alert_state AS s (customer_id, topic, kpartition, koffset, state, updated_at)
    SELECT DISTINCT ON (x.value ->> 'customer_id')
           x.value ->> 'customer_id',
           CASE WHEN jsonb_typeof(x.value -> 'topic') = 'string' THEN x.value ->> 'topic' END,
           hb_jint(x.value -> 'partition'),
           CASE WHEN jsonb_typeof(x.value -> 'offset') = 'number'
                     AND (x.value ->> 'offset')::numeric BETWEEN -9223372036854775808 AND 9223372036854775807
                THEN trunc((x.value ->> 'offset')::numeric)::bigint END,
           x.value, now()
    FROM jsonb_array_elements(states) WITH ORDINALITY x(value, i)
    WHERE jsonb_typeof(x.value) = 'object' AND x.value ->> 'customer_id' IS NOT NULL
    ORDER BY x.value ->> 'customer_id', x.i DESC
    ON CONFLICT (customer_id) DO UPDATE SET
        topic = excluded.topic,
        kpartition = excluded.kpartition,
        koffset = excluded.koffset,
        state = excluded.state,
        updated_at = excluded.updated_at
    -- never an older state over a newer one: after a rebalance the pipeline
    -- that lost the partition may commit its last states after the one that
    -- took it over has stored newer ones ("last": the newest reading applied)
    WHERE hb_jbig(excluded.state -> 'last') IS NULL OR hb_jbig(s.state -> 'last') IS NULL
       OR hb_jbig(excluded.state -> 'last') >= hb_jbig(s.state -> 'last');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- The stored states of the customers on one Kafka partition of a topic (all
-- customers when p_topic is NULL; every partition of the topic when
-- p_partition is NULL), each with the time of that customer's newest stored
-- reading, whatever its status (heartbeat_records, and the BRADYCARDIA and
-- TACHYCARDIA readings in heartbeat_anomalies), or NULL: what hbclassify
-- loads when it is given partitions.  Runs as its owner: the loader cannot
-- read the tables.
CREATE OR REPLACE FUNCTION hb_alert_state_load(p_topic text, p_partition integer)
RETURNS TABLE (state jsonb, last_ts timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT s.state,
           greatest((SELECT max(r.ts) FROM heartbeat_records r WHERE r.customer_id = s.customer_id),
                    (SELECT max(a.ts) FROM heartbeat_anomalies a
                     WHERE a.customer_id = s.customer_id AND a.anomaly_type <> 'INVALID'))
    FROM hb_alert_state s
    WHERE p_topic IS NULL
       OR (s.topic = p_topic AND (p_partition IS NULL OR s.kpartition = p_partition))
    ORDER BY s.customer_id
$$;
