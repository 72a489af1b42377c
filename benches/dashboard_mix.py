#!/usr/bin/env python3
"""The Grafana dashboard as a workload (issue 14): every panel query of
dashboards/oko.json, expanded the way Grafana expands it, against `oko
serve` (benches/README.md, section E).

    python3 benches/dashboard_mix.py --dsn DSN --mix 16 --seconds 60 [--whole] [--no-cache | --compare]
    python3 benches/dashboard_mix.py --dsn DSN --dashboard [--repeat 5] [--parallel 6 | --serial]
    python3 benches/dashboard_mix.py --dsn DSN --cold-report [--repeat 5] [--store DIR] [--pg DSN]
    python3 benches/dashboard_mix.py --dsn DSN --print-sql [--tenant T] [--month YYYY-MM]
    python3 benches/dashboard_mix.py --selftest

Modes (several may be given; they run in this order):

--mix N     N client processes, one connection each (psycopg 3, autocommit,
            the simple query protocol as Grafana's pgx sends panel queries),
            loop for --seconds: pick a random tenant (`SELECT tenant FROM
            tenants`) and a random whole month inside the data, then run one
            random panel query of the dashboard (every target of every panel
            is one query), or with --whole the whole dashboard as one viewer
            loads it (both variable queries, then every target, one after the
            other on the client's connection). Prints queries/s, latency
            p50/p95/p99 overall and per panel target, errors (the first few)
            and the server's RSS sampled every second (max and mean).
            --no-cache runs every connection with `SET oko.result_cache =
            off`; --compare runs the mix without the cache, then with it.
--dashboard One viewer loads the whole dashboard for one tenant-month: the
            variable queries (tenant, then managers, which depends on it),
            then every panel target, --parallel at a time (6: the browser's
            connections per host) or one by one with --serial. Per repetition
            (a new tenant-month each): cold (`oko.result_cache = off`, every
            panel computed), then with the cache twice (first: computed and
            stored; warm: the same tenant-month again, as a second viewer).
--cold-report  The manager table (`manager_report(from, to)`, one tenant,
            one month) and the contact-centre hourly year (`cc_report(year,
            year + 1, 'hour')`, one tenant) with `oko.result_cache = off`,
            one warm-up then --repeat runs; beside DuckDB on the store's
            Parquet, the same way (needs --store; the SQL of
            benches/duckdb_reports.py, see duckdb_cold(); its rows are checked
            against OKO's) and PostgreSQL 15 holding the same data
            (benches/wire_pg.sql's pg_manager_report / pg_cc_report; needs
            --pg).

Grafana's expansion is the one tests/it/dashboard.rs models and checks
against Grafana's own test tables, reduced to what this dashboard uses: the
browser's template step (`$var`, `${var}`, `${var:csv}`,
`${__from:date:PATTERN}`, `$__interval`; single values have their quotes
doubled) and then the backend's macros (`$__timeFilter(col)`,
`$__timeGroupAlias(col, interval[, fill])`). Anything else in the JSON fails
loudly instead of being sent half-expanded. The dashboard's time zone is
UTC and its range is one calendar month; `$__interval` is the panel's own
(minimum) interval, else 1h, as in the test. Variables keep their saved
values (`scope` all, `exclude` Спам, `managers` All → its allValue '') except
the tenant.
"""

import argparse
import datetime as dt
import decimal
import json
import multiprocessing as mp
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboards" / "oko.json"
UTC = dt.timezone.utc

# ---------------------------------------------------------------------------
# Grafana's expansion (tests/it/dashboard.rs, reduced to what the JSON uses).


def moment_format(t, pattern):
    """A `moment` date pattern (the tokens dashboards use)."""
    tokens = [("YYYY", f"{t.year:04}"), ("SSS", f"{t.microsecond // 1000:03}"),
              ("MM", f"{t.month:02}"), ("DD", f"{t.day:02}"), ("HH", f"{t.hour:02}"),
              ("mm", f"{t.minute:02}"), ("ss", f"{t.second:02}")]
    out, i = [], 0
    while i < len(pattern):
        for token, value in tokens:
            if pattern.startswith(token, i):
                out.append(value)
                i += len(token)
                break
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


