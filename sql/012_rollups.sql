-- 012_rollups.sql — the per-minute rollups: noted as rows arrive, folded
-- once a minute is over.  Idempotent.
--
-- Why folded, not kept row by row.  Keeping a per-customer rollup in the
-- loading transaction costs an upsert per customer per batch: with 10,000
-- customers reading once a second each batch rewrites 10,000 rows, 60 times
-- per customer-minute, and ingest fell to a quarter.  Now:
--
--   noted    a statement trigger on both tables writes, per statement, the
--            UTC minutes its rows fall in to hb_rollup_pending (an insert of
--            a row or two: no lock on anything another loader needs);
--   folded   hb_rollup_fold() computes each pending minute once it is over
--            and quiet (closed by the wall clock, nothing noted in it for a
--            couple of seconds) from the rows, into the hb_fold_* tables, and
--            forgets its notes — in one transaction, so a minute is either
--            pending or folded with every row committed before the fold;
--   read     the views hb_rollup_minute, hb_rollup_minute_hr and
--            hb_rollup_customer_minute (the names dashboards and reports have
--            always read) give the folded minutes and, for the minutes still
--            pending, the same figures computed from the rows.  Exact at
--            every moment, for every writer: hbpgload, psql \copy, replays
--            (a duplicate skipped is not a row, so not counted), two loaders
--            at once.  Folding only makes reading cheaper.
--
-- hbpgload folds after its commits (out of its loading transaction); with
-- other writers only, `SELECT hb_rollup_fold()` (cron, or scripts/hb-pg
-- fold) keeps the pending minutes few.  Nothing is lost or wrong without it:
-- the views compute what is not folded yet.
--
-- Per customer, hb_fold_customer_minute also holds running totals over the
-- UTC day (c_*, through that minute), so that a per-customer sum over any
-- range reads two or three minutes' rows per customer (hb_customer_sums),
-- not every minute of the range: a day of 10,000 customers is 14 million
-- customer-minutes.

-- ---- the folded minutes -----------------------------------------------------------

-- Per UTC minute and status: the number of readings and, for the valid ones
-- (not INVALID), their heart-rate sum, min and max.  INVALID lines without a
-- time are not in it.
CREATE TABLE IF NOT EXISTS hb_fold_minute (
    minute     timestamptz NOT NULL,
    status     text COLLATE "C" NOT NULL,
    readings   bigint NOT NULL,
    hr_sum     bigint NOT NULL DEFAULT 0,
    hr_min     integer,
    hr_max     integer,
    CONSTRAINT hb_fold_minute_pkey PRIMARY KEY (minute, status)
);

-- Per UTC minute and heart rate: the number of valid readings.
CREATE TABLE IF NOT EXISTS hb_fold_minute_hr (
    minute     timestamptz NOT NULL,
    heart_rate integer NOT NULL,
    readings   bigint NOT NULL,
    CONSTRAINT hb_fold_minute_hr_pkey PRIMARY KEY (minute, heart_rate)
);

-- Per 5 minutes (UTC, from the hour) and heart rate: the valid readings of
-- the slot's folded minutes, summed from hb_fold_minute_hr by the fold.  A
-- day is 288 slots, not 1,440 minutes: the fleet's percentiles per bucket
-- (hb_report_fleet) read it for every slot of the range that is whole in it
-- and has no pending minute.  Every zone's offset is a multiple of 15
-- minutes, so a bucket of a multiple of 5 minutes holds whole slots.
CREATE TABLE IF NOT EXISTS hb_fold_5min_hr (
    slot       timestamptz NOT NULL,
    heart_rate integer NOT NULL,
    readings   bigint NOT NULL,
    CONSTRAINT hb_fold_5min_hr_pkey PRIMARY KEY (slot, heart_rate)
);

