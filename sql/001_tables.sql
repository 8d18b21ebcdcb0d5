-- 001_tables.sql — hbmon's tables and indexes.  Idempotent: applying it again changes nothing.
--
-- Lean on purpose: every index costs ingest speed.  heartbeat_records has one
-- btree, its primary key (customer_id, ts), which both deduplicates and serves
-- per-customer time series; time-range scans use a BRIN index on ts, which is
-- nearly free to maintain because readings arrive roughly in time order.
-- customer_id uses the "C" collation: byte order, faster comparisons, and the
-- ids are ASCII anyway.

CREATE TABLE IF NOT EXISTS heartbeat_records (
    customer_id text COLLATE "C" NOT NULL,
    ts          timestamptz NOT NULL,
    heart_rate  integer NOT NULL CONSTRAINT heartbeat_records_heart_rate_check
                CHECK (heart_rate BETWEEN 1 AND 300),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT heartbeat_records_pkey PRIMARY KEY (customer_id, ts)
);

CREATE INDEX IF NOT EXISTS heartbeat_records_ts_brin
    ON heartbeat_records USING brin (ts) WITH (pages_per_range = 32);

COMMENT ON TABLE heartbeat_records IS
    'Valid NORMAL readings, one row per (customer_id, ts); loaded by hbpgload.';

-- BRADYCARDIA, TACHYCARDIA and INVALID readings: the audit trail.
--   raw        the input line as text (always valid UTF-8: bytes that were not
--              are replaced by U+FFFD, NUL bytes too)
--   raw_bytes  the exact input bytes, only when raw could not hold them
--   raw_length the input's true length in bytes (raw is cut for huge lines)
-- Stored once even when replayed: a reading by (customer_id, ts); an INVALID
-- line, which may have no usable customer or time, by its exact content.
CREATE TABLE IF NOT EXISTS heartbeat_anomalies (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
);

CREATE UNIQUE INDEX IF NOT EXISTS heartbeat_anomalies_reading_key
    ON heartbeat_anomalies (customer_id, ts) WHERE anomaly_type <> 'INVALID';
CREATE UNIQUE INDEX IF NOT EXISTS heartbeat_anomalies_raw_key
    ON heartbeat_anomalies (md5(raw), (coalesce(md5(raw_bytes), '')), raw_length)
    WHERE anomaly_type = 'INVALID';
CREATE INDEX IF NOT EXISTS heartbeat_anomalies_created_at
    ON heartbeat_anomalies (created_at);
CREATE INDEX IF NOT EXISTS heartbeat_anomalies_ts
    ON heartbeat_anomalies (ts);

COMMENT ON TABLE heartbeat_anomalies IS
    'BRADYCARDIA/TACHYCARDIA readings and INVALID input with its raw text and reason.';

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