class Scope:
    """What the browser knows when it interpolates: the variables' values
    (a str, or a list for a multi-value), the time range, `$__interval`."""

    def __init__(self, variables, frm, to, interval="1h"):
        self.vars, self.frm, self.to, self.interval = variables, frm, to, interval

    def variable(self, name, fmt):
        if name in ("__from", "__to"):
            t = self.frm if name == "__from" else self.to
            if fmt is None:
                return str(int(t.timestamp() * 1000))
            if fmt.startswith("date:"):
                return moment_format(t, fmt[len("date:"):])
            raise ValueError(f"format `{fmt}` of ${{{name}}} is not modelled")
        if name == "__interval":
            value = self.interval
        elif name == "__interval_ms":
            value = str(int(parse_interval(self.interval) * 1000))
        elif name in self.vars:
            value = self.vars[name]
        else:
            return None
        if fmt is None:  # interpolateVariable: quotes doubled / quoted list
            if isinstance(value, list):
                return ",".join("'" + v.replace("'", "''") + "'" for v in value)
            return value.replace("'", "''")
        if fmt in ("csv", "raw"):
            return ",".join(value) if isinstance(value, list) else value
        raise ValueError(f"variable format `{fmt}` is not modelled")

    def interpolate(self, sql):
        """templateSrv.replace: `${name[:format]}` and `$name`; unknown
        names (the backend's macros) stay as they are."""
        out, i = [], 0
        while i < len(sql):
            if sql.startswith("${", i):
                close = sql.find("}", i + 2)
                if close >= 0:
                    body = sql[i + 2:close]
                    name, colon, fmt = body.partition(":")
                    v = self.variable(name, fmt if colon else None)
                    if v is not None:
                        out.append(v)
                        i = close + 1
                        continue
            elif sql.startswith("[[", i):
                raise ValueError("[[var]] syntax is not modelled")
            elif sql[i] == "$":
                m = re.compile(r"[A-Za-z0-9_]*").match(sql, i + 1)
                if m.end() > i + 1:
                    v = self.variable(m.group(), None)
                    out.append(sql[i:m.end()] if v is None else v)
                    i = m.end()
                    continue
            out.append(sql[i])
            i += 1
        return "".join(out)

    def expand(self, sql):
        return expand_backend(self.interpolate(sql), self.frm, self.to, self.interval)


def parse_interval(text):
    """gtime.ParseInterval in seconds: `1d`/`2w`, else Go's ParseDuration
    (`1h`, `30m`, `500ms`, `1h30m`). Months and years are not modelled."""
    m = re.fullmatch(r"(\d+)([dw])", text)
    if m:
        return int(m.group(1)) * 86400 * (7 if m.group(2) == "w" else 1)
    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"([0-9.]+)([a-z]+)", text)
    if not parts or "".join(a + b for a, b in parts) != text or any(u not in units for _, u in parts):
        raise ValueError(f"error parsing interval {text}")
    return sum(float(n) * units[u] for n, u in parts)


def go_float(v):
    """Go's %v of a float64 (no exponent in this range)."""
    return str(int(v)) if float(v).is_integer() else repr(v)


def rfc3339_nano(t):
    t = t.astimezone(UTC)
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{t.microsecond:06}".rstrip("0")
    return f"{base}.{frac}Z" if frac else f"{base}Z"


def evaluate_macro(name, args, frm, to):
    if name == "__timeFilter":
        if not args or not args[0]:
            raise ValueError(f"missing time column argument for macro {name}")
        return f"{args[0]} BETWEEN '{rfc3339_nano(frm)}' AND '{rfc3339_nano(to)}'"
    if name == "__timeGroupAlias":
        if len(args) < 2:
            raise ValueError(f"macro {name} needs time column and interval and optional fill value")
        seconds = parse_interval(args[1].strip("'"))
        if len(args) == 3 and args[2] not in ("NULL", "previous"):
            float(args[2])  # SetupFillmode: a number, else an error
        s = go_float(seconds)
        return f'floor(extract(epoch from {args[0]})/{s})*{s} AS "time"'
    raise ValueError(f"macro ${name} is not used by the dashboard and not modelled")


def expand_backend(sql, frm, to, interval):
    """sqleng.Interpolate's global substitutions, then the postgres macro
    engine (pattern `\\$([_a-zA-Z0-9]+)\\(([^\\)]*)\\)`)."""
    sql = sql.replace("$__interval_ms", str(int(parse_interval(interval) * 1000)))
    sql = sql.replace("$__interval", interval)
    return re.sub(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)",
                  lambda m: evaluate_macro(m.group(1), [a.strip(" ") for a in m.group(2).split(",")], frm, to),
                  sql)


# ---------------------------------------------------------------------------
# The dashboard file.


