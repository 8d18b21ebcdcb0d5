-- 015_alerts.sql — alerts and the alert engine's stored states, and the
-- functions that alone write them.  Idempotent.

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
