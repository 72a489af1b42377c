"""Prints OKO's rows of the two benchmark queries in the layout of
`benches/duckdb_reports.py --rows`, to diff the engines' results.

    oko --store STORE query --format json "SELECT * FROM manager_report(...) WHERE tenant = 'okna'" > mr.json
    oko --store STORE query --format json "SELECT * FROM cc_report(..., 'hour') WHERE tenant = 'okna'" > cc.json
    python3 benches/compare_rows.py mr.json cc.json | sort > oko.txt
    python3 benches/duckdb_reports.py STORE okna ... --rows | sort > duck.txt
    diff oko.txt duck.txt
"""

import json
import sys

MANAGER = ["tenant", "manager", "manager_id", "leads", "mean_reaction_s", "mean_dialog_s",
           "ratings", "avg_score", "csat", "response_rate", "requested",
           "response_rate_requested", "fair_score", "is_outlier", "achievements"]
CC = ["tenant", "period_start", "channel", "offered", "answered", "missed", "short_abandons",
      "answered_in_sl", "reaction_sum_s", "dialog_sum_s", "dialogs", "abandon_rate", "asa_s",
      "aht_s", "service_level_over_offered", "service_level_over_answered",
      "service_level_excl_short"]


def fmt(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        s = f"{v:.6f}".rstrip("0").rstrip(".")
        return "0" if s == "-0" else s
    if isinstance(v, list):
        return ",".join(v)
    return str(v)


def rows(path):
    text = open(path, encoding="utf-8").read().strip()
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


for path, name, cols in [(sys.argv[1], "manager report, one tenant, one month", MANAGER),
                         (sys.argv[2], "contact-centre hourly rollup, one tenant, one year", CC)]:
    for r in rows(path):
        vals = [fmt(r.get(c)) for c in cols]
        if cols is CC:
            vals[1] = vals[1].replace("T", " ")
        print(name + "|" + "|".join(vals))