def load_dashboard(path=DASHBOARD):
    dash = json.loads(Path(path).read_text())
    targets = []  # (key, title, interval, rawSql)

    def walk(panels, hidden):
        for p in panels:
            # Panels inside a collapsed row are not loaded until it opens.
            walk(p.get("panels", []), hidden or (p.get("type") == "row" and p.get("collapsed")))
            if hidden:
                continue
            for t in p.get("targets", []):
                if t.get("hide") or not t.get("rawSql"):
                    continue
                key = f"{p['id']}{t.get('refId', 'A')}"
                targets.append((key, p.get("title", ""), p.get("interval") or "1h", t["rawSql"]))

    walk(dash["panels"], False)
    variables = dash["templating"]["list"]
    return targets, variables


def saved_values(variables, tenant):
    """Each variable's value on load: the chosen tenant, the saved value of
    the others, All → the variable's allValue (Grafana formats it no further)."""
    out = {}
    for var in variables:
        saved = var.get("current", {}).get("value")
        if var["name"] == "tenant":
            out["tenant"] = tenant
        elif isinstance(saved, list) and "$__all" in saved:
            out[var["name"]] = var["allValue"] if "allValue" in var else saved
        else:
            out[var["name"]] = saved
    return out


def variable_queries(variables, scope):
    """The query variables' SQL, in order (refresh on dashboard load)."""
    out = []
    for var in variables:
        if var.get("type") == "query" and var.get("refresh", 1) in (1, 2):
            q = var["query"] if isinstance(var["query"], str) else var["query"]["rawSql"]
            out.append((f"var:{var['name']}", var["name"], scope.expand(q)))
    return out


def month_range(month):
    y, m = month
    frm = dt.datetime(y, m, 1, tzinfo=UTC)
    to = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
    return frm, to


def dashboard_sql(targets, variables, tenant, month, whole=False):
    """[(key, title, sql)] of one load: the panel targets (and with `whole`
    the variable queries first)."""
    frm, to = month_range(month)
    values = saved_values(variables, tenant)
    out = variable_queries(variables, Scope(values, frm, to)) if whole else []
    for key, title, interval, raw in targets:
        out.append((key, title, Scope(values, frm, to, interval).expand(raw)))
    return out


# ---------------------------------------------------------------------------
# Measuring.


def connect(dsn, settings):
    import psycopg

    conn = psycopg.connect(dsn, autocommit=True)
    for name, value in settings:
        conn.execute(f"SET {name} = {value}")
    return conn


def run(conn, sql):
    """One statement over the simple protocol (no parameters), every row read."""
    t0 = time.perf_counter()
    cur = conn.execute(sql)
    rows = cur.fetchall() if cur.description else []
    return time.perf_counter() - t0, len(rows)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def stats(seconds):
    ms = [x * 1000 for x in seconds]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": round(pct(ms, 0.5), 1), "p95_ms": round(pct(ms, 0.95), 1),
            "p99_ms": round(pct(ms, 0.99), 1), "max_ms": round(max(ms), 1)}


def server_pid(dsn):
    """The process listening on the DSN's port on this machine (`ss -ltnp`)."""
    port = re.search(r"port=(\d+)", dsn) or re.search(r":(\d+)/", dsn)
    if not port:
        return None
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port.group(1)}"], capture_output=True,
                             text=True, check=False).stdout
    except OSError:
        return None
    m = re.search(r"pid=(\d+)", out)
    return int(m.group(1)) if m else None


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cache_stats(dsn):
    try:
        with connect(dsn, []) as c:
            cur = c.execute("SELECT * FROM oko_cache_stats")
            return dict(zip([d.name for d in cur.description], cur.fetchone()))
    except Exception:  # noqa: BLE001 - a server without the cache has no such table
        return None


def data_plan(dsn, args):
    """Tenants and the whole UTC months the leads cover."""
    with connect(dsn, []) as c:
        tenants = [r[0] for r in c.execute("SELECT tenant FROM tenants ORDER BY tenant").fetchall()]
        lo, hi = c.execute("SELECT min(created_at), max(created_at) FROM leads").fetchone()
    if args.months:
        a, b = args.months.split(":")
        lo_m, hi_m = tuple(map(int, a.split("-"))), tuple(map(int, b.split("-")))
        months = [(y, m) for y in range(lo_m[0], hi_m[0] + 1) for m in range(1, 13)
                  if lo_m <= (y, m) <= hi_m]
    else:
        first, last = lo.date() - dt.timedelta(days=1), hi.date() + dt.timedelta(days=1)
        months = [(y, m) for y in range(lo.year - 1, hi.year + 1) for m in range(1, 13)
                  if month_range((y, m))[0].date() >= first and month_range((y, m))[1].date() <= last]
    if not tenants or not months:
        sys.exit(f"no tenants or no whole month in the data ({lo} … {hi})")
    return tenants, months


