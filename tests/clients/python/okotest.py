"""A tiny check runner shared by the Python client suites (no pytest needed).

Each suite is a script: ``python3 <suite>.py [--host H] [--port P] [CHECK...]``
(defaults: ``OKO_HOST`` or 127.0.0.1, ``OKO_PORT``). It runs every check (or
only the named ones), each on its own connection so one failure cannot hide
the next, prints ``PASS``/``FAIL`` per check with the driver's exact error,
and exits 1 when any check failed. An async check that takes longer than
``OKO_CHECK_TIMEOUT`` seconds (default 60) fails with a TimeoutError; any
check hung 30 s beyond that ends the script with a traceback of where.
"""

import argparse
import asyncio
import faulthandler
import inspect
import math
import os
import sys
import time
import traceback

# The demo dataset (`oko serve --demo`): 12 000 leads in three tenants,
# created from 2026-06-01 over 120 days.
DEMO_LEADS = 12000
DEMO_TENANT = "okna"
DEMO_VIEWS = ("manager_report_month", "lead_facts", "cc_daily")


MESSAGE_LIMIT = 1500


def where(e):
    """The line of the suite that failed (and the driver's line, if apart)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if not f.filename.endswith("okotest.py")]
    here = os.path.dirname(os.path.abspath(__file__))
    ours = [f for f in frames if os.path.dirname(os.path.abspath(f.filename)) == here]
    parts = [f"{os.path.basename(f.filename)}:{f.lineno}: {f.line}" for f in ours[-1:]]
    if frames and (not ours or frames[-1] is not ours[-1]):
        f = frames[-1]
        parts.append(f"{f.filename}:{f.lineno}")
    return " <- ".join(reversed(parts)) or "?"


class Suite:
    def __init__(self, name):
        self.name = name
        self.checks = []
        args = argparse.ArgumentParser(description=f"OKO {name} client checks")
        args.add_argument("--host", default=os.environ.get("OKO_HOST", "127.0.0.1"))
        args.add_argument("--port", type=int, default=os.environ.get("OKO_PORT"))
        args.add_argument("only", nargs="*", help="run only these checks")
        self.args = args.parse_args()
        if self.args.port is None:
            args.error("give --port or set OKO_PORT")
        self.host = self.args.host
        self.port = int(self.args.port)
        self.timeout = float(os.environ.get("OKO_CHECK_TIMEOUT", "60"))

    def check(self, fn):
        """Registers a check (a plain or an async function)."""
        self.checks.append(fn)
        return fn

    def run(self):
        chosen = [c for c in self.checks if not self.args.only or c.__name__ in self.args.only]
        unknown = set(self.args.only) - {c.__name__ for c in self.checks}
        if unknown:
            print(f"unknown checks: {sorted(unknown)}")
            return 2
        print(f"{self.name}: {len(chosen)} checks against {self.host}:{self.port}", flush=True)
        failed = []
        for fn in chosen:
            print(f"RUN  {fn.__name__}", flush=True)
            # An async check times out cleanly first; this catches the rest.
            faulthandler.dump_traceback_later(self.timeout + 30, exit=True, file=sys.stdout)
            started = time.monotonic()
            try:
                if inspect.iscoroutinefunction(fn):
                    asyncio.run(asyncio.wait_for(fn(), self.timeout))
                else:
                    fn()
            except BaseException as e:  # noqa: BLE001 - report everything
                if isinstance(e, KeyboardInterrupt):
                    raise
                failed.append(fn.__name__)
                message = str(e).strip()
                if isinstance(e, TimeoutError) and not message:
                    message = f"no answer within {self.timeout:g} s (OKO_CHECK_TIMEOUT)"
                if len(message) > MESSAGE_LIMIT:
                    message = message[:MESSAGE_LIMIT] + f" ... ({len(message)} chars)"
                message = message.replace("\n", "\n     ")
                print(f"FAIL {fn.__name__}: {type(e).__module__}.{type(e).__name__}: {message}")
                print(f"     at {where(e)}")
            else:
                print(f"PASS {fn.__name__} ({time.monotonic() - started:.2f}s)")
            finally:
                faulthandler.cancel_dump_traceback_later()
            sys.stdout.flush()
        passed = len(chosen) - len(failed)
        print(f"{self.name} summary: {passed} of {len(chosen)} checks passed")
        if failed:
            print(f"{self.name} failed checks: {' '.join(failed)}")
        return 1 if failed or not chosen else 0


def expect(cond, what):
    """Asserts `cond`, explaining the PostgreSQL behaviour expected."""
    if not cond:
        raise AssertionError(what)


def short(value, limit=400):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: expected {short(want)}, got {short(got)}")


def _close(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


def expect_same_rows(got, want, what):
    """Rows equal, floats to 12 digits: the engine's parallel float sums
    may differ in the last bits from one run of a report to the next."""
    got, want = [tuple(r) for r in got], [tuple(r) for r in want]
    if len(got) != len(want):
        raise AssertionError(f"{what}: expected {len(want)} rows, got {len(got)}")
    for i, (g, w) in enumerate(zip(got, want)):
        if not _close(g, w):
            raise AssertionError(f"{what}: row {i} differs: expected {short(w)}, got {short(g)}")
