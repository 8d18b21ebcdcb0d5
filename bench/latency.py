#!/usr/bin/env python3
"""latency.py -- where a reading's time goes, from hbsim to a committed row.

    latency.py --label "1,000 readings/s for 30 s" --envelopes ENV.ndjson \
        --tap-sub TAP1.tsv --tap-classify TAP2.tsv

The connection comes from the PG* variables; the server must run with
track_commit_timestamp=on.  For every reading stored (heartbeat_records and
heartbeat_anomalies) it joins six clocks, all on this machine:

  t0  the reading's timestamp: hbsim writes the wall-clock time
  t1  the broker's append time (the topic has message.timestamp.type=
      LogAppendTime; --envelopes is the topic read back with hbkafka-sub -E)
  t2  the line comes out of hbkafka-sub (--tap-sub: bench/latency_tap.c after it)
  t3  the line comes out of hbclassify (--tap-classify: the same after it)
  t4  the loading transaction starts (created_at, now() in it)
  t5  the transaction commits (pg_xact_commit_timestamp(xmin))

and prints one Markdown row: the readings, p50, p99 and max of t5 - t0, then
each stage's mean and its share of the mean total (means add up, medians do
not): produce (hbsim -> hbkafka-pub -> broker: t1 - t0), broker to consumer
(t2 - t1), classify (t3 - t2), batch (hbpgload until the transaction starts:
t4 - t3), load and commit (COPY, rollups, COMMIT with its WAL flush: t5 - t4).
The broker's clock counts milliseconds, so produce and broker-to-consumer
are each +-0.5 ms per reading; their sum is exact.
"""

import argparse
import json
import statistics
import sys

import psycopg2


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[k]


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--label", required=True)
    a.add_argument("--envelopes", required=True)
    a.add_argument("--tap-sub", required=True)
    a.add_argument("--tap-classify", required=True)
    a.add_argument("--worst", type=int, default=0, help="also list the N slowest seconds on stderr")
    o = a.parse_args()

    conn = psycopg2.connect("")
    cur = conn.cursor()
    cur.execute("SET TimeZone = 'UTC'")
    cur.execute("CREATE TEMP TABLE env (p int, o bigint, append_ms bigint, customer_id text, ts timestamptz)")
    cur.execute("CREATE TEMP TABLE tap1 (p int, o bigint, t double precision)")
    cur.execute("CREATE TEMP TABLE tap2 (p int, o bigint, t double precision)")
    rows = []
    with open(o.envelopes) as f:
        for line in f:
            e = json.loads(line)
            v = e.get("value")
            if not isinstance(v, dict) or "timestamp" not in v:
                continue
            rows.append("%d\t%d\t%d\t%s\t%s\n" % (e["partition"], e["offset"], e["timestamp"],
                                                   v["customer_id"], v["timestamp"]))
    import io
    cur.copy_from(io.StringIO("".join(rows)), "env")
    for table, path in (("tap1", o.tap_sub), ("tap2", o.tap_classify)):
        with open(path) as f:
            cur.copy_from(f, table)
    cur.execute("""
        WITH r AS (
            SELECT customer_id, ts, created_at, pg_xact_commit_timestamp(xmin) AS committed
            FROM heartbeat_records
            UNION ALL
            SELECT customer_id, ts, created_at, pg_xact_commit_timestamp(xmin)
            FROM heartbeat_anomalies WHERE ts IS NOT NULL
        )
        SELECT extract(epoch FROM r.ts), e.append_ms / 1000.0, t1.t, t2.t,
               extract(epoch FROM r.created_at), extract(epoch FROM r.committed)
        FROM r
        JOIN env e USING (customer_id, ts)
        JOIN tap1 t1 ON t1.p = e.p AND t1.o = e.o
        JOIN tap2 t2 ON t2.p = e.p AND t2.o = e.o""")
    got = cur.fetchall()
    cur.execute("SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)")
    stored = cur.fetchone()[0]
    if not got:
        raise SystemExit("latency.py: no reading could be followed through all clocks")
    t = [[float(x) for x in g] for g in got]
    total = [(g[5] - g[0]) * 1000 for g in t]
    names = ["produce", "broker to consumer", "classify", "batch", "load and commit"]
    stage = [[(g[i + 1] - g[i]) * 1000 for g in t] for i in range(5)]
    mean_total = statistics.fmean(total)
    shares = ", ".join("%s %.1f ms (%.0f %%)" % (n, statistics.fmean(s), 100 * statistics.fmean(s) / mean_total)
                       for n, s in zip(names, stage))
    if o.worst:
        # the seconds with the slowest readings, and their stages (to stderr)
        by = {}
        for g, tot in zip(t, total):
            by.setdefault(int(g[0]), []).append((tot, g))
        worst = sorted(by.items(), key=lambda kv: -max(x[0] for x in kv[1]))[:o.worst]
        for sec, xs in sorted(worst):
            m = max(xs, key=lambda x: x[0])[1]
            print("  second %d: %d readings, max %.1f ms; its stages %s" % (
                sec - int(t[0][0]), len(xs), max(x[0] for x in xs),
                " ".join("%.1f" % ((m[i + 1] - m[i]) * 1000) for i in range(5))), file=sys.stderr)
    print("| %s | %d of %d stored | %.1f ms | %.1f ms | %.1f ms | %s |" % (
        o.label, len(t), stored, quantile(total, 0.5), quantile(total, 0.99), max(total), shares))


if __name__ == "__main__":
    main()
