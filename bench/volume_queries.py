#!/usr/bin/env python3
"""volume_queries.py -- time the dashboard's and the report's queries for the
last hour and the last day, against the rows (before: what the panels and
hb-report ran until the rollups came) and as they are now (after).

    volume_queries.py --dashboard grafana/dashboards/hbmon.json --to 2026-12-01T12:00:00Z \
        --customers CUST_00001,CUST_00002,CUST_00003 [--runs 5]

The connection comes from the PG* variables.  Each query runs --runs times
(the first warms the cache) and the median of the rest is printed in ms; the
table is Markdown.  "after" is each panel's rawSql from the dashboard JSON,
expanded as Grafana expands it (tests/e2e/grafana_sql.py), plus hb-report's
queries on the rollups; "before" is the same question asked of the raw rows,
as the panels and hb-report asked it before the rollups.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import grafana_sql  # noqa: E402

# The raw-row versions, by the panel title (or report query) they answer.
# :f and :t are the range, :bucket seconds, :cust the customers.
RAW = {
    "Fleet average BPM": """
SELECT floor(extract(epoch FROM ts) / 60) * 60 AS time, round(avg(heart_rate), 1)
FROM (SELECT ts, heart_rate FROM heartbeat_records WHERE ts BETWEEN %(f)s AND %(t)s
      UNION ALL
      SELECT ts, heart_rate FROM heartbeat_anomalies
      WHERE ts BETWEEN %(f)s AND %(t)s AND anomaly_type <> 'INVALID') r
GROUP BY 1 ORDER BY 1""",
    "BPM per customer": """
SELECT floor(extract(epoch FROM ts) / 60) * 60 AS time, customer_id, round(avg(heart_rate), 1)
FROM (SELECT ts, customer_id, heart_rate FROM heartbeat_records
      WHERE ts BETWEEN %(f)s AND %(t)s AND customer_id = ANY(%(cust)s)
      UNION ALL
      SELECT ts, customer_id, heart_rate FROM heartbeat_anomalies
      WHERE ts BETWEEN %(f)s AND %(t)s AND anomaly_type <> 'INVALID' AND customer_id = ANY(%(cust)s)) r
GROUP BY 1, 2 ORDER BY 1, 2""",
    "Readings per second": """
SELECT floor(extract(epoch FROM ts) / 60) * 60 AS time, count(*) / 60.0
FROM (SELECT ts FROM heartbeat_records WHERE ts BETWEEN %(f)s AND %(t)s
      UNION ALL
      SELECT ts FROM heartbeat_anomalies WHERE ts BETWEEN %(f)s AND %(t)s) r
GROUP BY 1 ORDER BY 1""",
    "Anomalies by type": """
SELECT floor(extract(epoch FROM ts) / 60) * 60 AS time, anomaly_type, count(*)
FROM heartbeat_anomalies WHERE ts BETWEEN %(f)s AND %(t)s
GROUP BY 1, 2 ORDER BY 1, 2""",
    "Anomaly share by type": """
SELECT anomaly_type, count(*) FROM heartbeat_anomalies WHERE ts BETWEEN %(f)s AND %(t)s
GROUP BY 1 ORDER BY 1""",
    "report: per-status counts": """
SELECT (SELECT count(*) FROM heartbeat_records WHERE ts >= %(f)s AND ts < %(t)s),
       (SELECT count(*) FILTER (WHERE anomaly_type = 'BRADYCARDIA') FROM heartbeat_anomalies
        WHERE ts >= %(f)s AND ts < %(t)s)""",
    "report: customers in range": """
SELECT count(*) FROM (SELECT customer_id FROM heartbeat_records WHERE ts >= %(f)s AND ts < %(t)s
                      UNION
                      SELECT customer_id FROM heartbeat_anomalies
                      WHERE ts >= %(f)s AND ts < %(t)s AND customer_id IS NOT NULL) u""",
    "report: top customers by anomalies": """
SELECT customer_id, count(*) FROM heartbeat_anomalies WHERE ts >= %(f)s AND ts < %(t)s
  AND customer_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5""",
    "report: the charted customers' figures": """
SELECT customer_id, count(*) FILTER (WHERE anomaly_type IS NOT NULL), avg(heart_rate), min(heart_rate),
       max(heart_rate) FROM (
    SELECT customer_id, NULL AS anomaly_type, heart_rate FROM heartbeat_records
    WHERE ts >= %(f)s AND ts < %(t)s AND customer_id = ANY(%(cust)s)
    UNION ALL
    SELECT customer_id, anomaly_type, heart_rate FROM heartbeat_anomalies
    WHERE ts >= %(f)s AND ts < %(t)s AND customer_id = ANY(%(cust)s)) r
GROUP BY 1""",
    "report: heart-rate distribution": """
SELECT heart_rate, count(*) FROM (
    SELECT heart_rate FROM heartbeat_records WHERE ts >= %(f)s AND ts < %(t)s
    UNION ALL
    SELECT heart_rate FROM heartbeat_anomalies WHERE anomaly_type <> 'INVALID' AND ts >= %(f)s AND ts < %(t)s) r