def mix_client(i, args, settings, tenants, months, barrier, queue):
    targets, variables = load_dashboard(args.dashboard_file)
    rng = random.Random(args.seed * 1000 + i)
    results, errors = [], []
    try:
        conn = connect(args.dsn, settings)
        run(conn, "SELECT 1")
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        barrier.wait()
        queue.put(([], [f"connect: {e}"]))
        return
    barrier.wait()
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        tenant, month = rng.choice(tenants), rng.choice(months)
        load = dashboard_sql(targets, variables, tenant, month, whole=args.whole)
        chosen = load if args.whole else [rng.choice(load)]
        t_load = time.perf_counter()
        ok = True
        for key, _, sql in chosen:
            try:
                secs, _ = run(conn, sql)
                results.append((key, secs))
            except Exception as e:  # noqa: BLE001
                ok = False
                errors.append(f"{key} {tenant} {month[0]}-{month[1]:02}: {str(e).strip()[:300]}")
                conn.close()
                conn = connect(args.dsn, settings)
        if args.whole and ok:
            results.append(("dashboard", time.perf_counter() - t_load))
    conn.close()
    queue.put((results, errors))


def mix(args, settings, label):
    tenants, months = data_plan(args.dsn, args)
    targets, _ = load_dashboard(args.dashboard_file)
    titles = {k: t for k, t, _, _ in targets}
    pid = args.pid or server_pid(args.dsn)
    before = cache_stats(args.dsn)
    ctx = mp.get_context("fork")
    barrier, queue = ctx.Barrier(args.mix + 1), ctx.Queue()
    procs = [ctx.Process(target=mix_client, args=(i, args, settings, tenants, months, barrier, queue))
             for i in range(args.mix)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.monotonic()
    samples, done = [], []
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            if pid and (kib := rss_kib(pid)) is not None:
                samples.append(kib)
            stop.wait(1.0)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    for _ in procs:
        done.append(queue.get())
    wall = time.monotonic() - t0
    stop.set()
    for p in procs:
        p.join()
    after = cache_stats(args.dsn)
    results = [r for rs, _ in done for r in rs]
    errors = [e for _, es in done for e in es]
    queries = [r for r in results if r[0] != "dashboard"]
    out = {
        "measure": "mix", "label": label, "clients": args.mix, "whole": args.whole,
        "settings": {k: v for k, v in settings}, "tenants": len(tenants),
        "months": f"{months[0][0]}-{months[0][1]:02}..{months[-1][0]}-{months[-1][1]:02}",
        "seconds": round(wall, 1), "queries": len(queries),
        "queries_per_s": round(len(queries) / wall, 2),
        "errors": len(errors), "first_errors": errors[:5],
        "latency": stats([s for _, s in queries]),
        "per_panel": {f"{k} {titles.get(k, '')}".rstrip(): stats([s for kk, s in queries if kk == k])
                      for k in sorted({k for k, _ in queries}, key=lambda k: (len(k), k))},
    }
    if args.whole:
        loads = [s for k, s in results if k == "dashboard"]
        out["dashboards_per_s"] = round(len(loads) / wall, 2)
        out["dashboard_load"] = stats(loads)
    if samples:
        out["server_pid"] = pid
        out["rss_mib"] = {"max": round(max(samples) / 1024), "mean": round(statistics.fmean(samples) / 1024),
                          "samples": len(samples)}
    else:
        out["rss_mib"] = f"not sampled (server pid {pid or 'not found'}: give --pid)"
    if before and after:
        out["cache"] = {k: after[k] - before[k] for k in ("hits", "misses", "invalidations", "evictions")}
        out["cache"]["entries"], out["cache"]["bytes"] = after["entries"], after["bytes"]
    return out


def dashboard_load(conns, load, serial):
    """One viewer's load: variable queries in order on the first connection,
    then the panel targets, len(conns) at a time. Returns (seconds, {key: s})."""
    times = {}
    t0 = time.perf_counter()
    for key, _, sql in [x for x in load if x[0].startswith("var:")]:
        times[key] = run(conns[0], sql)[0]
    panels = [x for x in load if not x[0].startswith("var:")]
    if serial:
        for key, _, sql in panels:
            times[key] = run(conns[0], sql)[0]
    else:
        free = list(conns)
        lock = threading.Lock()

        def one(item):
            with lock:
                c = free.pop()
            try:
                return item[0], run(c, item[2])[0]
            finally:
                with lock:
                    free.append(c)

        with ThreadPoolExecutor(len(conns)) as pool:
            times.update(dict(pool.map(one, panels)))
    return time.perf_counter() - t0, times


def dashboard(args, base_settings):
    tenants, months = data_plan(args.dsn, args)
    targets, variables = load_dashboard(args.dashboard_file)
    rng = random.Random(args.seed)
    combos = [(t, m) for t in tenants for m in months]
    rng.shuffle(combos)
    n = 1 if args.serial else args.parallel
    off = base_settings + [("oko.result_cache", "off")]
    cold_conns = [connect(args.dsn, off) for _ in range(n)]
    warm_conns = [connect(args.dsn, base_settings) for _ in range(n)]
    kinds = {"cold (cache off)": [], "first (cache on)": [], "warm (cache on, again)": []}
    slowest = {k: [] for k in kinds}
    for r in range(args.repeat):
        tenant, month = combos[r % len(combos)]
        load = dashboard_sql(targets, variables, tenant, month, whole=True)
        for kind, conns in zip(kinds, (cold_conns, warm_conns, warm_conns)):
            secs, times = dashboard_load(conns, load, args.serial)
            kinds[kind].append(secs)
            key = max(times, key=times.get)
            slowest[kind].append(f"{tenant} {month[0]}-{month[1]:02}: {key} {times[key] * 1000:.0f} ms")
    # One more cold load of the first tenant-month, one query at a time: what
    # each query costs alone (the parallel loads above overlap them).
    tenant, month = combos[0]
    load = dashboard_sql(targets, variables, tenant, month, whole=True)
    per_query = dashboard_load(cold_conns[:1], load, True)[1]
    for c in cold_conns + warm_conns:
        c.close()
    titles = {k: t for k, t, _, _ in targets}
    return {
        "measure": "dashboard", "connections": n, "serial": args.serial, "repeat": args.repeat,
        "queries_per_load": len(load), "settings": {k: v for k, v in base_settings},
        "load_ms": {k: {"p50": round(pct(v, 0.5) * 1000, 1), "max": round(max(v) * 1000, 1),
                        "all": [round(x * 1000, 1) for x in v]} for k, v in kinds.items()},
        "slowest_query_per_load": slowest,
        "cold_serial_ms_per_query": {f"{k} {titles.get(k, '')}".rstrip(): round(s * 1000, 1)
                                     for k, s in sorted(per_query.items(), key=lambda kv: -kv[1])},
    }


# The columns both engines return, in benches/compare_rows.py's order.
COLUMNS = {
    "manager": ["tenant", "manager", "manager_id", "leads", "mean_reaction_s", "mean_dialog_s", "ratings",
                "avg_score", "csat", "response_rate", "requested", "response_rate_requested", "fair_score",
                "is_outlier", "achievements"],
    "cc_hour_year": ["tenant", "period_start", "channel", "offered", "answered", "missed", "short_abandons",
                     "answered_in_sl", "reaction_sum_s", "dialog_sum_s", "dialogs", "abandon_rate", "asa_s",
                     "aht_s", "service_level_over_offered", "service_level_over_answered",
                     "service_level_excl_short"],
}


def cell(v):
    """One value as text, floats to 6 decimals (integral decimals as integers)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ",".join(v)
    if isinstance(v, str) and v == "":
        return ""
    if isinstance(v, (float, decimal.Decimal)):
        if isinstance(v, decimal.Decimal) and v == v.to_integral_value():
            return str(int(v))
        s = f"{float(v):.6f}".rstrip("0").rstrip(".")
        return "0" if s == "-0" else s
    return str(v)


def same_row(a, b):
    """Two rows' cells equal, floats within 1e-6 (the engines add the same
    parts in different orders, so the 6th decimal may differ by one)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x != y:
            try:
                if abs(float(x) - float(y)) > 1.5e-6 * max(1.0, abs(float(x))):
                    return False
            except ValueError:
                return False
    return True


