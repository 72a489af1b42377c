#!/usr/bin/env python3
"""64 connections mixing reads, inserts and moderation against `oko serve`.

Usage: python3 benches/soak.py --port 5433 --pid <server pid> [--clients 64]
       [--seconds 180] [--password-of USER=PW ...]

Each client logs in (admin, moderator or viewer, round robin), then loops:
viewers run dashboard queries, moderators moderate a rating and add a lead
note, admins insert a lead. Every acknowledged write is remembered and
counted in the store at the end; the server's resident memory is sampled
from /proc every 5 s. Prints one JSON object with the figures.
"""

import argparse
import json
import random
import threading
import time

import psycopg2

READS = [
    "SELECT tenant, count(*) FROM leads GROUP BY 1",
    "SELECT * FROM summary_report('2026-01-01', '2026-02-01') WHERE tenant = 'okna'",
    "SELECT * FROM manager_report('2026-01-01', '2026-02-01') WHERE tenant = 'klinika'",
    "SELECT * FROM cc_report('2026-01-01', '2026-02-01', 'day') WHERE tenant = 'dostavka'",
    "SELECT status, count(*) FROM ratings_effective GROUP BY 1",
]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=int, default=180)
    ap.add_argument("--users", default="admin:admin-pw,mod:mod-pw,viewer:viewer-pw")
    args = ap.parse_args()
    users = [u.split(":", 1) for u in args.users.split(",")]
    kinds = {"admin": "admin", "mod": "moderator", "viewer": "viewer"}

    def connect(user, pw):
        return psycopg2.connect(host=args.host, port=args.port, user=user,
                                password=pw, dbname="oko")

    setup = connect(*users[0])
    setup.autocommit = True
    with setup.cursor() as c:
        c.execute("SELECT tenant, rating_id FROM ratings WHERE score BETWEEN 1 AND 5 LIMIT 500")
        ratings = c.fetchall()
        c.execute("SELECT count(*) FROM lead_notes")
        notes_before = c.fetchone()[0]
        c.execute("SELECT count(*) FROM leads")
        leads_before = c.fetchone()[0]
        c.execute("SELECT count(*) FROM rating_moderations")
        mods_before = c.fetchone()[0]

    stop = time.monotonic() + args.seconds
    lock = threading.Lock()
    stats = {"reads": 0, "leads": 0, "notes": 0, "moderations": 0, "errors": [],
             "latencies": []}

    def client(i):
        user, pw = users[i % len(users)]
        kind = kinds.get(user, "viewer")
        rng = random.Random(i)
        try:
            conn = connect(user, pw)
            conn.autocommit = True
            cur = conn.cursor()
        except Exception as e:  # noqa: BLE001
            with lock:
                stats["errors"].append(f"connect {user}: {e}")
            return
        n = 0
        while time.monotonic() < stop:
            n += 1
            t0 = time.monotonic()
            try:
                if kind == "viewer":
                    cur.execute(rng.choice(READS))
                    cur.fetchall()
                    key = "reads"
                elif kind == "moderator":
                    tenant, rating = rng.choice(ratings)
                    if n % 2:
                        cur.execute(
                            "INSERT INTO rating_moderations (tenant, rating_id, new_score, reason) "
                            "VALUES (%s, %s, %s, 'soak')", (tenant, rating, rng.randint(1, 5)))
                        key = "moderations"
                    else:
                        cur.execute(
                            "INSERT INTO lead_notes (tenant, lead_id, comment) VALUES (%s, %s, 'soak')",
                            (tenant, f"SOAK-{i}-{n}"))
                        key = "notes"
                else:
                    cur.execute(
                        "INSERT INTO leads (tenant, lead_id, channel, direction, created_at) "
                        "VALUES ('okna', %s, 'chat', 'in', now())", (f"SOAK-{i}-{n}",))
                    key = "leads"
                with lock:
                    stats[key] += 1
                    stats["latencies"].append(time.monotonic() - t0)
                    stats.setdefault("by_kind", {}).setdefault(key, []).append(
                        time.monotonic() - t0)
            except Exception as e:  # noqa: BLE001
                with lock:
                    stats["errors"].append(f"{user}: {e}".strip()[:300])
                time.sleep(0.05)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    samples = []
    while any(t.is_alive() for t in threads):
        samples.append(rss_kib(args.pid))
        time.sleep(5)
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    with setup.cursor() as c:
        c.execute("SELECT count(*) FROM lead_notes")
        notes = c.fetchone()[0] - notes_before
        c.execute("SELECT count(*) FROM leads")
        leads = c.fetchone()[0] - leads_before
        c.execute("SELECT count(*) FROM rating_moderations")
        mods = c.fetchone()[0] - mods_before
    lat = sorted(stats["latencies"])

    def pct(p, xs=None):
        xs = lat if xs is None else sorted(xs)
        return round(xs[min(len(xs) - 1, int(p * len(xs)))] * 1000, 1) if xs else None

    third = max(1, len(samples) // 3)
    out = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "reads": stats["reads"],
        "acknowledged": {"leads": stats["leads"], "notes": stats["notes"],
                         "moderations": stats["moderations"]},
        "found_in_store": {"leads": leads, "notes": notes, "moderations": mods},
        "lost_writes": (stats["leads"] - leads) + (stats["notes"] - notes)
        + (stats["moderations"] - mods),
        "errors": len(stats["errors"]),
        "first_errors": stats["errors"][:5],
        "ops_per_s": round(len(lat) / elapsed, 1),
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99)},
        "latency_ms_by_kind": {
            k: {"p50": pct(0.5, v), "p99": pct(0.99, v)}
            for k, v in sorted(stats.get("by_kind", {}).items())
        },
        "rss_mib": {
            "first_third_max": round(max(samples[:third]) / 1024) if samples else None,
            "last_third_max": round(max(samples[-third:]) / 1024) if samples else None,
            "peak": round(max(samples) / 1024) if samples else None,
        },
    }
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
