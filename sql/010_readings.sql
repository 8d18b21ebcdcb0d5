-- 010_readings.sql — the tables of readings and anomalies, and their indexes.
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
-- The sql/ files apply in name order (scripts/hb-pg apply, tests, compose's
-- /docker-entrypoint-initdb.d); each is idempotent: applying them all again
-- to a database made by any earlier version upgrades it and otherwise
-- changes nothing.  Day partitions: 011_partitions.sql; per-minute rollups:
-- 012_rollups.sql.

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

-- 8 pages per range: hb_rollup_fold (012) reads each minute back through it,
-- and rows of nearby minutes share pages (a consumer interleaves its
-- partitions), so a range of 32 pages made it read about 8 times the
-- minute's rows, a range of 8 pages about 3 times (measured on 1,000,000
-- readings: 65,356 pages read for 8,000, against 23,739).  A database made
-- before has an index of 32: it is built again here, once (a BRIN build
-- reads every partition once: seconds per GB).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_class WHERE oid = to_regclass('heartbeat_records_ts_brin')
               AND NOT coalesce(reloptions @> ARRAY['pages_per_range=8'], false)) THEN
        DROP INDEX heartbeat_records_ts_brin;
    END IF;
END
$$;
CREATE INDEX IF NOT EXISTS heartbeat_records_ts_brin
    ON heartbeat_records USING brin (ts) WITH (pages_per_range = 8);

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

-- Where each row came from in Kafka, when its line carried the coordinates
-- (hbkafka-sub -A/--coords, see lib/hb_coord.h): the topic (hbpgload -t),
-- partition and offset of the message, so an operator can read the very
-- message again while the topic keeps it (kcat -C -t TOPIC -p PARTITION
-- -o OFFSET -c 1, or hbkafka-sub -E in a group of its own, see README).
-- NULL for a line that came without them (a file, a pipe).  Not part of any
-- unique key: a reading redelivered at another offset is the same row, and
-- keeps the first one's coordinates.  Added rather than declared above so
-- that a database made before them upgrades to the same column order as a
-- fresh one (nullable, no default: no table rewrite); the day partitions
-- follow their parent.  heartbeat_records has none: readings stay lean.
ALTER TABLE heartbeat_anomalies ADD COLUMN IF NOT EXISTS kafka_topic text;
ALTER TABLE heartbeat_anomalies ADD COLUMN IF NOT EXISTS kafka_partition integer;
ALTER TABLE heartbeat_anomalies ADD COLUMN IF NOT EXISTS kafka_offset bigint;

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

