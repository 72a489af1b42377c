"""Latency of single-row INSERTs over the wire, one client, one statement
at a time (each is acknowledged before the next is sent): what a live
system writing facts one by one sees.

    python3 benches/writes.py --dsn postgresql://admin:admin-pw@127.0.0.1:5433/oko --n 300

The same statements run against OKO and PostgreSQL (benches/writes.sh).
Prints one JSON line per table: p50, p90, p99, max in milliseconds.
"""
import argparse
import json
import statistics
import time
import uuid

import psycopg2


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--tenant", default="t01")
    ap.add_argument("--label", default="oko")
    args = ap.parse_args()
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    run = uuid.uuid4().hex[:8]
    statements = {
        "leads": (
            "INSERT INTO leads (tenant, lead_id, channel, direction, manager_id, client_id, "
            "created_at, answered_at, ended_at) VALUES (%s, %s, 'call', 'in', 'm001', '+79000000000', "
            "now(), now(), now())"
        ),
        "lead_notes": (
            "INSERT INTO lead_notes (tenant, lead_id, tag, comment, author, created_at) "
            "VALUES (%s, %s, 'callback', 'bench', 'admin', now())"
        ),
    }
    for table, sql in statements.items():
        times = []
        for i in range(args.n):
            started = time.perf_counter()
            cur.execute(sql, (args.tenant, f"bench-{run}-{i}"))
            times.append((time.perf_counter() - started) * 1000)
        print(json.dumps({
            "server": args.label,
            "table": table,
            "inserts": args.n,
            "p50_ms": round(statistics.median(times), 2),
            "p90_ms": round(quantile(times, 0.90), 2),
            "p99_ms": round(quantile(times, 0.99), 2),
            "max_ms": round(max(times), 2),
        }), flush=True)


if __name__ == "__main__":
    main()
