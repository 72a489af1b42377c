"""Load generator for the wire benchmark (benches/wire.sh, benches/WIRE.md).

psycopg 3, autocommit, one connection per client, default (extended
protocol, text results) cursors. Latencies are wall-clock round trips on the
client: send the query, fetch every row.

    python3 benches/wire_client.py ping   --dsn DSN [--n 2000]
    python3 benches/wire_client.py query  --dsn DSN --sql SQL [--n 20] [--warmup 2]
    python3 benches/wire_client.py mix    --dsn DSN --server oko|pg [--clients 16]
                                          [--duration 60] [--pids PID,...] [--seed 1]
    python3 benches/wire_client.py rows   --dsn DSN --sql SQL     # print the rows

`mix` replays dashboard-like queries (manager table, summary pies by
channel, contact-centre daily rollup for a month, hourly offered/answered/
missed series for a month) for a random tenant and month; the sequence of
queries is the same for both servers (seeded per client). With --pids it
samples the servers' memory every 0.25 s: the sum of PSS over the given
processes and their children (/proc/PID/smaps_rollup; for PostgreSQL that
is the postmaster and every backend, shared buffers counted once), plus
VmHWM of the first pid (reset through clear_refs at the start, so it is
the run's peak RSS of that process). Prints one JSON object per measurement.
"""

import argparse
import json
import os
import random
import statistics
import threading
import time

import psycopg

