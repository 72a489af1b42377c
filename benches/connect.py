#!/usr/bin/env python3
"""Connection setup time: login + `SELECT 1` + close, for a trusted-free
SCRAM user, a tenant-bound user's first connection (its catalog is built)
and its later ones. Prints JSON (milliseconds)."""

import argparse
import json
import time

import psycopg2


def once(port, user, pw):
    t0 = time.perf_counter()
    c = psycopg2.connect(host="127.0.0.1", port=port, user=user, password=pw, dbname="oko")
    cur = c.cursor()
    cur.execute("SELECT 1")
    cur.fetchall()
    c.close()
    return (time.perf_counter() - t0) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=50)
    a = ap.parse_args()
    first_tenant = once(a.port, "okna_viewer", "okna_viewer-pw")
    out = {"tenant_first_connection_ms": round(first_tenant, 1)}
    for user in ["viewer", "okna_viewer"]:
        times = sorted(once(a.port, user, f"{user}-pw") for _ in range(a.n))
        out[user] = {"p50_ms": round(times[len(times) // 2], 1),
                     "p99_ms": round(times[int(len(times) * 0.99) - 1], 1)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
