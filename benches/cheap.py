#!/usr/bin/env python3
"""Cheap statements and new connections (issue 14): `SELECT 1` round trips
in the simple and the extended protocol, a new connection (login +
close), and one report statement computed and then served again (the
result cache). Against OKO and, with --pg, a PostgreSQL for comparison.
Prints JSON (milliseconds).

    python3 benches/cheap.py --oko "host=127.0.0.1 port=5433 user=admin password=admin dbname=oko" \
        --pg "host=/tmp/pgq port=5439 user=postgres dbname=postgres"
"""

import argparse
import json
import time

import psycopg


def pct(times, p):
    times = sorted(times)
    return round(times[min(len(times) - 1, int(len(times) * p))], 3)


def summary(times):
    return {"p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99), "n": len(times)}


def measure(dsn, n, report, setup=None):
    out = {}
    with psycopg.connect(dsn, autocommit=True) as c:
        if setup:
            c.execute(setup)
        for _ in range(50):  # warm up
            c.execute("SELECT 1").fetchall()
        simple, extended = [], []
        for _ in range(n):
            t = time.perf_counter()
            c.pgconn.exec_(b"SELECT 1")  # simple query protocol
            simple.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            c.execute("SELECT 1").fetchall()  # Parse/Bind/Describe/Execute
            extended.append((time.perf_counter() - t) * 1000)
        out["select1_simple"] = summary(simple)
        out["select1_extended"] = summary(extended)
        if report:
            t = time.perf_counter()
            c.execute(report).fetchall()
            first = (time.perf_counter() - t) * 1000
            again = []
            for _ in range(20):
                t = time.perf_counter()
                c.execute(report).fetchall()
                again.append((time.perf_counter() - t) * 1000)
            out["report_first_ms"] = round(first, 1)
            out["report_again"] = summary(again)
    connects = []
    for _ in range(max(20, n // 20)):
        t = time.perf_counter()
        psycopg.connect(dsn).close()
        connects.append((time.perf_counter() - t) * 1000)
    out["connect"] = summary(connects)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oko", required=True, help="libpq connection string of OKO")
    ap.add_argument("--pg", help="libpq connection string of a PostgreSQL")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument(
        "--report",
        default="SELECT tenant, channel, count(*) AS leads FROM leads GROUP BY 1, 2 ORDER BY 1, 2",
        help="an OKO statement timed once computed, then served again",
    )
    a = ap.parse_args()
    result = {"oko": measure(a.oko, a.n, a.report)}
    # The same session on the planned path: no fast path, no result cache.
    result["oko_planned"] = measure(
        a.oko, a.n, a.report, "SET oko.fast_path = off; SET oko.result_cache = off"
    )
    del result["oko_planned"]["connect"]
    if a.pg:
        result["postgresql"] = measure(a.pg, a.n, None)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
