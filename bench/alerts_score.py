#!/usr/bin/env python3
"""bench/alerts_score.py — score hbclassify's alert events against hbsim --truth.

    alerts_score.py --truth T.ndjson --alerts A.ndjson --customers N --hours H \
        --silence S --brady-readings N --tachy-readings N
    alerts_score.py --self-test

Truth (hbsim --truth): BRADYCARDIA, TACHYCARDIA, SILENCE, SHIFT events with
start/end.  Alerts (hbclassify --alerts, SPEC-alerts section 1): open/close
events of BRADYCARDIA, TACHYCARDIA, SILENCE, DEVIATION; SHIFT is scored
against DEVIATION.  Times are the readings' own (reading time).

An injected event is detected when an open of the matching type for the same
customer has its "at" between the event's start and its end plus a grace
(SILENCE: the silence threshold + 5 s, DEVIATION: 5 min, else 60 s), or when
an alert of that type is already open at the event's start (it covers it;
such events count as detected but give no delay).  Recall counts episodes of
at least --min-episode readings, silences of at least 2x the threshold,
shifts starting after hbclassify's baseline warmup (--warmup after --start);
never events cut by the end of the output.  Precision: the opens
whose "at" falls in such a window of any injected event of the type (short
and cut ones included), over all opens of the type.  Delay: the open's "at"
minus the event's start, over the detected events counted for recall.

Prints a Markdown table on stdout.  Standard library only.
"""
import argparse
import bisect
import json
import sys
from datetime import datetime, timezone

TYPES = [("BRADYCARDIA", "BRADYCARDIA"), ("TACHYCARDIA", "TACHYCARDIA"),
         ("SILENCE", "SILENCE"), ("SHIFT", "DEVIATION")]
INF = float("inf")