GROUP BY 1 ORDER BY 1""",
    "report: fleet per bucket with p5/p95": """
SELECT date_bin(make_interval(secs => %(bucket)s), ts, timestamptz '2000-01-01 00:00') AS g, avg(heart_rate),
       min(heart_rate), max(heart_rate),
       percentile_cont(ARRAY[0.05, 0.95]) WITHIN GROUP (ORDER BY heart_rate), count(*)
FROM (SELECT ts, heart_rate FROM heartbeat_records WHERE ts >= %(f)s AND ts < %(t)s
      UNION ALL
      SELECT ts, heart_rate FROM heartbeat_anomalies
      WHERE anomaly_type <> 'INVALID' AND ts >= %(f)s AND ts < %(t)s) r
GROUP BY 1 ORDER BY 1""",
}

# hb-report's queries: the functions of sql/030_report.sql it calls.
REPORT = {
    "report: per-status counts": """
SELECT readings, normal, bradycardia FROM hb_report_status(%(f)s, %(t)s)""",
    "report: customers in range": """
SELECT customers FROM hb_report_span(%(f)s, %(t)s)""",
    "report: top customers by anomalies": """
SELECT customer_id, anomalies FROM hb_report_customers(%(f)s, %(t)s)
WHERE anomalies > 0 ORDER BY anomalies DESC, customer_id LIMIT 5""",
    "report: the charted customers' figures": """
SELECT v.customer_id, v.readings, v.anomalies, v.avg_bpm, v.min_bpm, v.max_bpm
FROM hb_report_customers(%(f)s, %(t)s) v WHERE v.customer_id = ANY(%(cust)s)""",
    "report: heart-rate distribution": """
SELECT heart_rate, readings FROM hb_report_distribution(%(f)s, %(t)s)""",
    "report: fleet per bucket with p5/p95": """
SELECT * FROM hb_report_fleet(%(f)s, %(t)s, %(bucket)s)""",
}


def timed(cur, sql, params, runs):
    times = []
    rows = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        cur.execute(sql, params)
        rows = len(cur.fetchall())
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times[1:] if len(times) > 1 else times), rows


def fmt(ms):
    return "%.1f ms" % ms if ms < 1000 else "%.2f s" % (ms / 1000)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dashboard", required=True)
    p.add_argument("--to", required=True, help="end of both ranges (RFC 3339, UTC)")
    p.add_argument("--customers", default="CUST_00001,CUST_00002,CUST_00003")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--raw-runs", type=int, default=2)
    a = p.parse_args()

    t_to = grafana_sql.parse_time(a.to)
    ranges = [("hour", t_to - datetime.timedelta(hours=1), 300),
              ("day", t_to - datetime.timedelta(days=1), 300)]
    cust = a.customers.split(",")
    dash = json.load(open(a.dashboard))
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET TimeZone = 'UTC'")

    panels = []
    for pn in dash["panels"]:
        for tg in pn.get("targets", []):
            if tg.get("rawSql"):
                panels.append((pn["title"], tg["rawSql"]))
    variables = {"customer": cust}
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") in ("textbox", "constant", "custom"):
            # a single value (brady, tachy): its default
            variables[v["name"]] = str(v.get("current", {}).get("value", v.get("query", "")))
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("rawSql")
        if q:
            panels.append(("variable $" + v["name"], q))

    results = {}  # name -> {range: (before, after, rows)}
    for rname, t_from, bucket in ranges:
        params = {"f": t_from, "t": t_to, "cust": cust, "bucket": bucket}
        for title, raw in panels:
            sql = grafana_sql.expand_variables(raw, variables)
            sql = grafana_sql.expand_globals(sql, t_from, t_to, "1m")
            sql = grafana_sql.expand_macros(sql, t_from, t_to)
            after, rows = timed(cur, sql, None, a.runs)
            before = None
            if title in RAW:
                before, _ = timed(cur, RAW[title], params, a.raw_runs)
            results.setdefault(title, {})[rname] = (before, after, rows)
        for title, sql in REPORT.items():
            after, rows = timed(cur, sql, params, a.runs)
            before, _ = timed(cur, RAW[title], params, a.raw_runs)
            results.setdefault(title, {})[rname] = (before, after, rows)

    print("| query | last hour: rows | last hour: rollups | last day: rows | last day: rollups |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for title, r in results.items():
        cells = []
        for rname, _, _ in ranges:
            before, after, rows = r[rname]
            worst = max(worst, after)
            cells.append(fmt(before) if before is not None else "(same query)")
            cells.append("%s (%d rows)" % (fmt(after), rows))
        print("| %s | %s |" % (title, " | ".join(cells)))
    print()
    print("slowest query now: %s (goal: under 100 ms)" % fmt(worst))


if __name__ == "__main__":
    main()
