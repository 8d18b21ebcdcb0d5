-- 014_metrics.sql — pipeline_metrics, the loaders' counters.  Idempotent.

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
