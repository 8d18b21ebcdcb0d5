-- 012_rollups.sql — the per-minute rollups and the triggers that keep them.
-- Idempotent.
--
-- Rollups.  hb_rollup_minute (fleet: per minute and status), hb_rollup_minute_hr
-- (fleet: per minute and heart rate) and hb_rollup_customer_minute (per
-- customer and minute) are kept by statement
-- triggers on both tables, in the same transaction as the rows, from the rows
-- actually inserted (a duplicate skipped by ON CONFLICT DO NOTHING is not
-- counted).  Dashboards and reports read them instead of the raw rows.

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