def duckdb_cold(store, tenant, month, year, runs):
    """DuckDB on the store's Parquet: the manager table for `month` and the
    hourly contact-centre year, one warm-up then `runs` runs each.

    The SQL is benches/duckdb_reports.py's (the module is a script, so its
    definitions are executed up to its timing loop); both results are
    checked row by row against OKO's by the caller."""
    import duckdb  # noqa: F401 - ImportError tells the caller to skip

    source = (ROOT / "benches" / "duckdb_reports.py").read_text()
    head, marker, _ = source.partition("\nqueries = [")
    if not marker or "def leads(" not in head:
        raise RuntimeError("benches/duckdb_reports.py changed shape: update duckdb_cold()")
    ns = {"__name__": "duckdb_reports"}
    argv = sys.argv
    sys.argv = ["duckdb_reports.py", store, tenant, *month, *year]
    try:
        exec(compile(head, "benches/duckdb_reports.py", "exec"), ns)  # noqa: S102 - our own file
    finally:
        sys.argv = argv
    con = ns["con"]
    out = {}
    for name, sql in (("manager", ns["manager"]), ("cc_hour_year", ns["cc"])):
        con.sql(sql).fetchall()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            rows = con.sql(sql).fetchall()
            times.append(time.perf_counter() - t0)
        out[name] = {"p50_ms": round(pct(times, 0.5) * 1000, 1), "min_ms": round(min(times) * 1000, 1),
                     "rows": len(rows), "row_text": sorted([cell(v) for v in r] for r in rows)}
    con.close()
    return out


