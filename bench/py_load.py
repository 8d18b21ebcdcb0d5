#!/usr/bin/env python3
"""bench/py_load.py - the loader people write in Python, for comparison with hbpgload.

Reads hbclassify's NDJSON on stdin and stores it as hbpgload does (NORMAL in
heartbeat_records, the rest in heartbeat_anomalies, ON CONFLICT DO NOTHING):

  --mode row     one INSERT and one commit per row (the typical consumer)
  --mode batch   psycopg2.extras.execute_values, one commit per --batch rows

Connection from the PG* variables.  Prints "rows=N seconds=S rows_per_s=R".
"""
import argparse
import json
import sys
import time

import psycopg2
import psycopg2.extras

REC = ("INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES %s "
       "ON CONFLICT DO NOTHING")
ANOM = ("INSERT INTO heartbeat_anomalies (anomaly_type, customer_id, ts, heart_rate, reason, raw, raw_length) "
        "VALUES %s ON CONFLICT DO NOTHING")


def rows(stream):
    for line in stream:
        try:
            r = json.loads(line)
        except ValueError:
            yield "a", ("INVALID", None, None, None, "not JSON", line.rstrip("\n"), len(line) - 1)
            continue
        st = r.get("status")
        if st == "NORMAL":
            yield "r", (r["customer_id"], r["timestamp"], r["heart_rate"])
        elif st in ("BRADYCARDIA", "TACHYCARDIA"):
            yield "a", (st, r["customer_id"], r["timestamp"], r["heart_rate"], None, None, None)
        else:
            raw = r.get("raw", line.rstrip("\n"))
            yield "a", ("INVALID", None, None, None, r.get("reason"), raw, len(raw.encode()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("row", "batch"), required=True)
    ap.add_argument("--batch", type=int, default=10000)
    a = ap.parse_args()
    conn = psycopg2.connect("")
    cur = conn.cursor()
    n = 0
    t0 = time.monotonic()
    if a.mode == "row":
        for kind, row in rows(sys.stdin):
            psycopg2.extras.execute_values(cur, REC if kind == "r" else ANOM, [row])
            conn.commit()
            n += 1
    else:
        rec, anom = [], []

        def flush():
            if rec:
                psycopg2.extras.execute_values(cur, REC, rec, page_size=1000)
            if anom:
                psycopg2.extras.execute_values(cur, ANOM, anom, page_size=1000)
            conn.commit()
            rec.clear()
            anom.clear()

        for kind, row in rows(sys.stdin):
            (rec if kind == "r" else anom).append(row)
            n += 1
            if len(rec) + len(anom) >= a.batch:
                flush()
        flush()
    s = time.monotonic() - t0
    print("rows=%d seconds=%.3f rows_per_s=%.0f" % (n, s, n / s if s else 0))


if __name__ == "__main__":
    main()