-- Per 5-minute slot of hb_fold_5min_hr: its valid readings and their 5th
-- and 95th percentile heart rate (the smallest heart rates with 5 % and
-- 95 % of the slot's readings at or below them), written with the slot's
-- rows by hb_fold_5min_sum.  The fleet per 5 minutes over a day
-- (hb_report_fleet) reads 288 rows here instead of sorting and summing
-- 36,000 heart-rate counts per slot: 112 ms over a day of 10,000 customers,
-- over the 100 ms a report query may take.
CREATE TABLE IF NOT EXISTS hb_fold_5min (
    slot     timestamptz NOT NULL,
    readings bigint NOT NULL,
    p5       integer NOT NULL,
    p95      integer NOT NULL,
    CONSTRAINT hb_fold_5min_pkey PRIMARY KEY (slot)
);

-- Per customer and UTC minute: valid readings with their heart-rate sum, min
-- and max, the count of each status (INVALID ones with a customer and a time
-- included), and the same counts summed over the customer's folded minutes
-- of that UTC day up to and including this one (c_*).
CREATE TABLE IF NOT EXISTS hb_fold_customer_minute (
    customer_id   text COLLATE "C" NOT NULL,
    minute        timestamptz NOT NULL,
    readings      bigint NOT NULL DEFAULT 0,
    hr_sum        bigint NOT NULL DEFAULT 0,
    hr_min        integer,
    hr_max        integer,
    normal        bigint NOT NULL DEFAULT 0,
    bradycardia   bigint NOT NULL DEFAULT 0,
    tachycardia   bigint NOT NULL DEFAULT 0,
    invalid       bigint NOT NULL DEFAULT 0,
    c_readings    bigint NOT NULL DEFAULT 0,
    c_hr_sum      bigint NOT NULL DEFAULT 0,
    c_normal      bigint NOT NULL DEFAULT 0,
    c_bradycardia bigint NOT NULL DEFAULT 0,
    c_tachycardia bigint NOT NULL DEFAULT 0,
    c_invalid     bigint NOT NULL DEFAULT 0,
    CONSTRAINT hb_fold_customer_minute_pkey PRIMARY KEY (customer_id, minute)
);

-- The customers with a folded minute in a UTC day, and the first such minute
-- (kept exact by the fold since 2026-12-04: a customer whose minutes of a
-- day are all deleted loses the day's row; a database folded before may
-- keep such a row until hb_retain drops its day).
CREATE TABLE IF NOT EXISTS hb_fold_customer_day (
    day          date NOT NULL,
    customer_id  text COLLATE "C" NOT NULL,
    first_minute timestamptz NOT NULL,
    CONSTRAINT hb_fold_customer_day_pkey PRIMARY KEY (customer_id, day)
);

-- A UTC day whose only folded minute is its first one: its customers are
-- those of that minute in hb_fold_customer_minute, each first seen then,
-- and are not in hb_fold_customer_day yet.  The fold of a day's first
-- minute notes it here instead of writing a row per customer (0.18 s of
-- the 0.7 s a minute of 100,000 customers took, at the end of a load: the
-- last minute it folds is often a day's first); the next fold of a minute
-- of that day writes them and drops this row, before anything else of the
-- day changes.  So while a day is here, hb_fold_customer_day has no row
-- of it.  Read both as hb_customer_day.
CREATE TABLE IF NOT EXISTS hb_fold_day_first (
    day    date PRIMARY KEY,
    minute timestamptz NOT NULL
);

-- The minutes with rows not folded yet: one note per statement and minute.
CREATE TABLE IF NOT EXISTS hb_rollup_pending (
    minute   timestamptz NOT NULL,
    noted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS hb_rollup_pending_minute ON hb_rollup_pending (minute);
-- read_rows: the fold reads the minute's rows of heartbeat_records (every
-- note of before had to).  A note of heartbeat_anomalies never does (the
-- fold reads a minute's anomalies whole each time: they are few).  token:
-- the statement's rows of that minute are in hb_rollup_delta under it.
ALTER TABLE hb_rollup_pending
    ADD COLUMN IF NOT EXISTS read_rows boolean NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS token bigint;
-- readings, hr_sum: with a token, the statement's readings of that minute
-- and their heart-rate sum, which the fold checks the token's words by
ALTER TABLE hb_rollup_pending
    ADD COLUMN IF NOT EXISTS readings bigint,
    ADD COLUMN IF NOT EXISTS hr_sum bigint;

-- A loader's word on the rows it stores, so that the fold need not read
-- them back: per minute, its readings grouped per customer (count, sum,
-- min and max heart rate) and per heart rate (count), one row with the
-- groups in arrays.  hbpgload stores its batches under a token of its own
-- (hbmon.delta, set for its COPY); the note trigger records per minute the
-- token and the count and heart-rate sum of the rows each statement stored.
-- Once the loader has passed a minute (or at its end) it writes the
-- minute's word here, in a statement of its own (lib/hb_load_delta.c).  The
-- fold uses the words only for a minute folded for the first time whose
-- every note either came with a token whose words add up to the same count
-- and sum, or did not touch the readings: anything else (a word not written
-- yet, a batch after it, duplicates skipped, a \copy, a late row, a
-- delete) reads the rows.  A word is only ever read by the fold of its
-- minute: one with no note of its minute and token pending (it came after
-- its minute's fold, or after its rows were taken) is dropped by the next
-- fold.  A word lists each customer once: the fold takes the groups of a
-- minute's only word as they are (a customer twice would make it fail on
-- the customer-minute key, every time, until the word is deleted).  Only
-- the loader role may write here (090_roles.sql).
CREATE TABLE IF NOT EXISTS hb_rollup_delta (
    token     bigint NOT NULL,
    minute    timestamptz NOT NULL,
    customers text[] COLLATE "C" NOT NULL,
    c_n       integer[] NOT NULL,
    c_sum     bigint[] NOT NULL,
    c_min     integer[] NOT NULL,
    c_max     integer[] NOT NULL,
    hr        integer[] NOT NULL,
    hr_n      integer[] NOT NULL,
    -- one group per element of each array, none NULL (unnest would pad)
    CONSTRAINT hb_rollup_delta_shape CHECK (
        array_ndims(customers) = 1 AND array_ndims(hr) = 1
        AND cardinality(c_n) = cardinality(customers) AND cardinality(c_sum) = cardinality(customers)
        AND cardinality(c_min) = cardinality(customers) AND cardinality(c_max) = cardinality(customers)
        AND cardinality(hr_n) = cardinality(hr)
        AND array_position(customers, NULL) IS NULL AND array_position(c_n, NULL) IS NULL
        AND array_position(c_sum, NULL) IS NULL AND array_position(c_min, NULL) IS NULL
        AND array_position(c_max, NULL) IS NULL AND array_position(hr, NULL) IS NULL
        AND array_position(hr_n, NULL) IS NULL)
);
CREATE INDEX IF NOT EXISTS hb_rollup_delta_minute ON hb_rollup_delta (minute, token);
-- a word of thousands of customers is a few hundred kB: stored as it is,
-- not compressed (it is read twice and gone within seconds)
ALTER TABLE hb_rollup_delta ALTER COLUMN customers SET STORAGE EXTERNAL,
    ALTER COLUMN c_n SET STORAGE EXTERNAL, ALTER COLUMN c_sum SET STORAGE EXTERNAL,
    ALTER COLUMN c_min SET STORAGE EXTERNAL, ALTER COLUMN c_max SET STORAGE EXTERNAL,
    ALTER COLUMN hr SET STORAGE EXTERNAL, ALTER COLUMN hr_n SET STORAGE EXTERNAL;

-- The notes are taken before anything else changes: on a database of
-- before, CREATE OR REPLACE TRIGGER hb_rollup swaps the old trigger (which
-- kept the old rollup tables) for the one that notes, in one statement, so
-- a loader running while sql/ is applied has every statement's rows either
-- in the old rollups (renamed below into the folded ones) or noted.
-- ---- time ------------------------------------------------------------------------

-- The minute of a time, in UTC whatever the session's TimeZone.
CREATE OR REPLACE FUNCTION hb_minute(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_trunc('minute', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';

-- The 5-minute slot of a time (UTC, from the hour).
CREATE OR REPLACE FUNCTION hb_5min(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin('5 minutes', t, timestamptz '2000-01-01 00:00:00+00');

-- The UTC day of a time, and the start of a UTC day.
CREATE OR REPLACE FUNCTION hb_utc_day(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (t AT TIME ZONE 'UTC')::date;

CREATE OR REPLACE FUNCTION hb_utc_day_start(d date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN d::timestamp AT TIME ZONE 'UTC';

-- ---- noting -----------------------------------------------------------------------

-- The minutes the statement's rows fall in, as pending: the rows inserted,
-- deleted or updated (both sides).  An insert, no update: loaders never
-- wait for each other here.  TRUNCATE makes every folded minute pending
-- (the next folds compute them again from what is left).  A statement
-- under a loader's token (hbmon.delta set: hbpgload's COPY) is counted
-- per minute, for the fold to check the loader's words by.
CREATE OR REPLACE FUNCTION hb_rollup_note() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    tok bigint;
BEGIN
    IF TG_OP = 'INSERT' AND TG_TABLE_NAME = 'heartbeat_records' THEN
        tok := nullif(current_setting('hbmon.delta', true), '')::bigint;
        IF tok IS NULL THEN
            INSERT INTO hb_rollup_pending (minute)
            SELECT DISTINCT date_bin('1 minute', ts, timestamptz '2000-01-01 00:00:00+00')
            FROM new_rows WHERE ts IS NOT NULL;
        ELSE
            -- under a loader's token: its rows per minute, counted, for the
            -- fold to check the loader's words on them by
            INSERT INTO hb_rollup_pending (minute, read_rows, token, readings, hr_sum)
            SELECT date_bin('1 minute', ts, timestamptz '2000-01-01 00:00:00+00'), false, tok,
                   count(*), sum(heart_rate)
            FROM new_rows WHERE ts IS NOT NULL GROUP BY 1;
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO hb_rollup_pending (minute, read_rows)
        SELECT DISTINCT hb_minute(ts), false FROM new_rows WHERE ts IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO hb_rollup_pending (minute)
        SELECT DISTINCT hb_minute(ts) FROM old_rows WHERE ts IS NOT NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO hb_rollup_pending (minute)
        SELECT hb_minute(ts) FROM old_rows WHERE ts IS NOT NULL
        UNION
        SELECT hb_minute(ts) FROM new_rows WHERE ts IS NOT NULL;
    ELSE
        -- every folded minute, and every pending one: read from what is
        -- left, and the loaders' words on the rows gone are dropped (a
        -- word a loader writes after this, on rows this took, goes with
        -- its minute's next fold, which reads the rows)
        -- (in READ COMMITTED, as TRUNCATE is run: in a REPEATABLE READ
        -- transaction this trigger would not see a loader that committed
        -- after its snapshot)
        INSERT INTO hb_rollup_pending (minute)
        SELECT minute FROM hb_fold_minute GROUP BY minute
        UNION
        SELECT minute FROM hb_rollup_pending;
        IF TG_TABLE_NAME = 'heartbeat_records' THEN
            DELETE FROM hb_rollup_delta;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER hb_rollup AFTER INSERT ON heartbeat_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_note();
CREATE OR REPLACE TRIGGER hb_rollup AFTER INSERT ON heartbeat_anomalies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_note();
CREATE OR REPLACE TRIGGER hb_rollup_delete AFTER DELETE ON heartbeat_records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_note();
CREATE OR REPLACE TRIGGER hb_rollup_delete AFTER DELETE ON heartbeat_anomalies
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_note();
CREATE OR REPLACE TRIGGER hb_rollup_update AFTER UPDATE ON heartbeat_records
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_note();
CREATE OR REPLACE TRIGGER hb_rollup_update AFTER UPDATE ON heartbeat_anomalies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_note();
CREATE OR REPLACE TRIGGER hb_rollup_truncate AFTER TRUNCATE ON heartbeat_records
    FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_note();
CREATE OR REPLACE TRIGGER hb_rollup_truncate AFTER TRUNCATE ON heartbeat_anomalies
    FOR EACH STATEMENT EXECUTE FUNCTION hb_rollup_note();
DROP FUNCTION IF EXISTS hb_rollup_records();
DROP FUNCTION IF EXISTS hb_rollup_anomalies();

-- A database of before: the rollup tables kept by triggers become the
-- folded ones (everything in them is exact), with running totals added.
DO $$
BEGIN
    IF to_regclass('hb_fold_minute') IS NOT NULL
       AND (SELECT relkind FROM pg_class WHERE oid = to_regclass('hb_rollup_minute')) = 'r' THEN
        DROP TABLE hb_fold_minute, hb_fold_minute_hr, hb_fold_customer_minute, hb_fold_customer_day;
        ALTER TABLE hb_rollup_minute RENAME TO hb_fold_minute;
        ALTER TABLE hb_fold_minute RENAME CONSTRAINT hb_rollup_minute_pkey TO hb_fold_minute_pkey;
        ALTER TABLE hb_rollup_minute_hr RENAME TO hb_fold_minute_hr;
        ALTER TABLE hb_fold_minute_hr RENAME CONSTRAINT hb_rollup_minute_hr_pkey TO hb_fold_minute_hr_pkey;
        ALTER TABLE hb_rollup_customer_minute RENAME TO hb_fold_customer_minute;
        ALTER TABLE hb_fold_customer_minute
            RENAME CONSTRAINT hb_rollup_customer_minute_pkey TO hb_fold_customer_minute_pkey;
        DROP INDEX IF EXISTS hb_rollup_customer_minute_minute;
        ALTER TABLE hb_fold_customer_minute
            ADD COLUMN c_readings    bigint NOT NULL DEFAULT 0,
            ADD COLUMN c_hr_sum      bigint NOT NULL DEFAULT 0,
            ADD COLUMN c_normal      bigint NOT NULL DEFAULT 0,
            ADD COLUMN c_bradycardia bigint NOT NULL DEFAULT 0,
            ADD COLUMN c_tachycardia bigint NOT NULL DEFAULT 0,
            ADD COLUMN c_invalid     bigint NOT NULL DEFAULT 0;
        CREATE TABLE hb_fold_customer_day (
            day          date NOT NULL,
            customer_id  text COLLATE "C" NOT NULL,
            first_minute timestamptz NOT NULL,
            CONSTRAINT hb_fold_customer_day_pkey PRIMARY KEY (customer_id, day)
        );
        UPDATE hb_fold_customer_minute f SET
            c_readings = s.c_readings, c_hr_sum = s.c_hr_sum, c_normal = s.c_normal,
            c_bradycardia = s.c_bradycardia, c_tachycardia = s.c_tachycardia, c_invalid = s.c_invalid
        FROM (SELECT customer_id, minute,
                     sum(readings) OVER w AS c_readings, sum(hr_sum) OVER w AS c_hr_sum,
                     sum(normal) OVER w AS c_normal, sum(bradycardia) OVER w AS c_bradycardia,
                     sum(tachycardia) OVER w AS c_tachycardia, sum(invalid) OVER w AS c_invalid
              FROM hb_fold_customer_minute
              WINDOW w AS (PARTITION BY customer_id, (minute AT TIME ZONE 'UTC')::date ORDER BY minute)) s
        WHERE f.customer_id = s.customer_id AND f.minute = s.minute;
        INSERT INTO hb_fold_customer_day
        SELECT (minute AT TIME ZONE 'UTC')::date, customer_id, min(minute)
        FROM hb_fold_customer_minute GROUP BY 1, 2;
    END IF;
END
$$;
CREATE INDEX IF NOT EXISTS hb_fold_customer_minute_minute ON hb_fold_customer_minute (minute);
-- hb_fold_customer_day's key leads with the customer: the customers ever
-- folded are one probe each of it (the dashboard's $customer: a day of
-- 10,000 customers is 10,000 entries here, 14 million in
-- hb_fold_customer_minute, where the same skip scan took 75-105 ms).  A
-- day's customers (hb_customer_sums, hb_retain, the fold) are found by an
-- index on day (a btree, not a BRIN: once hb_retain has deleted old days,
-- new days' rows fill their pages, and a BRIN's ranges would span them all).
-- Until 2026-12-05 the key was (day, customer_id) with a second btree on
-- customer_id: the fold of a minute of 100,000 customers new to their day
-- spent 0.49 s inserting their rows, 0.34 s with this key (and a day's
-- first minute writes none now: hb_fold_day_first).
DO $$
BEGIN
    IF (SELECT array_agg(a.attname::text ORDER BY k.ord)
        FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = 'hb_fold_customer_day'::regclass AND a.attnum = k.attnum
        WHERE c.conname = 'hb_fold_customer_day_pkey'
          AND c.conrelid = 'hb_fold_customer_day'::regclass) IS DISTINCT FROM ARRAY['customer_id', 'day'] THEN
        ALTER TABLE hb_fold_customer_day DROP CONSTRAINT IF EXISTS hb_fold_customer_day_pkey,
            ADD CONSTRAINT hb_fold_customer_day_pkey PRIMARY KEY (customer_id, day);
    END IF;
END
$$;
DROP INDEX IF EXISTS hb_fold_customer_day_customer;
-- The days of p_days noted in hb_fold_day_first (every noted day when
-- NULL) written out: their customers, those of the day's first minute in
-- hb_fold_customer_minute, go to hb_fold_customer_day and the notes go.  A
-- row there already, which a fold of an older sql/ could have written
-- after the note, keeps the earlier minute.  Only with the fold's lock
-- held: by the fold, and once below.
CREATE OR REPLACE FUNCTION hb_fold_day_first_out(p_days date[]) RETURNS void
LANGUAGE sql SET search_path = public, pg_temp
AS $$
    WITH p AS (
        DELETE FROM hb_fold_day_first WHERE p_days IS NULL OR day = ANY (p_days) RETURNING day, minute
    )
    INSERT INTO hb_fold_customer_day AS c (day, customer_id, first_minute)
    SELECT p.day, f.customer_id, f.minute
    FROM p JOIN hb_fold_customer_minute f ON f.minute = p.minute
    ORDER BY 2, 1
    ON CONFLICT (customer_id, day) DO UPDATE SET first_minute = least(c.first_minute, excluded.first_minute);
$$;
REVOKE ALL ON FUNCTION hb_fold_day_first_out(date[]) FROM PUBLIC;
-- Every noted day written out now, with the fold's lock: a fold of an
-- older sql/ (applied, and this one again) knew nothing of them and may
-- have written rows of their days after them.  Few or none (a day is
-- noted until the next minute of it is folded)
DO $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('hbmon: rollup fold'));
    PERFORM hb_fold_day_first_out(NULL);
END
$$;
CREATE INDEX IF NOT EXISTS hb_fold_customer_day_day ON hb_fold_customer_day (day);

COMMENT ON TABLE hb_fold_minute IS
    'Folded minutes: readings per UTC minute and status (read hb_rollup_minute: it adds the pending ones).';
COMMENT ON TABLE hb_fold_minute_hr IS
    'Folded minutes: valid readings per UTC minute and heart rate (read hb_rollup_minute_hr).';
COMMENT ON TABLE hb_fold_5min_hr IS
    'Folded minutes summed per 5 minutes (UTC) and heart rate; a slot with a pending minute is not whole (hb_report_fleet reads those from hb_rollup_minute_hr).';
COMMENT ON TABLE hb_fold_5min IS
    'Per 5-minute slot of hb_fold_5min_hr: valid readings and their 5th and 95th percentile heart rate.';
COMMENT ON TABLE hb_fold_customer_minute IS
    'Folded minutes: readings per customer and UTC minute, with running totals over the UTC day (read hb_rollup_customer_minute, or hb_customer_sums for ranges).';
COMMENT ON TABLE hb_fold_customer_day IS
    'The customers with a folded minute in each UTC day, and their first such minute (read hb_customer_day: it adds the days of hb_fold_day_first).';
COMMENT ON TABLE hb_fold_day_first IS
    'UTC days whose only folded minute is their first: their customers are that minute''s in hb_fold_customer_minute, not in hb_fold_customer_day yet.';

-- The customers with a folded minute in each UTC day, and their first such
-- minute: hb_fold_customer_day and the days noted in hb_fold_day_first.
CREATE OR REPLACE VIEW hb_customer_day AS
SELECT day, customer_id, first_minute FROM hb_fold_customer_day
UNION ALL
SELECT p.day, f.customer_id, f.minute
FROM hb_fold_day_first p JOIN hb_fold_customer_minute f ON f.minute = p.minute;
COMMENT ON VIEW hb_customer_day IS
    'The customers with a folded minute in each UTC day, and their first such minute.';
COMMENT ON TABLE hb_rollup_pending IS
    'The minutes with rows not folded yet (one note per loading statement and minute); hb_rollup_fold() folds and forgets them.';

-- ---- folding -------------------------------------------------------------------

-- The slots given of hb_fold_5min_hr as hb_fold_5min holds them: readings,
-- 5th and 95th percentile (a slot without a row there has none).
CREATE OR REPLACE FUNCTION hb_fold_5min_pct(p_slots timestamptz[])
RETURNS TABLE (slot timestamptz, readings bigint, p5 integer, p95 integer)
LANGUAGE sql STABLE SET search_path = public, pg_temp
AS $$
    SELECT slot, max(tot)::bigint, min(heart_rate) FILTER (WHERE 20 * cum >= tot),
           min(heart_rate) FILTER (WHERE 20 * cum >= 19 * tot)
    FROM (SELECT slot, heart_rate,
                 sum(readings) OVER (PARTITION BY slot ORDER BY heart_rate ROWS UNBOUNDED PRECEDING) AS cum,
                 sum(readings) OVER (PARTITION BY slot) AS tot
          FROM (SELECT DISTINCT unnest(p_slots)) s(slot) JOIN hb_fold_5min_hr f USING (slot)) c
    GROUP BY slot;
$$;

-- The 5-minute slots given, summed again from their folded minutes, and
-- their percentiles: the one place that writes hb_fold_5min_hr and
-- hb_fold_5min (the fold, and applying sql/).  The caller holds the fold's
-- lock.
CREATE OR REPLACE FUNCTION hb_fold_5min_sum(p_slots timestamptz[]) RETURNS void
LANGUAGE sql SET search_path = public, pg_temp
AS $$
    DELETE FROM hb_fold_5min_hr WHERE slot = ANY (p_slots);
    INSERT INTO hb_fold_5min_hr (slot, heart_rate, readings)
    SELECT s.slot, f.heart_rate, sum(f.readings)
    FROM unnest(p_slots) s(slot)
    JOIN hb_fold_minute_hr f ON f.minute >= s.slot AND f.minute < s.slot + interval '5 minutes'
    GROUP BY 1, 2;
    DELETE FROM hb_fold_5min WHERE slot = ANY (p_slots);
    INSERT INTO hb_fold_5min (slot, readings, p5, p95)
    SELECT * FROM hb_fold_5min_pct(p_slots);
$$;

-- Folds the pending minutes that are over and quiet: closed by the wall
-- clock p_quiet ago and nothing noted in them for p_quiet (p_all: every
-- pending minute, now), the oldest first, at most p_max of them.  Returns
-- how many it folded; 0 at once when another fold is under way.
--
-- hb_rollup_fold_before(p_before, ...): the same, and a minute before
-- p_before need not be quiet.  A loader passes the first minute of the
-- batch it has just stored: its input has moved past the minutes before
-- (a replay, a bulk load, a backlog: rows in time order), so they are
-- folded while it loads rather than 2 s after it has gone on, or all at
-- its end.  Only a hint: rows that still come for such a minute (input out
-- of order, another loader) note it again, and it is folded again.  A
-- live stream's minutes are before it only once they are over by the
-- clock, so for one loader nothing changes there.  Two loaders, one some
-- seconds behind the other: a minute the first has passed is folded at
-- each fold while the second still writes it (once a second, not once):
-- more work, the same rollups.
--
-- Correct whatever runs meanwhile: the notes of a minute are forgotten,
-- its loaders' words taken and its readings read in one statement, so in
-- one snapshot; a row committed after that has a note (and a word) that
-- stays, and the minute stays pending for the readers until the next fold.
-- Its anomalies are read in a later statement: a minute's anomalies are
-- read whole at each of its folds.  A minute folded again (rows came late)
-- is computed again whole from its rows; the customers' running totals after it in
-- its day are computed again from there.  While rows still come for an
-- earlier minute of a day than its latest folded one (a backfill), that
-- day's late minutes wait until the backfill is quiet, so the running
-- totals are computed again once, not at every fold; but not longer than a
-- minute of quiet each, so that a device whose clock is late, or a loader
-- that lags, sending rows for old minutes all day, does not keep the day's
-- late minutes pending all day.
CREATE OR REPLACE FUNCTION hb_rollup_fold_before(p_before timestamptz,
                                                 p_quiet interval DEFAULT interval '2 seconds',
                                                 p_max integer DEFAULT 60, p_all boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
-- its statements read a few minutes' rows: compiling them (JIT, on by
-- default where PostgreSQL is built with it) costs more than running them,
-- and a minute is read by the BRIN index even when the planner would scan
-- the whole partition (a bulk load's 60 minutes may look like a tenth of it)
SET jit = off
-- a minute of 100,000 customers is 100,000 groups, sorted and hashed a few
-- times: in the default 4 MB they spill to disk
SET work_mem = '64MB'
AS $$
DECLARE
    ms    timestamptz[];
    clock timestamptz := clock_timestamp();
    lt    text;
    part  text;
    gone_c text[];
    gone_d date[];
    fresh timestamptz[];
    days  date[];
    append boolean;
    earlier boolean := true;
    read_any boolean;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('hbmon: rollup fold')) THEN
        RETURN 0;
    END IF;
    WITH p AS (
        SELECT minute, max(noted_at) AS last_noted
        FROM hb_rollup_pending
        WHERE p_all OR minute <= clock - p_quiet - interval '1 minute'
        GROUP BY minute
    ), head AS (
        -- per UTC day: the latest folded minute, and whether rows still come
        -- for an earlier one (a backfill under way)
        SELECT d.day,
               (SELECT max(minute) FROM hb_fold_minute f
                WHERE f.minute >= hb_utc_day_start(d.day) AND f.minute < hb_utc_day_start(d.day + 1)) AS folded
        FROM (SELECT DISTINCT hb_utc_day(minute) AS day FROM p) d
    ), busy AS (
        SELECT h.day FROM head h
        WHERE EXISTS (SELECT FROM hb_rollup_pending q
                      WHERE q.minute >= hb_utc_day_start(h.day) AND q.minute < h.folded
                        AND q.noted_at > clock - p_quiet)
    )
    SELECT array_agg(minute ORDER BY minute) INTO ms FROM (
        SELECT p.minute FROM p JOIN head h ON h.day = hb_utc_day(p.minute)
        WHERE p_all OR ((p.last_noted <= clock - p_quiet OR coalesce(p.minute < p_before, false))
                        AND (p.last_noted <= clock - interval '1 minute'
                             OR NOT coalesce(p.minute < h.folded AND h.day IN (SELECT day FROM busy), false)))
        ORDER BY p.minute LIMIT p_max) m;
    IF ms IS NULL THEN
        RETURN 0;
    END IF;
    -- the parents before any partition: the steps below lock a partition by
    -- itself (brin_summarize_new_values, ANALYZE) and then the parent (the
    -- fold's SELECT), while a TRUNCATE of the parents locks them first and
    -- then their partitions; in that order a TRUNCATE while a loader folds
    -- was a deadlock, and PostgreSQL may pick the TRUNCATE as its victim
    LOCK TABLE ONLY heartbeat_records, heartbeat_anomalies IN ACCESS SHARE MODE;

    -- 1. the BRIN index of the days' partitions summarizes the pages added
    --    since the last fold, so that reading a minute reads that minute:
    --    when a minute is to be read from its rows (below), not when every
    --    one comes with the loader's word.  An autovacuum of the partition
    --    holds the lock this needs; waiting for it past deadlock_timeout
    --    (1 s) cancels it.  After 5 s, go on without (the scans below then
    --    read the pages not summarized too)
    --    (A word whose count falls short is found in step 2: that minute
    --    is read without; rare, a batch after its word.)
    read_any := EXISTS (SELECT FROM hb_rollup_pending p WHERE p.minute = ANY (ms)
                         AND (p.read_rows OR p.token IS NOT NULL AND NOT EXISTS (
                             SELECT FROM hb_rollup_delta d WHERE d.minute = p.minute AND d.token = p.token)))
                 OR EXISTS (SELECT FROM hb_fold_minute WHERE minute = ANY (ms));
    IF read_any THEN
        lt := current_setting('lock_timeout');
        BEGIN
            PERFORM set_config('lock_timeout', '5s', true);
            PERFORM brin_summarize_new_values(x.indexrelid)
            FROM pg_inherits i
            JOIN pg_index x ON x.indrelid = i.inhrelid
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class ic ON ic.oid = x.indexrelid
            JOIN pg_am a ON a.oid = ic.relam
            WHERE i.inhparent = 'heartbeat_records'::regclass AND a.amname = 'brin'
              AND (c.relname = 'heartbeat_records_default'
                   OR c.relname IN (SELECT 'heartbeat_records_p' || to_char(hb_utc_day(m), 'YYYYMMDD')
                                    FROM unnest(ms) m));
        EXCEPTION WHEN lock_not_available THEN
            NULL;
        END;
        PERFORM set_config('lock_timeout', lt, true);
    END IF;
    -- a partition never analyzed yet (a bulk load into a new day) has no
    -- statistics, and then the planner may read a minute through the whole
    -- primary key: analyze it first (a sample; autovacuum would, later).
    -- The readings' only when they are read (0.13 s for a day's first
    -- 1,000,000 rows); the anomalies' are read at every fold
    FOR part IN
        SELECT c.oid::regclass::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE (i.inhparent = 'heartbeat_anomalies'::regclass
               OR i.inhparent = 'heartbeat_records'::regclass AND read_any)
          AND c.reltuples < 0
          AND (c.relname ~ '_default$'
               OR right(c.relname, 8) IN (SELECT to_char(hb_utc_day(m), 'YYYYMMDD') FROM unnest(ms) m))
    LOOP
        EXECUTE format('ANALYZE %s', part);
    END LOOP;

    -- 2. in one statement, so in one snapshot: forget the minutes' notes
    --    (what is noted from now on stays pending), take the loaders' words
    --    on them, and group their readings once: from the words of a minute
    --    folded for the first time whose every note came with a token whose
    --    words add up to it (or did not touch the readings), else from its
    --    rows, each minute by
    --    the partitions' BRIN index (summarized above, so a minute reads
    --    about its own pages).  Never a scan of a whole partition per
    --    minute, which the planner picks at times (a bulk load's statistics)
    CREATE TEMP TABLE hb_fold_rec (minute timestamptz, customer_id text COLLATE "C", heart_rate integer,
                                   g integer, n bigint, s bigint, lo integer, hi integer) ON COMMIT DROP;
    SET LOCAL enable_seqscan = off;
    SET LOCAL enable_indexscan = off;
    WITH n AS (
        DELETE FROM hb_rollup_pending WHERE minute = ANY (ms) RETURNING minute, read_rows, token, readings, hr_sum
    ), d AS (
        DELETE FROM hb_rollup_delta WHERE minute = ANY (ms) RETURNING *
    ), short AS (
        -- the minutes where a token's words do not add up to its notes (a
        -- word not written yet or gone: hb_retain deletes the old notes
        -- and words one table after the other; a batch after it; a note of
        -- before 2026-12-05, without counts)
        SELECT t.minute FROM (
            SELECT n.minute, n.token, sum(n.readings) AS readings, sum(n.hr_sum) AS hr_sum
            FROM n WHERE n.token IS NOT NULL GROUP BY 1, 2) t
        LEFT JOIN (
            SELECT d.minute, d.token, sum((SELECT sum(x) FROM unnest(d.c_n) x)) AS c_n,
                   sum((SELECT sum(x) FROM unnest(d.c_sum) x)) AS c_sum,
                   sum((SELECT sum(x) FROM unnest(d.hr_n) x)) AS hr_n,
                   sum((SELECT sum(h::bigint * x) FROM unnest(d.hr, d.hr_n) u(h, x))) AS hr_sum
            FROM d GROUP BY 1, 2) wt ON wt.minute = t.minute AND wt.token = t.token
        WHERE wt.token IS NULL OR t.readings IS NULL OR t.hr_sum IS NULL
           OR (wt.c_n, wt.c_sum, wt.hr_n, wt.hr_sum) IS DISTINCT FROM (t.readings, t.hr_sum, t.readings, t.hr_sum)
    ), k AS (
        -- from the rows: a minute folded before, one with a note to read
        -- them, one whose words fall short, or one with no note left at all
        SELECT m.minute,
               coalesce(bool_or(n.read_rows), true)
               OR m.minute IN (SELECT minute FROM short)
               OR EXISTS (SELECT FROM hb_fold_minute f WHERE f.minute = m.minute) AS from_rows
        FROM unnest(ms) m(minute) LEFT JOIN n ON n.minute = m.minute
        GROUP BY m.minute
    ), w AS (
        -- one: the minute's only word (a loader's word lists each customer
        -- once: its groups need no grouping again, 0.05 s of a minute of
        -- 100,000 customers)
        SELECT d.*, count(*) OVER (PARTITION BY d.minute) = 1 AS one
        FROM d JOIN k ON k.minute = d.minute AND NOT k.from_rows
        WHERE (d.token, d.minute) IN (SELECT n.token, n.minute FROM n WHERE n.token IS NOT NULL)
    )
    INSERT INTO hb_fold_rec
    SELECT m.minute, r.customer_id, r.heart_rate, GROUPING(r.customer_id, r.heart_rate),
           count(*), sum(r.heart_rate), min(r.heart_rate), max(r.heart_rate)
    FROM (SELECT minute FROM k WHERE from_rows) m
    JOIN heartbeat_records r ON r.ts >= m.minute AND r.ts < m.minute + interval '1 minute'
    GROUP BY GROUPING SETS ((m.minute, r.customer_id), (m.minute, r.heart_rate))
    UNION ALL
    SELECT w.minute, u.c, NULL, 1, sum(u.cn), sum(u.cs), min(u.clo), max(u.chi)
    FROM w, unnest(w.customers, w.c_n, w.c_sum, w.c_min, w.c_max) u(c, cn, cs, clo, chi)
    WHERE NOT w.one
    GROUP BY w.minute, u.c
    UNION ALL
    SELECT w.minute, u.c, NULL, 1, u.cn, u.cs, u.clo, u.chi
    FROM w, unnest(w.customers, w.c_n, w.c_sum, w.c_min, w.c_max) u(c, cn, cs, clo, chi)
    WHERE w.one
    UNION ALL
    SELECT w.minute, NULL, u.h, 2, sum(u.hn), sum(u.h::bigint * u.hn), u.h, u.h
    FROM w, unnest(w.hr, w.hr_n) u(h, hn)
    GROUP BY w.minute, u.h;

    CREATE TEMP TABLE hb_fold_anom ON COMMIT DROP AS
    SELECT m.minute, a.customer_id, a.anomaly_type AS k, a.heart_rate
    FROM unnest(ms) m(minute)
    JOIN heartbeat_anomalies a ON a.ts >= m.minute AND a.ts < m.minute + interval '1 minute';
    RESET enable_seqscan;
    RESET enable_indexscan;
    -- words whose notes are gone: they came after their minute was folded
    -- (from its rows, the word not written yet), or after a TRUNCATE or a
    -- delete took their rows.  A word is written after its notes, so one
    -- without a note of its minute and token pending will never have one:
    -- left, it could be taken for rows that come later under the same
    -- token.  They are few
    DELETE FROM hb_rollup_delta d
    WHERE NOT EXISTS (SELECT FROM hb_rollup_pending p WHERE p.minute = d.minute AND p.token = d.token);

    -- 3. the fleet: per status, per heart rate.  The readings from their
    --    groups per heart rate (a few hundred a minute), not per customer
    --    (100,000 in a minute of 100,000 customers: 0.035 s); the same
    --    readings either way, from the rows or from a word whose two sets
    --    of groups both add up to its notes (step 2)
    DELETE FROM hb_fold_minute WHERE minute = ANY (ms);
    INSERT INTO hb_fold_minute (minute, status, readings, hr_sum, hr_min, hr_max)
    SELECT minute, 'NORMAL', sum(n), sum(s), min(lo), max(hi)
    FROM hb_fold_rec WHERE g = 2 GROUP BY minute
    UNION ALL
    SELECT minute, k, count(*), coalesce(sum(heart_rate) FILTER (WHERE k <> 'INVALID'), 0),
           min(heart_rate) FILTER (WHERE k <> 'INVALID'), max(heart_rate) FILTER (WHERE k <> 'INVALID')
    FROM hb_fold_anom GROUP BY minute, k;

    DELETE FROM hb_fold_minute_hr WHERE minute = ANY (ms);
    INSERT INTO hb_fold_minute_hr (minute, heart_rate, readings)
    SELECT minute, heart_rate, sum(n) FROM (
        SELECT minute, heart_rate, n FROM hb_fold_rec WHERE g = 2
        UNION ALL
        SELECT minute, heart_rate, count(*) FROM hb_fold_anom WHERE k <> 'INVALID' GROUP BY 1, 2) x
    GROUP BY 1, 2;

    -- the minutes' 5-minute slots, whole again from their folded minutes
    PERFORM hb_fold_5min_sum(ARRAY(SELECT DISTINCT hb_5min(m) FROM unnest(ms) m));

    -- 4. per customer: the minutes' new figures, the readings' groups (one
    --    per customer and minute) joined to the anomalies' (bigint, not the
    --    numeric of sum(), and no hash of every group again: 0.05 s, not
    --    0.2 s, for a minute of 100,000 customers)
    CREATE TEMP TABLE hb_fold_new ON COMMIT DROP AS
    SELECT coalesce(r.customer_id, a.customer_id) AS customer_id, coalesce(r.minute, a.minute) AS minute,
           coalesce(r.n, 0) + coalesce(a.readings, 0) AS readings, coalesce(r.s, 0) + coalesce(a.hr_sum, 0) AS hr_sum,
           least(r.lo, a.hr_min) AS hr_min, greatest(r.hi, a.hr_max) AS hr_max, coalesce(r.n, 0) AS normal,
           coalesce(a.bradycardia, 0) AS bradycardia, coalesce(a.tachycardia, 0) AS tachycardia,
           coalesce(a.invalid, 0) AS invalid
    FROM (SELECT customer_id, minute, n, s, lo, hi FROM hb_fold_rec WHERE g = 1) r
    FULL JOIN (
        SELECT customer_id, minute, count(*) FILTER (WHERE k <> 'INVALID') AS readings,
               coalesce(sum(heart_rate) FILTER (WHERE k <> 'INVALID'), 0) AS hr_sum,
               min(heart_rate) FILTER (WHERE k <> 'INVALID') AS hr_min,
               max(heart_rate) FILTER (WHERE k <> 'INVALID') AS hr_max,
               count(*) FILTER (WHERE k = 'BRADYCARDIA') AS bradycardia,
               count(*) FILTER (WHERE k = 'TACHYCARDIA') AS tachycardia,
               count(*) FILTER (WHERE k = 'INVALID') AS invalid
        FROM hb_fold_anom WHERE customer_id IS NOT NULL GROUP BY 1, 2) a
    ON a.customer_id = r.customer_id AND a.minute = r.minute
    -- in the order of both tables' keys, sorted once here: the inserts
    -- below read it as written (a temp table is never scanned from a
    -- synchronized start) and need no sort of their own (0.06-0.09 s each
    -- for 100,000 customers)
    ORDER BY 1, 2;

    -- 5. per customer and day touched: from the day's first minute folded
    --    now, every folded minute of the customer that day, with the new
    --    figures in place, and the running totals computed again from the
    --    last ones before it
    CREATE TEMP TABLE hb_fold_from ON COMMIT DROP AS
    SELECT hb_utc_day(m) AS day, min(m) AS m0 FROM unnest(ms) m GROUP BY 1;

    -- the minutes with no customer's row yet (folded for the first time):
    -- their rows are plain inserts below, where an INSERT ... ON CONFLICT
    -- (a speculative insertion per row) took twice as long, 1 s for the
    -- 100,000 customers of a minute; only this fold writes these tables
    -- (it holds the fold's lock), so nothing can insert them meanwhile
    SELECT coalesce(array_agg(m), '{}') INTO fresh FROM unnest(ms) m
    WHERE NOT EXISTS (SELECT FROM hb_fold_customer_minute f WHERE f.minute = m);
    days := ARRAY(SELECT DISTINCT hb_utc_day(m) FROM unnest(ms) m);
    -- a day noted with its first minute only (below): its customers go to
    -- hb_fold_customer_day now, before anything of the day changes
    PERFORM hb_fold_day_first_out(days);

    -- (each day looked at by one probe of the minute index: as a join, the
    -- planner scanned all of hb_fold_customer_minute, 0.8 s for 3,000,000
    -- rows, to find that nothing comes later)
    -- the fold of a live stream: one minute per day, folded for the first
    -- time, with no later minute of its day folded.  Then a customer's
    -- running totals are its last ones of the day plus the minute's, and
    -- nothing else of the day changes: its rows go straight in, without
    -- the day's later minutes gathered, a window over them, nor the
    -- customers looked up in a table of their own (0.55 of the 2.3 s the
    -- fold of a minute of 100,000 customers took)
    append := cardinality(fresh) = cardinality(ms) AND cardinality(days) = cardinality(ms)
              AND NOT EXISTS (SELECT FROM hb_fold_from d
                              WHERE (SELECT f.minute FROM hb_fold_customer_minute f WHERE f.minute > d.m0
                                     ORDER BY f.minute LIMIT 1) < hb_utc_day_start(d.day + 1));
    IF append THEN
        -- a day's first minute folded (its customers have no running totals
        -- to look up): 100,000 index probes fewer, 0.06-0.09 s
        earlier := EXISTS (SELECT FROM hb_fold_from d
                           WHERE (SELECT f.minute FROM hb_fold_customer_minute f WHERE f.minute < d.m0
                                  ORDER BY f.minute DESC LIMIT 1) >= hb_utc_day_start(d.day));
        IF earlier THEN
            INSERT INTO hb_fold_customer_minute
            SELECT n.customer_id, n.minute, n.readings, n.hr_sum, n.hr_min, n.hr_max, n.normal, n.bradycardia,
                   n.tachycardia, n.invalid,
                   coalesce(b.c_readings, 0) + n.readings, coalesce(b.c_hr_sum, 0) + n.hr_sum,
                   coalesce(b.c_normal, 0) + n.normal, coalesce(b.c_bradycardia, 0) + n.bradycardia,
                   coalesce(b.c_tachycardia, 0) + n.tachycardia, coalesce(b.c_invalid, 0) + n.invalid
            FROM hb_fold_new n
            LEFT JOIN LATERAL (
                SELECT q.c_readings, q.c_hr_sum, q.c_normal, q.c_bradycardia, q.c_tachycardia, q.c_invalid
                FROM hb_fold_customer_minute q
                WHERE q.customer_id = n.customer_id
                  AND q.minute >= hb_utc_day_start(hb_utc_day(n.minute)) AND q.minute < n.minute
                ORDER BY q.minute DESC LIMIT 1) b ON true;
        ELSE
            -- (not even a lateral join that finds nothing: 0.03-0.04 s of
            -- a minute of 100,000 customers)
            INSERT INTO hb_fold_customer_minute
            SELECT n.customer_id, n.minute, n.readings, n.hr_sum, n.hr_min, n.hr_max, n.normal, n.bradycardia,
                   n.tachycardia, n.invalid,
                   n.readings, n.hr_sum, n.normal, n.bradycardia, n.tachycardia, n.invalid
            FROM hb_fold_new n;
        END IF;
    ELSE
        CREATE TEMP TABLE hb_fold_rows ON COMMIT DROP AS
        SELECT f.customer_id, f.minute, f.readings, f.hr_sum, f.hr_min, f.hr_max, f.normal, f.bradycardia,
               f.tachycardia, f.invalid
        FROM hb_fold_from d
        JOIN hb_fold_customer_minute f ON f.minute >= d.m0 AND f.minute < hb_utc_day_start(d.day + 1)
        WHERE f.minute <> ALL (ms)
        UNION ALL
        SELECT * FROM hb_fold_new;

        -- a customer of a minute folded before that has no row in it now (its
        -- rows deleted, or its day's rows dropped by hb_retain and it came
        -- again): gone, and its day looked at again below
        WITH d AS (
            DELETE FROM hb_fold_customer_minute f
            WHERE f.minute = ANY (ms)
              AND NOT EXISTS (SELECT FROM hb_fold_new n WHERE n.customer_id = f.customer_id AND n.minute = f.minute)
            RETURNING f.customer_id, hb_utc_day(f.minute) AS day
        )
        SELECT array_agg(customer_id), array_agg(day) INTO gone_c, gone_d
        FROM (SELECT DISTINCT customer_id, day FROM d) x;

        -- per customer and day: the running totals before the day's first minute folded now
        CREATE TEMP TABLE hb_fold_base ON COMMIT DROP AS
        SELECT c.customer_id, c.day, b.c_readings, b.c_hr_sum, b.c_normal, b.c_bradycardia,
               b.c_tachycardia, b.c_invalid
        FROM (SELECT DISTINCT r.customer_id, d.day, d.m0
              FROM hb_fold_rows r JOIN hb_fold_from d ON d.day = hb_utc_day(r.minute)) c
        CROSS JOIN LATERAL (
            SELECT q.c_readings, q.c_hr_sum, q.c_normal, q.c_bradycardia, q.c_tachycardia, q.c_invalid
            FROM hb_fold_customer_minute q
            WHERE q.customer_id = c.customer_id AND q.minute >= hb_utc_day_start(c.day) AND q.minute < c.m0
            ORDER BY q.minute DESC LIMIT 1) b;

        WITH o AS (
            SELECT r.customer_id, r.minute, r.readings, r.hr_sum, r.hr_min, r.hr_max, r.normal, r.bradycardia,
                   r.tachycardia, r.invalid,
                   coalesce(b.c_readings, 0) + sum(r.readings) OVER w AS c_readings,
                   coalesce(b.c_hr_sum, 0) + sum(r.hr_sum) OVER w AS c_hr_sum,
                   coalesce(b.c_normal, 0) + sum(r.normal) OVER w AS c_normal,
                   coalesce(b.c_bradycardia, 0) + sum(r.bradycardia) OVER w AS c_bradycardia,
                   coalesce(b.c_tachycardia, 0) + sum(r.tachycardia) OVER w AS c_tachycardia,
                   coalesce(b.c_invalid, 0) + sum(r.invalid) OVER w AS c_invalid
            FROM hb_fold_rows r
            LEFT JOIN hb_fold_base b ON b.customer_id = r.customer_id AND b.day = hb_utc_day(r.minute)
            WINDOW w AS (PARTITION BY r.customer_id, hb_utc_day(r.minute) ORDER BY r.minute)
        ), plain AS (
            INSERT INTO hb_fold_customer_minute
            SELECT * FROM o WHERE o.minute = ANY (fresh) ORDER BY o.customer_id, o.minute
        )
        INSERT INTO hb_fold_customer_minute AS f
        SELECT * FROM o WHERE o.minute <> ALL (fresh)
        ON CONFLICT (customer_id, minute) DO UPDATE SET
            readings = excluded.readings, hr_sum = excluded.hr_sum, hr_min = excluded.hr_min,
            hr_max = excluded.hr_max, normal = excluded.normal, bradycardia = excluded.bradycardia,
            tachycardia = excluded.tachycardia, invalid = excluded.invalid,
            c_readings = excluded.c_readings, c_hr_sum = excluded.c_hr_sum, c_normal = excluded.c_normal,
            c_bradycardia = excluded.c_bradycardia, c_tachycardia = excluded.c_tachycardia,
            c_invalid = excluded.c_invalid
        WHERE (f.readings, f.hr_sum, f.hr_min, f.hr_max, f.normal, f.bradycardia, f.tachycardia, f.invalid,
               f.c_readings, f.c_hr_sum, f.c_normal, f.c_bradycardia, f.c_tachycardia, f.c_invalid)
              IS DISTINCT FROM
              (excluded.readings, excluded.hr_sum, excluded.hr_min, excluded.hr_max, excluded.normal,
               excluded.bradycardia, excluded.tachycardia, excluded.invalid, excluded.c_readings,
               excluded.c_hr_sum, excluded.c_normal, excluded.c_bradycardia, excluded.c_tachycardia,
               excluded.c_invalid);
        DROP TABLE hb_fold_rows, hb_fold_base;
    END IF;

    -- the customers' days: an earlier first minute, or a new day (plain
    -- inserts, as above)
    IF append AND NOT earlier THEN
        -- the first minute of its day folded, and no later one: every
        -- customer of the minute has the day from it, and nobody else.
        -- Noted, not written (hb_fold_day_first); a row kept by a fold of
        -- before 2026-12-04 for a customer whose minutes were deleted goes
        DELETE FROM hb_fold_customer_day WHERE day = ANY (days);
        INSERT INTO hb_fold_day_first (day, minute) SELECT day, m0 FROM hb_fold_from;
    ELSE
        -- (appending, each customer has one minute a day in hb_fold_new: no grouping)
        WITH n AS (
            SELECT hb_utc_day(minute) AS day, customer_id, minute AS first_minute
            FROM hb_fold_new WHERE append
            UNION ALL
            SELECT hb_utc_day(minute) AS day, customer_id, min(minute) AS first_minute
            FROM hb_fold_new WHERE NOT append GROUP BY 1, 2
        ), c AS (
            SELECT n.day, n.customer_id, n.first_minute, c.first_minute AS was
            FROM n LEFT JOIN hb_fold_customer_day c
                ON c.day = n.day AND c.customer_id = n.customer_id
               AND c.day = ANY (days)
        ), u AS (
            UPDATE hb_fold_customer_day d SET first_minute = c.first_minute
            FROM c WHERE c.was > c.first_minute AND d.day = c.day AND d.customer_id = c.customer_id
              AND d.day = ANY (days)
        )
        INSERT INTO hb_fold_customer_day (day, customer_id, first_minute)
        SELECT day, customer_id, first_minute FROM c WHERE was IS NULL ORDER BY customer_id, day;
    END IF;
    -- the days of the customers gone from a minute: their first folded
    -- minute of the day left, or no row when none is left
    IF gone_c IS NOT NULL THEN
        DELETE FROM hb_fold_customer_day c
        USING unnest(gone_c, gone_d) g(customer_id, day)
        WHERE c.customer_id = g.customer_id AND c.day = g.day;
        INSERT INTO hb_fold_customer_day (day, customer_id, first_minute)
        SELECT g.day, g.customer_id, m.first_minute
        FROM unnest(gone_c, gone_d) g(customer_id, day)
        CROSS JOIN LATERAL (
            SELECT min(f.minute) AS first_minute FROM hb_fold_customer_minute f
            WHERE f.customer_id = g.customer_id AND f.minute >= hb_utc_day_start(g.day)
              AND f.minute < hb_utc_day_start(g.day + 1)) m
        WHERE m.first_minute IS NOT NULL;
    END IF;

    DROP TABLE hb_fold_rec, hb_fold_anom, hb_fold_new, hb_fold_from;
    RETURN cardinality(ms);
END
$$;

CREATE OR REPLACE FUNCTION hb_rollup_fold(p_quiet interval DEFAULT interval '2 seconds',
                                          p_max integer DEFAULT 60, p_all boolean DEFAULT false)
RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT hb_rollup_fold_before(NULL, p_quiet, p_max, p_all) $$;

-- Not for PUBLIC even between this file and 090_roles.sql (which grants it
-- to the loader role), on an existing database applied file by file.
REVOKE ALL ON FUNCTION hb_rollup_fold_before(timestamptz, interval, integer, boolean) FROM PUBLIC;

-- The 5-minute slots made whole where they are not the sums of their
-- folded minutes, or their percentiles not those of their heart rates: on
-- a database of before, all of them, once; after that, any that a fold of
-- an older version of this file changed (sql/ of an older checkout
-- applied, and this one again).  With the fold's lock, so that no fold
-- runs meanwhile.  It reads the folded minutes and the slots once (a month
-- of them in a few seconds) and writes only the slots that differ.
DO $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('hbmon: rollup fold'));
    CREATE TEMP TABLE hb_fold_want ON COMMIT DROP AS
    SELECT hb_5min(minute) AS slot, heart_rate, sum(readings)::bigint AS readings
    FROM hb_fold_minute_hr GROUP BY 1, 2;
    PERFORM hb_fold_5min_sum(ARRAY(
        SELECT DISTINCT slot FROM ((TABLE hb_fold_want EXCEPT ALL TABLE hb_fold_5min_hr)
                                   UNION ALL
                                   (TABLE hb_fold_5min_hr EXCEPT ALL TABLE hb_fold_want)) d));
    -- the slots whose hb_fold_5min row is missing, extra or not their figures
    CREATE TEMP TABLE hb_fold_want_pct ON COMMIT DROP AS
    SELECT * FROM hb_fold_5min_pct(ARRAY(SELECT DISTINCT slot FROM hb_fold_5min_hr));
    PERFORM hb_fold_5min_sum(ARRAY(
        SELECT DISTINCT slot FROM ((TABLE hb_fold_want_pct EXCEPT ALL TABLE hb_fold_5min)
                                   UNION ALL
                                   (TABLE hb_fold_5min EXCEPT ALL TABLE hb_fold_want_pct)) d));
    DROP TABLE hb_fold_want, hb_fold_want_pct;
END
$$;

-- ---- reading ------------------------------------------------------------------------
-- Exact at every moment: the folded minutes that are not pending, and the
-- pending ones computed from their rows.  A condition on minute reaches
-- both (the pending notes by their index, the rows by the partitions' BRIN).
-- The folded rows are kept out of a pending minute by a comparison with the
-- pending minutes' array, computed once: a few minutes as a rule, where an
-- anti-join planned on an empty table's statistics probed it once per row.

CREATE OR REPLACE VIEW hb_rollup_minute AS
SELECT f.minute, f.status, f.readings, f.hr_sum, f.hr_min, f.hr_max
FROM hb_fold_minute f
WHERE f.minute <> ALL (ARRAY(SELECT DISTINCT minute FROM hb_rollup_pending))
UNION ALL
SELECT p.minute, 'NORMAL'::text COLLATE "C", count(*), sum(r.heart_rate), min(r.heart_rate), max(r.heart_rate)
FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p
JOIN heartbeat_records r ON r.ts >= p.minute AND r.ts < p.minute + interval '1 minute'
GROUP BY p.minute
UNION ALL
SELECT p.minute, a.anomaly_type COLLATE "C", count(*),
       coalesce(sum(a.heart_rate) FILTER (WHERE a.anomaly_type <> 'INVALID'), 0),
       min(a.heart_rate) FILTER (WHERE a.anomaly_type <> 'INVALID'),
       max(a.heart_rate) FILTER (WHERE a.anomaly_type <> 'INVALID')
FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p
JOIN heartbeat_anomalies a ON a.ts >= p.minute AND a.ts < p.minute + interval '1 minute'
GROUP BY p.minute, a.anomaly_type;

CREATE OR REPLACE VIEW hb_rollup_minute_hr AS
SELECT f.minute, f.heart_rate, f.readings
FROM hb_fold_minute_hr f
WHERE f.minute <> ALL (ARRAY(SELECT DISTINCT minute FROM hb_rollup_pending))
UNION ALL
SELECT minute, heart_rate, sum(n)::bigint FROM (
    SELECT p.minute, r.heart_rate, count(*) AS n
    FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p
    JOIN heartbeat_records r ON r.ts >= p.minute AND r.ts < p.minute + interval '1 minute'
    GROUP BY 1, 2
    UNION ALL
    SELECT p.minute, a.heart_rate, count(*)
    FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p
    JOIN heartbeat_anomalies a ON a.ts >= p.minute AND a.ts < p.minute + interval '1 minute'
    WHERE a.anomaly_type <> 'INVALID'
    GROUP BY 1, 2) x
GROUP BY minute, heart_rate;

CREATE OR REPLACE VIEW hb_rollup_customer_minute AS
SELECT f.customer_id, f.minute, f.readings, f.hr_sum, f.hr_min, f.hr_max, f.normal, f.bradycardia,
       f.tachycardia, f.invalid
FROM hb_fold_customer_minute f
WHERE f.minute <> ALL (ARRAY(SELECT DISTINCT minute FROM hb_rollup_pending))
UNION ALL
SELECT customer_id, minute, sum(readings)::bigint, sum(hr_sum)::bigint, min(hr_min), max(hr_max),
       sum(normal)::bigint, sum(bradycardia)::bigint, sum(tachycardia)::bigint, sum(invalid)::bigint
FROM (
    SELECT r.customer_id, p.minute, count(*) AS readings, sum(r.heart_rate) AS hr_sum,
           min(r.heart_rate) AS hr_min, max(r.heart_rate) AS hr_max, count(*) AS normal,
           0 AS bradycardia, 0 AS tachycardia, 0 AS invalid
    FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p
    JOIN heartbeat_records r ON r.ts >= p.minute AND r.ts < p.minute + interval '1 minute'
    GROUP BY 1, 2
    UNION ALL
    SELECT a.customer_id, p.minute, count(*) FILTER (WHERE a.anomaly_type <> 'INVALID'),
           coalesce(sum(a.heart_rate) FILTER (WHERE a.anomaly_type <> 'INVALID'), 0),
           min(a.heart_rate) FILTER (WHERE a.anomaly_type <> 'INVALID'),
           max(a.heart_rate) FILTER (WHERE a.anomaly_type <> 'INVALID'),
           0, count(*) FILTER (WHERE a.anomaly_type = 'BRADYCARDIA'),
           count(*) FILTER (WHERE a.anomaly_type = 'TACHYCARDIA'),
           count(*) FILTER (WHERE a.anomaly_type = 'INVALID')
    FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p
    JOIN heartbeat_anomalies a ON a.ts >= p.minute AND a.ts < p.minute + interval '1 minute'
    WHERE a.customer_id IS NOT NULL
    GROUP BY 1, 2) x
GROUP BY customer_id, minute;

COMMENT ON VIEW hb_rollup_minute IS
    'Readings per UTC minute and status, exact: the folded minutes and the pending ones from the rows.';
COMMENT ON VIEW hb_rollup_minute_hr IS
    'Valid readings per UTC minute and heart rate, exact: folded and pending minutes.';
COMMENT ON VIEW hb_rollup_customer_minute IS
    'Readings per customer and UTC minute, exact: folded and pending minutes.';

-- Per customer, the folded figures of UTC day p_day before p_t: the running
-- totals of its latest folded minute of that day before p_t.  Reads the
-- rows of one minute (the day's latest folded one before p_t) and looks up
-- the few customers without a row in it.
CREATE OR REPLACE FUNCTION hb_customer_totals_at(p_day date, p_t timestamptz)
RETURNS TABLE (customer_id text, readings bigint, hr_sum bigint, normal bigint, bradycardia bigint,
               tachycardia bigint, invalid bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH s AS MATERIALIZED (
        SELECT max(minute) AS m FROM hb_fold_minute
        WHERE minute >= hb_utc_day_start(p_day) AND minute < least(p_t, hb_utc_day_start(p_day + 1))
    ), x AS MATERIALIZED (
        -- that minute's rows, by the index on minute
        SELECT * FROM hb_fold_customer_minute WHERE minute = (SELECT m FROM s)
    )
    SELECT d.customer_id,
           coalesce(x.c_readings, y.c_readings, 0), coalesce(x.c_hr_sum, y.c_hr_sum, 0),
           coalesce(x.c_normal, y.c_normal, 0), coalesce(x.c_bradycardia, y.c_bradycardia, 0),
           coalesce(x.c_tachycardia, y.c_tachycardia, 0), coalesce(x.c_invalid, y.c_invalid, 0)
    FROM s
    JOIN hb_customer_day d ON d.day = p_day AND d.first_minute <= s.m
    LEFT JOIN x ON x.customer_id = d.customer_id
    LEFT JOIN LATERAL (
        SELECT q.c_readings, q.c_hr_sum, q.c_normal, q.c_bradycardia, q.c_tachycardia, q.c_invalid
        FROM hb_fold_customer_minute q
        WHERE x.customer_id IS NULL AND q.customer_id = d.customer_id
          AND q.minute >= d.first_minute AND q.minute < s.m
        ORDER BY q.minute DESC LIMIT 1) y ON true
$$;

-- Per customer with a reading in [p_from, p_to) (whole UTC minutes: a
-- minute is in when its start is), exact: valid readings and their
-- heart-rate sum, and the readings per status.  From the running totals at
-- the range's ends in each UTC day it spans, corrected for the pending
-- minutes in the range (their folded figures out, their rows in).
CREATE OR REPLACE FUNCTION hb_customer_sums(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (customer_id text, readings bigint, hr_sum bigint, normal bigint, bradycardia bigint,
               tachycardia bigint, invalid bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH r AS (
        -- the range, within the folded minutes (an open end is fine)
        SELECT greatest(p_from, (SELECT min(minute) FROM hb_fold_minute)) AS lo,
               least(p_to, (SELECT max(minute) FROM hb_fold_minute) + interval '1 minute') AS hi
    ), days AS (
        SELECT d::date AS day
        FROM r, generate_series(hb_utc_day(r.lo), hb_utc_day(r.hi - interval '1 microsecond'), interval '1 day') d
        WHERE r.lo < r.hi
    ), pend AS (
        SELECT DISTINCT minute FROM hb_rollup_pending WHERE minute >= p_from AND minute < p_to
    ), parts AS (
        SELECT t.customer_id, t.readings, t.hr_sum, t.normal, t.bradycardia, t.tachycardia, t.invalid
        FROM days, hb_customer_totals_at(days.day, least(p_to, hb_utc_day_start(days.day + 1))) t
        UNION ALL
        SELECT t.customer_id, -t.readings, -t.hr_sum, -t.normal, -t.bradycardia, -t.tachycardia, -t.invalid
        FROM days, hb_customer_totals_at(days.day, p_from) t
        WHERE p_from > hb_utc_day_start(days.day)
        UNION ALL
        SELECT f.customer_id, -f.readings, -f.hr_sum, -f.normal, -f.bradycardia, -f.tachycardia, -f.invalid
        FROM pend JOIN hb_fold_customer_minute f ON f.minute = pend.minute
        UNION ALL
        SELECT r.customer_id, count(*), sum(r.heart_rate), count(*), 0, 0, 0
        FROM pend JOIN heartbeat_records r ON r.ts >= pend.minute AND r.ts < pend.minute + interval '1 minute'
        GROUP BY 1
        UNION ALL
        SELECT a.customer_id, count(*) FILTER (WHERE a.anomaly_type <> 'INVALID'),
               coalesce(sum(a.heart_rate) FILTER (WHERE a.anomaly_type <> 'INVALID'), 0), 0,
               count(*) FILTER (WHERE a.anomaly_type = 'BRADYCARDIA'),
               count(*) FILTER (WHERE a.anomaly_type = 'TACHYCARDIA'),
               count(*) FILTER (WHERE a.anomaly_type = 'INVALID')
        FROM pend JOIN heartbeat_anomalies a ON a.ts >= pend.minute AND a.ts < pend.minute + interval '1 minute'
        WHERE a.customer_id IS NOT NULL
        GROUP BY 1
    )
    SELECT customer_id, sum(readings)::bigint, sum(hr_sum)::bigint, sum(normal)::bigint,
           sum(bradycardia)::bigint, sum(tachycardia)::bigint, sum(invalid)::bigint
    FROM parts
    GROUP BY customer_id
    HAVING sum(readings) + sum(invalid) > 0
$$;