def cold_report(args, base_settings):
    tenants, months = data_plan(args.dsn, args)
    tenant = args.tenant or ("okna" if "okna" in tenants else tenants[0])
    years = sorted({y for y, _ in months if all((y, m) in months for m in range(1, 13))})
    year = args.year or (years[0] if years else months[0][0])
    month = tuple(map(int, args.month.split("-"))) if args.month else (year, 6)
    mf, mt = (d.date().isoformat() for d in month_range(month))
    yf, yt = f"{year}-01-01", f"{year + 1}-01-01"
    queries = {
        "manager": f"SELECT * FROM manager_report('{mf}', '{mt}') WHERE tenant = '{tenant}'",
        "cc_hour_year": f"SELECT * FROM cc_report('{yf}', '{yt}', 'hour') WHERE tenant = '{tenant}'",
    }
    out = {"measure": "cold_report", "tenant": tenant, "month": mf, "year": year,
           "repeat": args.repeat, "oko": {}, "sql": queries}

    def timed(conn, sql):
        first, rows = run(conn, sql)
        times = [run(conn, sql)[0] for _ in range(args.repeat)]
        return {"first_ms": round(first * 1000, 1), "p50_ms": round(pct(times, 0.5) * 1000, 1),
                "min_ms": round(min(times) * 1000, 1), "rows": rows}

    with connect(args.dsn, base_settings + [("oko.result_cache", "off")]) as c:
        for name, sql in queries.items():
            out["oko"][name] = timed(c, sql)
    if args.store:
        try:
            out["duckdb"] = duckdb_cold(str(Path(args.store).resolve()), tenant, (mf, mt), (yf, yt), args.repeat)
        except ImportError:
            out["duckdb"] = "skipped: no duckdb module (pip install -r tests/requirements.txt)"
    else:
        out["duckdb"] = "skipped: give --store DIR (the store oko serves) to run DuckDB on its Parquet"
    if isinstance(out["duckdb"], dict):
        with connect(args.dsn, base_settings + [("oko.result_cache", "off")]) as c:
            for name, sql in queries.items():
                cur = c.execute(sql)
                names = [d.name for d in cur.description]
                mine = sorted([cell(dict(zip(names, r))[k]) for k in COLUMNS[name]] for r in cur.fetchall())
                theirs = out["duckdb"][name].pop("row_text")
                bad = sum(not same_row(x, y) for x, y in zip(mine, theirs)) + abs(len(mine) - len(theirs))
                out["duckdb"][name]["rows_match"] = True if not bad else f"no: {bad} rows differ"
        out["oko_over_duckdb"] = {name: round(out["oko"][name]["p50_ms"] / out["duckdb"][name]["p50_ms"], 2)
                                  for name in queries}
        out["targets"] = {"manager": "<= 0.25", "cc_hour_year": "<= 0.5"}
    if args.pg:
        pg = {
            "manager": f"SELECT * FROM pg_manager_report('{tenant}', '{mf}', '{mt}')",
            "cc_hour_year": f"SELECT * FROM pg_cc_report('{tenant}', '{yf}', '{yt}', 'hour')",
        }
        with connect(args.pg, []) as c:
            out["postgres"] = {name: timed(c, sql) for name, sql in pg.items()}
    return out


# ---------------------------------------------------------------------------
# Printing.


