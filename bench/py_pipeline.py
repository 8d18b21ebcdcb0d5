#!/usr/bin/env python3
"""bench/py_pipeline.py - the consumer pipeline people write in Python
(confluent-kafka + psycopg2), for comparison with hbkafka-sub | hbclassify |
hbpgload: consume, classify (same thresholds), insert a batch with
execute_values, commit the database, then commit the offsets.

  py_pipeline.py --brokers B --topic T --group G --count N [--batch 10000]

Connection from the PG* variables.  Stops after N messages; prints
"rows=N seconds=S rows_per_s=R".
"""
import argparse
import json
import time

import psycopg2
import psycopg2.extras
from confluent_kafka import Consumer

REC = ("INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES %s "
       "ON CONFLICT DO NOTHING")
ANOM = ("INSERT INTO heartbeat_anomalies (anomaly_type, customer_id, ts, heart_rate, reason, raw, raw_length) "
        "VALUES %s ON CONFLICT DO NOTHING")


def classify(value):
    try:
        r = json.loads(value)
        hr, cid, ts = r["heart_rate"], r["customer_id"], r["timestamp"]
        if not isinstance(hr, int) or not isinstance(cid, str) or not isinstance(ts, str) or hr < 1 or hr > 300:
            raise ValueError("invalid")
    except (ValueError, KeyError, TypeError):
        raw = value.decode("utf-8", "replace")
        return "a", ("INVALID", None, None, None, "invalid reading", raw, len(value))
    if hr < 40:
        return "a", ("BRADYCARDIA", cid, ts, hr, None, None, None)
    if hr > 180:
        return "a", ("TACHYCARDIA", cid, ts, hr, None, None, None)
    return "r", (cid, ts, hr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--batch", type=int, default=10000)
    a = ap.parse_args()
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": a.group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.subscribe([a.topic])
    conn = psycopg2.connect("")
    cur = conn.cursor()
    n = 0
    t0 = None
    while n < a.count:
        msgs = c.consume(num_messages=min(a.batch, a.count - n), timeout=1.0)
        if not msgs:
            continue
        if t0 is None:
            t0 = time.monotonic()
        rec, anom = [], []
        for m in msgs:
            if m.error():
                continue
            kind, row = classify(m.value())
            (rec if kind == "r" else anom).append(row)
            n += 1
        if rec:
            psycopg2.extras.execute_values(cur, REC, rec, page_size=1000)
        if anom:
            psycopg2.extras.execute_values(cur, ANOM, anom, page_size=1000)
        conn.commit()
        c.commit(asynchronous=False)
    s = time.monotonic() - t0
    c.close()
    print("rows=%d seconds=%.3f rows_per_s=%.0f" % (n, s, n / s if s else 0))


if __name__ == "__main__":
    main()