def secs(ts):
    """RFC 3339 (as our tools write it) to seconds since the epoch."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def read_ndjson(path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except ValueError as e:
                    sys.exit("alerts_score: %s:%d: not JSON: %s" % (path, n, e))


def load_truth(objs):
    """{type: {customer: [(start, end, readings, cut)]}} sorted by start."""
    out = {}
    for o in objs:
        ev = (secs(o["start"]), secs(o["end"]), o.get("readings", 0), bool(o.get("cut")))
        out.setdefault(o["truth"], {}).setdefault(o["customer_id"], []).append(ev)
    for by_cust in out.values():
        for evs in by_cust.values():
            evs.sort()
    return out


def load_alerts(objs):
    """{alert: {customer: ([open at], [(open at, close at or INF)])}}."""
    opens, closes, bad = {}, {}, 0
    for o in objs:
        if "state" not in o:
            bad += 1
            continue
        key = (o["alert"], o["customer_id"], o["start"])
        if o["state"] == "open":
            opens[key] = secs(o["at"])
        elif o["state"] == "close":
            closes[key] = secs(o["at"])
    if bad and not opens:
        sys.exit("alerts_score: the alerts have no \"state\": not the open/close events of "
                 "SPEC-alerts section 1 (an older hbclassify?)")
    out = {}
    for (alert, cust, _), at in opens.items():
        ent = out.setdefault(alert, {}).setdefault(cust, ([], []))
        ent[0].append(at)
        ent[1].append((at, closes.get((alert, cust, _), INF)))
    for by_cust in out.values():
        for ats, spans in by_cust.values():
            ats.sort()
            spans.sort()
    return out


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def score_type(truth, alerts, grace, counts_for_recall):
    """One alert type: the figures of one table row."""
    r = {"injected": 0, "scored": 0, "detected": 0, "covered": 0, "opens": 0, "matched": 0,
         "delays": []}
    for cust, evs in truth.items():
        ats, spans = alerts.get(cust, ([], []))
        for start, end, readings, cut in evs:
            r["injected"] += 1
            if cut or not counts_for_recall(start, end, readings):
                continue
            r["scored"] += 1
            i = bisect.bisect_left(ats, start)
            if i < len(ats) and ats[i] <= end + grace:
                r["detected"] += 1
                r["delays"].append(ats[i] - start)
            elif any(a < start <= c for a, c in spans):
                r["detected"] += 1
                r["covered"] += 1
    for cust, (ats, _) in alerts.items():
        evs = truth.get(cust, [])
        starts = [e[0] for e in evs]
        for at in ats:
            r["opens"] += 1
            # the events that started at or before it: does one reach it?
            k = bisect.bisect_right(starts, at)
            if any(evs[j][1] + grace >= at for j in range(max(0, k - 3), k)):
                r["matched"] += 1
    return r


def fmt_pct(a, b):
    return "—" if b == 0 else "%.2f%%" % (100.0 * a / b)


def fmt_s(x):
    return "—" if x is None else ("%.1f s" % x if x < 600 else "%.1f min" % (x / 60))


def table(truth, alerts, a):
    cust_days = a.customers * a.hours / 24.0
    graces = {"BRADYCARDIA": 60, "TACHYCARDIA": 60, "SILENCE": a.silence + 5, "DEVIATION": 300}
    rules = {
        "BRADYCARDIA": lambda s, e, n: n >= a.min_episode,
        "TACHYCARDIA": lambda s, e, n: n >= a.min_episode,
        "SILENCE": lambda s, e, n: e - s >= 2 * a.silence,
        "DEVIATION": lambda s, e, n: a.start is None or s >= secs(a.start) + a.warmup,
    }
    per_reading = {"BRADYCARDIA": a.brady_readings, "TACHYCARDIA": a.tachy_readings}
    rows, all_opens = [], 0
    print("| alert (injected as) | injected | counted for recall | detected | recall | opens "
          "| precision | delay p50 | delay p95 | opens per customer-day "
          "| anomalous readings per customer-day | goals | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for tname, aname in TYPES:
        r = score_type(truth.get(tname, {}), alerts.get(aname, {}), graces[aname], rules[aname])
        all_opens += r["opens"]
        rec = r["detected"] / r["scored"] if r["scored"] else None
        prec = r["matched"] / r["opens"] if r["opens"] else None
        p50, p95 = pct(r["delays"], 50), pct(r["delays"], 95)
        goals, met = ["recall ≥ 99%", "precision ≥ 95%"], []
        met.append(rec is not None and rec >= 0.99)
        met.append(prec is not None and prec >= 0.95)
        if aname == "SILENCE":
            goals.append("delay ≤ %g s" % (a.silence + 2))
            met.append(p95 is not None and p95 <= a.silence + 2)
        elif aname == "DEVIATION":
            goals.append("delay ≤ 5 min")
            met.append(p95 is not None and p95 <= 300)
        anom = "—"
        if aname in per_reading:
            anom = "%.1f" % (per_reading[aname] / cust_days)
            goals.append("≥ 10× fewer alerts than readings")
            met.append(r["opens"] * 10 <= per_reading[aname])
        name = aname if tname == aname else "%s (%s)" % (aname, tname)
        print("| %s | %d | %d | %d%s | %s | %d | %s | %s | %s | %.2f | %s | %s | %s |" % (
            name, r["injected"], r["scored"], r["detected"],
            " (%d already open)" % r["covered"] if r["covered"] else "",
            fmt_pct(r["detected"], r["scored"]), r["opens"], fmt_pct(r["matched"], r["opens"]),
            fmt_s(p50), fmt_s(p95), r["opens"] / cust_days, anom, ", ".join(goals),
            "yes" if all(met) else "**no**"))
        rows.append(r)
    anom_all = a.brady_readings + a.tachy_readings
    print("| all alerts vs per-reading warnings | | | | | %d | | | | %.2f | %.1f | ≥ 10× fewer | %s |" % (
        all_opens, all_opens / cust_days, anom_all / cust_days,
        "yes (%.0f×)" % (anom_all / all_opens) if all_opens and all_opens * 10 <= anom_all
        else "**no**"))
    return rows


def self_test():
    """A hand-made truth and alert stream with known figures."""
    t0 = 1795392000.0  # 2026-11-23T00:00:00Z

    def ts(x):
        return datetime.fromtimestamp(t0 + x, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    truth = [
        {"truth": "TACHYCARDIA", "customer_id": "C1", "start": ts(10), "end": ts(30), "readings": 21},
        {"truth": "TACHYCARDIA", "customer_id": "C1", "start": ts(100), "end": ts(105), "readings": 6},
        {"truth": "BRADYCARDIA", "customer_id": "C2", "start": ts(10), "end": ts(20), "readings": 11},
        {"truth": "SILENCE", "customer_id": "C2", "start": ts(200), "end": ts(260), "readings": 60},
        {"truth": "SILENCE", "customer_id": "C3", "start": ts(200), "end": ts(205), "readings": 5},
        {"truth": "SHIFT", "customer_id": "C3", "start": ts(1000), "end": ts(2000), "readings": 1000},
        {"truth": "SHIFT", "customer_id": "C1", "start": ts(3000), "end": ts(3700), "readings": 700,
         "cut": True},
    ]
    ev = [
        ("TACHYCARDIA", "C1", 10, "open", 12), ("TACHYCARDIA", "C1", 10, "close", 40),
        ("TACHYCARDIA", "C1", 500, "open", 502),                      # false
        ("BRADYCARDIA", "C2", 10, "open", 12),
        ("SILENCE", "C2", 199, "open", 209), ("SILENCE", "C2", 199, "close", 260),
        ("DEVIATION", "C3", 1000, "open", 1120),
        ("DEVIATION", "C2", 5000, "open", 5100),                      # false
    ]
    alerts = [{"alert": a, "state": s, "customer_id": c, "start": ts(st), "at": ts(at)}
              for a, c, st, s, at in ev]
    args = argparse.Namespace(customers=3, hours=24.0, silence=10.0, min_episode=8,
                              brady_readings=11, tachy_readings=27, warmup=600.0, start=ts(0))
    rows = table(load_truth(truth), load_alerts(alerts), args)
    want = [  # injected, scored, detected, opens, matched, delays
        (1, 1, 1, 1, 1, [2.0]), (2, 1, 1, 2, 1, [2.0]), (2, 1, 1, 1, 1, [9.0]),
        (2, 1, 1, 2, 1, [120.0])]
    for r, w in zip(rows, want):
        got = (r["injected"], r["scored"], r["detected"], r["opens"], r["matched"], r["delays"])
        if got != w:
            sys.exit("alerts_score: self-test failed: %r, want %r" % (got, w))
    print("alerts_score: self-test ok")


def main():
    ap = argparse.ArgumentParser(description="score alert events against hbsim --truth")
    ap.add_argument("--truth")
    ap.add_argument("--alerts")
    ap.add_argument("--customers", type=int)
    ap.add_argument("--hours", type=float)
    ap.add_argument("--silence", type=float, default=10.0, help="hbclassify's silence threshold, s")
    ap.add_argument("--min-episode", type=int, default=8)
    ap.add_argument("--warmup", type=float, default=0.0,
                    help="hbclassify's baseline warmup, s: shifts starting within it after --start "
                         "are not counted for DEVIATION recall (no baseline to depart from yet)")
    ap.add_argument("--start", default=None, help="the first reading time (RFC 3339)")
    ap.add_argument("--brady-readings", type=int, default=0)
    ap.add_argument("--tachy-readings", type=int, default=0)
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not (a.truth and a.alerts and a.customers and a.hours):
        ap.error("--truth, --alerts, --customers and --hours are needed")
    table(load_truth(read_ndjson(a.truth)), load_alerts(read_ndjson(a.alerts)), a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