def show(result, as_json):
    if as_json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return
    m = result["measure"]
    if m == "mix":
        lat = result["latency"]
        print(f"\n== mix [{result['label']}]: {result['clients']} clients, {result['seconds']} s, "
              f"{'whole dashboard' if result['whole'] else 'one panel query'} per step, "
              f"settings {result['settings'] or '-'}, {result['tenants']} tenants × months {result['months']}")
        print(f"queries {result['queries']}, {result['queries_per_s']} queries/s; latency p50 "
              f"{lat.get('p50_ms')} / p95 {lat.get('p95_ms')} / p99 {lat.get('p99_ms')} / max {lat.get('max_ms')} ms")
        if result["whole"]:
            d = result["dashboard_load"]
            print(f"dashboards {d['n']}, {result['dashboards_per_s']}/s; load p50 {d.get('p50_ms')} / "
                  f"p99 {d.get('p99_ms')} ms")
        rss = result["rss_mib"]
        print("server RSS: " + (f"max {rss['max']} MiB, mean {rss['mean']} MiB ({rss['samples']} samples, "
                                f"pid {result['server_pid']})" if isinstance(rss, dict) else rss))
        if "cache" in result:
            print(f"result cache during the run: {result['cache']}")
        print(f"errors: {result['errors']}")
        for e in result["first_errors"]:
            print(f"  {e}")
        print(f"{'panel target':<60} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  ms")
        for k, s in result["per_panel"].items():
            print(f"{k[:60]:<60} {s['n']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8} {s['max_ms']:>8}")
    elif m == "dashboard":
        print(f"\n== dashboard load, one viewer: {result['queries_per_load']} queries "
              f"(2 variables + panel targets), {'serial' if result['serial'] else str(result['connections']) + ' at a time'}, "
              f"{result['repeat']} tenant-months")
        for k, v in result["load_ms"].items():
            print(f"{k:<26} p50 {v['p50']:>8} ms   max {v['max']:>8} ms   all {v['all']}")
        for k, v in result["slowest_query_per_load"].items():
            print(f"slowest query, {k}: {'; '.join(v)}")
        print("cold, one by one, first tenant-month (ms per query):")
        for k, v in result["cold_serial_ms_per_query"].items():
            print(f"  {v:>9}  {k}")
    elif m == "cold_report":
        print(f"\n== cold reports (oko.result_cache = off), tenant {result['tenant']}, "
              f"month {result['month']}, year {result['year']}, {result['repeat']} runs after one")
        for name, r in result["oko"].items():
            line = f"{name:<14} OKO first {r['first_ms']} ms, p50 {r['p50_ms']} ms, min {r['min_ms']} ms, {r['rows']} rows"
            if isinstance(result.get("duckdb"), dict):
                d = result["duckdb"][name]
                line += (f" | DuckDB p50 {d['p50_ms']} ms, {d['rows']} rows, match (floats ±1e-6): {d['rows_match']}"
                         f" | OKO/DuckDB {result['oko_over_duckdb'][name]} (target {result['targets'][name]})")
            if "postgres" in result:
                p = result["postgres"][name]
                line += f" | PostgreSQL p50 {p['p50_ms']} ms, {p['rows']} rows"
            print(line)
        if not isinstance(result.get("duckdb"), dict):
            print(f"DuckDB: {result['duckdb']}")
        if "postgres" not in result:
            print("PostgreSQL: skipped (give --pg DSN)")


