"""Time the KPI report (and each of its figure groups) on an already imported database.

    CERCLE_DATABASE_URL=sqlite:////tmp/kpi.db python bench/kpi_timing.py
    python bench/kpi_timing.py --url sqlite:////tmp/kpi.db --url postgresql+psycopg://postgres@127.0.0.1/cercle_kpi_perf
    python bench/kpi_timing.py --groups          # also time each figure group of the 30-day report
    python bench/kpi_timing.py --compare PKG     # also time another copy of app.analytics (e.g. the old code)

Three reports, ending yesterday (UTC): the last 30 days site-wide, the last 365 days
site-wide, and the biggest circle over 30 days. Each is run `--repeat` times; the best time
is printed (the machine may be shared), with the best CPU time: this process's, where SQLite
runs, plus the PostgreSQL backend's; group timings (`--groups`) are CPU seconds. Targets for 100,000 members and 1,000,000 posts:
30 days <= 1 s, 365 days <= 3 s, one circle over 30 days <= 0.3 s.
"""

import argparse
import importlib
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"30 days": 1.0, "365 days": 3.0, "circle 30 days": 0.3}


def use_database(url: str) -> None:
    from app import db
    from app.config import get_settings

    if os.environ.get("CERCLE_DATABASE_URL"):
        db.get_engine().dispose()
    os.environ["CERCLE_DATABASE_URL"] = url
    get_settings.cache_clear()
    db._engine_for.cache_clear()


