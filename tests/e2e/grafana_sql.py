#!/usr/bin/env python3
"""grafana_sql.py -- expand a Grafana PostgreSQL query the way Grafana does.

    grafana_sql.py --from 2026-11-23T09:59:00Z --to 2026-11-23T10:10:00Z \
        --interval 1m [--var customer=CUST_00001,CUST_00002 ...] [--text NAME=VALUE ...] \
        <raw.sql >plain.sql

Reads a panel's rawSql on stdin, writes SQL that psql can run.  The steps and
their order follow Grafana 10:

1. Dashboard variables (the frontend): $name, ${name}, [[name]], as the SQL
   datasources' interpolateVariable does: a multi-value (or include-all)
   variable, given with --var, becomes its values quoted as SQL literals and
   joined with commas, so `customer_id IN ($customer)` works; a single-value
   one, given with --text, goes in as it is, with its quotes doubled.
2. Global variables (frontend and sqleng.Interpolate): $__interval_ms before
   $__interval, $__unixEpochFrom(), $__unixEpochTo(), $__from, $__to, $__range*.
3. Macros (pkg/tsdb/grafana-postgresql-datasource/macros.go), matched as
   Grafana matches them, $name(args without a closing parenthesis):
     $__time(c)                 c AS "time"
     $__timeEpoch(c)            extract(epoch from c) as "time"
     $__timeFilter(c)           c BETWEEN '<from>' AND '<to>'
     $__timeFrom(), $__timeTo() '<from>', '<to>'
     $__timeGroup(c, '1m'[, fill])       floor(extract(epoch from c)/60)*60
     $__timeGroupAlias(c, '1m'[, fill])  the same AS "time"
     $__unixEpochFilter(c), $__unixEpochGroup(c, '1m'), ...Alias
   Times are RFC 3339 in UTC.  A $__timeGroup directly followed by a comma is
   $__timeGroupAlias, as Grafana keeps it for pre-5.3 dashboards.

Anything left that looks like a variable or macro is an error (exit 1), so a
dashboard cannot use something this script (and so the test) does not check.
"""

import argparse
import datetime
import re
import sys

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def fail(msg):
    sys.stderr.write("grafana_sql.py: %s\n" % msg)
    sys.exit(1)


def parse_time(text):
    try:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail("bad time %r (want RFC 3339, e.g. 2026-11-23T10:00:00Z)" % text)
    if t.tzinfo is None:
        fail("time %r has no zone" % text)
    return t.astimezone(datetime.timezone.utc)


def rfc3339(t):
    """Go's time.RFC3339Nano in UTC: no fraction when it is zero, Z for the zone."""
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += (".%06d" % t.microsecond).rstrip("0")
    return s + "Z"


def seconds(interval):
    """gtime.ParseInterval: '1m', '30s', '100ms' (quotes allowed)."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|y)", interval.strip().strip("'"))
    if not m:
        fail("error parsing interval %s" % interval)
    return int(m.group(1)) * UNITS[m.group(2)]


def number(x):
    """A number as Go's %v prints it for these values: 60, 0.5."""
    return str(int(x)) if x == int(x) else repr(x)


def quote_literal(value):
    return "'" + value.replace("'", "''") + "'"


def expand_variables(sql, variables):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name.startswith("__"):
            return m.group(0)  # a global variable or a macro: later steps
        if name not in variables:
            fail("unknown dashboard variable $%s (give it with --var or --text)" % name)
        value = variables[name]
        if isinstance(value, str):
            return value.replace("'", "''")
        return ",".join(quote_literal(v) for v in value)

    return re.sub(r"\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]", repl, sql)