def selftest():
    """Expansions against the outputs tests/it/dashboard.rs asserts."""
    frm = dt.datetime(2018, 4, 12, 18, 0, tzinfo=UTC)
    to = frm + dt.timedelta(minutes=5)
    be = lambda s: expand_backend(s, frm, to, "1m")  # noqa: E731
    assert be("WHERE $__timeFilter(time_column)") == \
        "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'"
    assert be("SELECT $__timeGroupAlias(time_column,'5m')") == \
        'SELECT floor(extract(epoch from time_column)/300)*300 AS "time"'
    assert be("SELECT $__timeGroupAlias(period_start, 1h, 0)") == \
        'SELECT floor(extract(epoch from period_start)/3600)*3600 AS "time"'
    assert be("SELECT $__timeGroupAlias(period_start,'1d', NULL)") == \
        'SELECT floor(extract(epoch from period_start)/86400)*86400 AS "time"'
    for bad in ("$__timeGroupAlias(t, '1h', nope)", "$__timeGroupAlias(t)", "$__nope(t)"):
        try:
            be(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} expanded")
    scope = Scope({"tenant": "o'kna", "managers": ["m1", "Нет менеджера"]},
                  dt.datetime(2026, 7, 1, tzinfo=UTC), dt.datetime(2026, 8, 1, tzinfo=UTC))
    assert scope.interpolate("tenant = '$tenant' AND t = '${tenant}'") == "tenant = 'o''kna' AND t = 'o''kna'"
    assert scope.interpolate("IN ($managers) '${managers:csv}'") == "IN ('m1','Нет менеджера') 'm1,Нет менеджера'"
    assert scope.interpolate("'${__from:date:YYYY-MM-DD}' '${__to:date:YYYY-MM-DD HH:mm:ss}' ${__from}") == \
        "'2026-07-01' '2026-08-01 00:00:00' 1782864000000"
    assert scope.interpolate("$__timeFilter(x) $unknown $__interval ${__interval_ms}") == \
        "$__timeFilter(x) $unknown 1h 3600000"
    targets, variables = load_dashboard()
    load = dashboard_sql(targets, variables, "okna", (2026, 7), whole=True)
    leftover = [k for k, _, sql in load if re.search(r"\$[A-Za-z_{]", sql)]
    assert not leftover, f"unexpanded `$` in {leftover}"
    print(f"selftest ok: {len(targets)} panel targets, {len(load) - len(targets)} variable queries expand")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", help="libpq connection string of oko serve")
    ap.add_argument("--mix", type=int, metavar="N", help="N clients replay random panel queries")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--whole", action="store_true", help="each mix step loads the whole dashboard")
    ap.add_argument("--no-cache", action="store_true", help="SET oko.result_cache = off on every connection")
    ap.add_argument("--compare", action="store_true", help="the mix without the cache, then with it")
    ap.add_argument("--dashboard", action="store_true", help="one viewer loads the whole dashboard")
    ap.add_argument("--parallel", type=int, default=6, help="panel queries in flight (Grafana: 6)")
    ap.add_argument("--serial", action="store_true", help="panel queries one by one")
    ap.add_argument("--cold-report", action="store_true", help="manager table and cc hourly year, uncached")
    ap.add_argument("--repeat", "-R", type=int, default=5)
    ap.add_argument("--store", help="the store's folder (DuckDB reads its Parquet)")
    ap.add_argument("--pg", help="libpq connection string of PostgreSQL with benches/wire_pg.sql")
    ap.add_argument("--tenant", help="cold report / print-sql tenant (default okna, else the first)")
    ap.add_argument("--month", help="cold report / print-sql month YYYY-MM (default June of --year)")
    ap.add_argument("--year", type=int, help="cold report year (default the first whole year in the data)")
    ap.add_argument("--months", help="months to draw from, YYYY-MM:YYYY-MM (default: whole months in the data)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a session setting for every OKO connection (repeatable)")
    ap.add_argument("--pid", type=int, help="server pid for RSS (default: the process listening on the port)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dashboard-file", default=str(DASHBOARD))
    ap.add_argument("--print-sql", action="store_true", help="print the expanded queries of one load")
    ap.add_argument("--selftest", action="store_true", help="check the expansion, no server")
    ap.add_argument("--json", action="store_true", help="print JSON objects instead of tables")
    a = ap.parse_args()
    if a.selftest:
        selftest()
        return
    if not a.dsn:
        ap.error("--dsn is required")
    if not (a.mix or a.dashboard or a.cold_report or a.print_sql):
        ap.error("give --mix N, --dashboard, --cold-report or --print-sql")
    settings = [tuple(s.split("=", 1)) for s in a.set]
    if a.print_sql:
        tenants, months = data_plan(a.dsn, a)
        targets, variables = load_dashboard(a.dashboard_file)
        month = tuple(map(int, a.month.split("-"))) if a.month else months[len(months) // 2]
        for key, title, sql in dashboard_sql(targets, variables, a.tenant or tenants[0], month, whole=True):
            print(f"-- {key} {title}\n{sql};\n")
    if a.mix:
        off = settings + [("oko.result_cache", "off")]
        runs = [("no cache", off), ("cache", settings)] if a.compare else \
            [("no cache", off)] if a.no_cache else [("as configured", settings)]
        results = [mix(a, s, label) for label, s in runs]
        for r in results:
            show(r, a.json)
        if a.compare and not a.json:
            x, y = results
            print(f"\n== compare: {x['queries_per_s']} → {y['queries_per_s']} queries/s "
                  f"(×{y['queries_per_s'] / max(x['queries_per_s'], 1e-9):.1f}); p99 "
                  f"{x['latency'].get('p99_ms')} → {y['latency'].get('p99_ms')} ms; errors "
                  f"{x['errors']} / {y['errors']}")
    if a.dashboard:
        show(dashboard(a, settings), a.json)
    if a.cold_report:
        show(cold_report(a, settings), a.json)


if __name__ == "__main__":
    main()