def best_of(repeat: int, action: Any, clock: Any = time.process_time) -> tuple[float, float, Any]:
    """The best wall time and the best CPU time (`clock`) of `repeat` runs, and the result."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), clock()
        result = action()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, clock() - cpu_started)
    return best, best_cpu, result


def cpu_of(session: Any) -> Any:
    """A clock of the CPU spent on the report: this process (SQLite runs in it, in every
    thread), plus the PostgreSQL backends of this database (the report computes its figure
    groups on connections of its own). Unlike wall time, it hardly moves with the load of a
    shared machine. PostgreSQL's short-lived parallel workers are not counted."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    seen: dict[int, float] = {}  # backend pid → its CPU when last read (a closed one keeps it)

    def clock() -> float:
        own = time.process_time()
        if not postgresql:
            return own
        from sqlalchemy import text

        session.execute(text("SELECT pg_stat_clear_snapshot()"))  # the activity view is cached per transaction
        backends = session.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend'"
            )
        ).scalars()
        for pid in backends:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            seen[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return own + sum(seen.values())

    return clock


def cases(session: Any) -> list[tuple[str, Any, Any, Any]]:
    from sqlmodel import col, select

    from app.models import Circle

    end = datetime.now(UTC).date() - timedelta(days=1)
    circle = session.exec(select(Circle).order_by(col(Circle.member_count).desc())).first()
    return [
        ("30 days", end - timedelta(days=29), end, None),
        ("365 days", end - timedelta(days=364), end, None),
        ("circle 30 days", end - timedelta(days=29), end, circle),
    ]


def group_timings(package: str, session: Any, start: Any, end: Any, circle: Any) -> dict[str, float]:
    """Time each figure group of one report, in the order report() computes them."""
    analytics = importlib.import_module(package)
    mods = {
        name: importlib.import_module(f"{package}.{name}")
        for name in ("activity", "candidates", "cohorts", "conversation", "participation", "recognition", "scope")
    }
    scope = mods["scope"].make_scope(session, start=start, end=end, circle_id=circle.id if circle else None)
    if hasattr(mods["scope"], "prepare"):  # the optimised code computes M once per report
        mods["scope"].prepare(scope)
    act, rec, conv = mods["activity"], mods["recognition"], mods["conversation"]
    out: dict[str, float] = {}
    figures: dict[str, Any] = {}

    clock = cpu_of(session)

    def step(name: str, action: Any) -> None:
        started = clock()
        value = action()
        out[name] = clock() - started
        if isinstance(value, dict):
            figures.update(value)

    step("growth", lambda: act.growth(scope))
    step("habit", lambda: act.habit(scope))
    step("nps", lambda: rec.nps(scope))
    step("ambassadors", lambda: rec.ambassadors(scope, members_total=figures["members_total"]))
    step("retention", lambda: act.retention(scope))
    step("volumes", lambda: conv.volumes(scope))
    step("depth", lambda: conv.depth(scope))
    step("participation", lambda: mods["participation"].participation(scope, active_members=figures["active_members"]))
    step("badges", lambda: rec.badges(scope))
    if hasattr(mods["candidates"], "candidate_count"):  # older code: a pass of its own
        step("candidates", lambda: mods["candidates"].candidate_count(scope))
    step("cohorts", lambda: mods["cohorts"].cohorts(scope))
    step("series", lambda: act.series(scope))
    del analytics
    return out


def run(url: str, packages: list[str], repeat: int, groups: bool, only: str | None = None) -> list[dict[str, Any]]:
    from app.db import open_session

    use_database(url)
    rows = []
    with open_session(readonly=True) as session:
        name = session.get_bind().dialect.name
        for label, start, end, circle in cases(session):
            if only and label != only:
                continue
            results = {}
            for package in packages:
                report = importlib.import_module(f"{package}.report").report
                seconds, cpu, figures = best_of(
                    repeat,
                    lambda p=report, s=start, e=end, c=circle: p(session, start=s, end=e, circle=c),
                    cpu_of(session),
                )
                session.rollback()
                figures = {k: v for k, v in figures.items() if k != "generated_at"}
                results[package] = (seconds, figures)
                row: dict[str, Any] = {
                    "database": name,
                    "report": label,
                    "code": package,
                    "seconds": seconds,
                    "cpu": cpu,
                }
                if groups:
                    row["groups"] = group_timings(package, session, start, end, circle)
                    session.rollback()
                rows.append(row)
            if len(packages) > 1:
                reference = results[packages[0]][1]
                for package in packages[1:]:
                    if results[package][1] != reference:
                        diff = [k for k in reference if reference[k] != results[package][1].get(k)]
                        print(f"!! {name} {label}: {package} differs from {packages[0]} on {diff}", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", help="database URL (repeatable); default CERCLE_DATABASE_URL")
    parser.add_argument("--compare", action="append", default=[], help="another analytics package to time too")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--groups", action="store_true", help="time each figure group too")
    parser.add_argument("--only", choices=list(TARGETS), help="one of the three reports")
    args = parser.parse_args()
    urls = args.url or [os.environ["CERCLE_DATABASE_URL"]]
    packages = ["app.analytics", *args.compare]
    rows = [row for url in urls for row in run(url, packages, args.repeat, args.groups, args.only)]

    headers = ["database", "report", "code", "best time", "best CPU", "target", "vs first code"]
    lines = []
    firsts: dict[tuple[str, str], float] = {}
    for row in rows:
        key = (row["database"], row["report"])
        firsts.setdefault(key, row["seconds"])
        speed = firsts[key] / row["seconds"] if row["seconds"] else 0
        lines.append(
            [
                row["database"],
                row["report"],
                row["code"],
                f"{row['seconds']:.3f} s",
                f"{row['cpu']:.3f} s",
                f"<= {TARGETS[row['report']]} s",
                f"{1 / speed:.2f}x" if speed else "-",
            ]
        )
    widths = [max(len(headers[i]), *(len(line[i]) for line in lines)) for i in range(len(headers))]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    if args.groups:
        print()
        for row in rows:
            parts = ", ".join(f"{k} {v:.3f}" for k, v in row["groups"].items())  # CPU seconds
            print(f"{row['database']:10} {row['report']:15} {row['code']:20} {parts}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"\nMachine: {os.cpu_count()} CPUs, load average {load:.1f}; best of {args.repeat}.")


if __name__ == "__main__":
    main()