def expand_globals(sql, t_from, t_to, interval):
    secs = seconds(interval)
    rng = int((t_to - t_from).total_seconds())
    ms = lambda t: str(int(t.timestamp() * 1000))  # noqa: E731
    for name, value in (
        ("$__interval_ms", str(int(secs * 1000))),
        ("${__interval_ms}", str(int(secs * 1000))),
        ("$__interval", interval),
        ("${__interval}", interval),
        ("$__unixEpochFrom()", str(int(t_from.timestamp()))),
        ("$__unixEpochTo()", str(int(t_to.timestamp()))),
        ("$__range_ms", str(rng * 1000)),
        ("$__range_s", str(rng)),
        ("$__range", "%ds" % rng),
        ("$__from", ms(t_from)),
        ("$__to", ms(t_to)),
    ):
        sql = sql.replace(name, value)
    return sql


def expand_macros(sql, t_from, t_to):
    f, t = rfc3339(t_from), rfc3339(t_to)

    def macro(name, args):
        col = args[0] if args and args[0] else None
        if name in ("__time", "__timeEpoch", "__timeFilter", "__unixEpochFilter",
                    "__timeGroup", "__timeGroupAlias", "__unixEpochGroup",
                    "__unixEpochGroupAlias") and col is None:
            fail("missing time column argument for macro $%s" % name)
        if name == "__time":
            return '%s AS "time"' % col
        if name == "__timeEpoch":
            return 'extract(epoch from %s) as "time"' % col
        if name == "__timeFilter":
            return "%s BETWEEN '%s' AND '%s'" % (col, f, t)
        if name == "__timeFrom":
            return "'%s'" % f
        if name == "__timeTo":
            return "'%s'" % t
        if name == "__unixEpochFilter":
            return "%s >= %d AND %s <= %d" % (col, t_from.timestamp(), col, t_to.timestamp())
        if name in ("__timeGroup", "__timeGroupAlias", "__unixEpochGroup", "__unixEpochGroupAlias"):
            if len(args) < 2:
                fail("macro $%s needs a time column and an interval" % name)
            s = number(seconds(args[1]))
            if name.startswith("__timeGroup"):
                expr = "floor(extract(epoch from %s)/%s)*%s" % (col, s, s)
            else:
                expr = "floor((%s)/%s)*%s" % (col, s, s)
            return expr + (' AS "time"' if name.endswith("Alias") else "")
        fail("unknown macro $%s" % name)
        return None

    def repl(m):
        name = m.group(1)
        if name == "__timeGroup" and sql[m.end():m.end() + 1] == ",":
            name = "__timeGroupAlias"
        args = [a.strip(" ") for a in m.group(2).split(",")]
        return macro(name, args)

    return re.sub(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)", repl, sql)


def main():
    p = argparse.ArgumentParser(description="Expand Grafana's PostgreSQL macros and variables.")
    p.add_argument("--from", dest="t_from", required=True, help="start of the time range (RFC 3339)")
    p.add_argument("--to", dest="t_to", required=True, help="end of the time range (RFC 3339)")
    p.add_argument("--interval", default="1m", help="$__interval (default 1m)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=V1,V2",
                   help="a multi-value dashboard variable and its selected values")
    p.add_argument("--text", action="append", default=[], metavar="NAME=VALUE",
                   help="a single-value dashboard variable and its value")
    a = p.parse_args()

    variables = {}
    for v in a.var + a.text:
        name, sep, values = v.partition("=")
        if not sep or not re.fullmatch(r"\w+", name):
            fail("bad variable %r (want NAME=V1,V2 or NAME=VALUE)" % v)
        if v in a.text:
            variables[name] = values
        else:
            variables[name] = values.split(",") if values else []
    t_from, t_to = parse_time(a.t_from), parse_time(a.t_to)
    seconds(a.interval)

    sql = sys.stdin.read()
    sql = expand_variables(sql, variables)
    sql = expand_globals(sql, t_from, t_to, a.interval)
    sql = expand_macros(sql, t_from, t_to)
    left = re.search(r"\$\{?[A-Za-z_]\w*|\[\[\w+\]\]", sql)
    if left:
        fail("not expanded: %s" % left.group(0))
    sys.stdout.write(sql.rstrip().rstrip(";").rstrip() + "\n")


if __name__ == "__main__":
    main()