TENANTS = ["okna", "dostavka", "klinika"]
# whole months inside the generated data (2024-11-01 + 730 days)
MONTHS = [(2024 + (m // 12), m % 12 + 1) for m in range(11, 11 + 22)]  # 2024-12..2026-09


def month_bounds(y, m):
    ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
    return f"{y:04d}-{m:02d}-01", f"{ny:04d}-{nm:02d}-01"


def mix_sql(server, kind, tenant, f, t):
    if server == "oko":
        return {
            "manager": f"SELECT * FROM manager_report('{f}', '{t}') WHERE tenant = '{tenant}'",
            "summary": f"SELECT channel, leads, requested, rated FROM summary_report('{f}', '{t}') "
            f"WHERE tenant = '{tenant}' AND channel <> 'all' ORDER BY leads DESC",
            "cc_daily": f"SELECT * FROM cc_report('{f}', '{t}', 'day') WHERE tenant = '{tenant}' "
            "ORDER BY period_start, channel",
            "hourly": "SELECT period_start AS time, sum(offered) AS offered, sum(answered) AS answered, "
            f"sum(missed) AS missed FROM cc_hourly WHERE tenant = '{tenant}' "
            f"AND period_start >= '{f}' AND period_start < '{t}' GROUP BY 1 ORDER BY 1",
        }[kind]
    return {
        "manager": f"SELECT * FROM pg_manager_report('{tenant}', '{f}', '{t}')",
        "summary": f"SELECT channel, leads, requested, rated FROM pg_summary_report('{tenant}', '{f}', '{t}') "
        "WHERE channel <> 'all' ORDER BY leads DESC",
        "cc_daily": f"SELECT * FROM pg_cc_report('{tenant}', '{f}', '{t}', 'day') ORDER BY period_start, channel",
        "hourly": "SELECT period_start AS time, sum(offered) AS offered, sum(answered) AS answered, "
        f"sum(missed) AS missed FROM pg_cc_hourly('{tenant}', '{f}', '{t}') GROUP BY 1 ORDER BY 1",
    }[kind]


KINDS = ["manager", "summary", "cc_daily", "hourly"]


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def stats(lat_s):
    ms = [x * 1000 for x in lat_s]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 0.50), 3),
        "p99_ms": round(pct(ms, 0.99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
        "max_ms": round(max(ms), 3) if ms else None,
    }


def connect(dsn):
    return psycopg.connect(dsn, autocommit=True)


def run_once(cur, sql):
    t0 = time.perf_counter()
    cur.execute(sql)
    rows = cur.fetchall() if cur.description else []
    return time.perf_counter() - t0, len(rows)


def cmd_ping(a):
    with connect(a.dsn) as c, c.cursor() as cur:
        for _ in range(50):
            run_once(cur, "SELECT 1")
        lat = [run_once(cur, "SELECT 1")[0] for _ in range(a.n)]
    print(json.dumps({"measure": "select1", **stats(lat)}))


def cmd_query(a):
    with connect(a.dsn) as c, c.cursor() as cur:
        rows = 0
        for _ in range(a.warmup):
            run_once(cur, a.sql)
        lat = []
        for _ in range(a.n):
            dt, rows = run_once(cur, a.sql)
            lat.append(dt)
    print(json.dumps({"measure": "query", "rows": rows, **stats(lat)}))


def cmd_rows(a):
    with connect(a.dsn) as c, c.cursor() as cur:
        cur.execute(a.sql)
        print("|".join(d.name for d in cur.description))
        for r in cur.fetchall():
            print("|".join("NULL" if v is None else (f"{v:.6f}" if isinstance(v, float) else str(v)) for v in r))


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                out.append(int(d))
    return out


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cmd_mix(a):
    pids = [int(p) for p in a.pids.split(",")] if a.pids else []
    stop = threading.Event()
    peak = {"pss_kb": 0, "procs": 0}

    def sampler():
        while not stop.is_set():
            procs = set(pids)
            for p in pids:
                procs.update(children(p))
            total = sum(pss_kb(p) for p in procs)
            if total > peak["pss_kb"]:
                peak["pss_kb"], peak["procs"] = total, len(procs)
            stop.wait(0.25)

    results = []  # (kind, latency_s, ok)
    lock = threading.Lock()
    errors = []
    start_evt = threading.Barrier(a.clients + 1)
    deadline = [0.0]

    def client(i):
        rng = random.Random(a.seed * 1000 + i)
        conn = connect(a.dsn)
        cur = conn.cursor()
        run_once(cur, "SELECT 1")
        start_evt.wait()
        mine = []
        while time.perf_counter() < deadline[0]:
            kind = rng.choice(KINDS)
            tenant = rng.choice(TENANTS)
            f, t = month_bounds(*rng.choice(MONTHS))
            sql = mix_sql(a.server, kind, tenant, f, t)
            try:
                dt, _ = run_once(cur, sql)
                mine.append((kind, dt, time.perf_counter()))
            except Exception as e:  # noqa: BLE001 - recorded, not hidden
                with lock:
                    errors.append(f"{kind}: {e}")
                conn.close()
                conn = connect(a.dsn)
                cur = conn.cursor()
        conn.close()
        with lock:
            results.extend(mine)

    hwm0 = vm_hwm_kb(pids[0]) if pids else None
    if pids:
        try:  # reset the peak RSS (VmHWM) so that it covers this run only
            with open(f"/proc/{pids[0]}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
    sam = threading.Thread(target=sampler, daemon=True)
    if pids:
        sam.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    for th in threads:
        th.start()
    t0 = time.perf_counter()
    deadline[0] = t0 + a.duration
    start_evt.wait()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    stop.set()
    out = {
        "measure": "mix",
        "server": a.server,
        "clients": a.clients,
        "duration_s": round(wall, 1),
        "queries": len(results),
        "qps": round(len(results) / wall, 2),
        "errors": len(errors),
        "first_errors": errors[:3],
        **stats([r[1] for r in results]),
        "by_kind": {k: stats([r[1] for r in results if r[0] == k]) for k in KINDS},
    }
    if pids:
        out["peak_pss_mib"] = round(peak["pss_kb"] / 1024, 1)
        out["peak_pss_procs"] = peak["procs"]
        out["vm_hwm_mib_first_pid"] = round(vm_hwm_kb(pids[0]) / 1024, 1)
        out["vm_hwm_mib_before_reset"] = round(hwm0 / 1024, 1)
    print(json.dumps(out, ensure_ascii=False))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ping")
    p.add_argument("--dsn", required=True)
    p.add_argument("--n", type=int, default=2000)
    p = sub.add_parser("query")
    p.add_argument("--dsn", required=True)
    p.add_argument("--sql", required=True)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p = sub.add_parser("rows")
    p.add_argument("--dsn", required=True)
    p.add_argument("--sql", required=True)
    p = sub.add_parser("mix")
    p.add_argument("--dsn", required=True)
    p.add_argument("--server", choices=["oko", "pg"], required=True)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--pids", default="")
    p.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    {"ping": cmd_ping, "query": cmd_query, "rows": cmd_rows, "mix": cmd_mix}[a.cmd](a)


if __name__ == "__main__":
    main()
