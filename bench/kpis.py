"""Import a generated dump into fresh SQLite and PostgreSQL databases, then time the KPI report.

    python bench/kpis.py                                  # 10,000 members, 100,000 posts
    python bench/kpis.py --members 100000 --posts 1000000 # the target size

The dump is made by bench/generate.py (kept in bench/data/ for the next run). Each database
is created anew, migrated, imported into with `cercle import`'s code, then the KPI report is
computed for the last 30 days, the last 365 days and one circle over 30 days. Targets for
100,000 members and 1,000,000 posts: import within 2 minutes on SQLite, 3 on PostgreSQL.
"""

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / "data"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1/cercle_bench"


def use_database(url: str) -> None:
    from app import db
    from app.config import get_settings

    if os.environ.get("CERCLE_DATABASE_URL"):
        db.get_engine().dispose()
    os.environ["CERCLE_DATABASE_URL"] = url
    get_settings.cache_clear()
    db._engine_for.cache_clear()


def fresh_sqlite(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def fresh_postgres(url: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    return url


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def kpi_timings() -> dict[str, float] | None:
    try:
        from app.analytics import report
    except ImportError:
        return None
    from sqlmodel import col, select

    from app.db import open_session
    from app.models import Circle

    end = datetime.now(UTC).date() - timedelta(days=1)
    timings: dict[str, float] = {}
    with open_session(readonly=True) as session:
        circle = session.exec(select(Circle).order_by(col(Circle.member_count).desc())).first()
        for label, start, scope in (
            ("30 days", end - timedelta(days=29), None),
            ("365 days", end - timedelta(days=364), None),
            ("circle, 30 days", end - timedelta(days=29), circle),
        ):
            timings[label], _figures = timed(lambda s=start, c=scope: report(session, start=s, end=end, circle=c))
    return timings


def own_cpu() -> tuple[float, float]:
    """CPU time used so far by this process, and by its children that ended (the parser)."""
    times = os.times()
    return times.user + times.system, times.children_user + times.children_system


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by another process (Linux), such as a PostgreSQL backend."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def run(name: str, url: str, dump: Path, parallel: bool, kpis: bool = True) -> dict[str, Any]:
    from sqlalchemy import text

    from app.cli import run_migrations
    from app.db import open_session
    from app.dump import import_dump
    from app.dump.files import open_source

    print(f"{name}: migrating a fresh database…", file=sys.stderr)
    use_database(url)
    run_migrations()

    server_cpu = [0.0]

    def load() -> dict[str, int]:
        with open_source(str(dump)) as source, open_session() as session:
            backend = None
            if session.get_bind().dialect.name == "postgresql":
                backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
                session.commit()
            before = cpu_seconds(backend) if backend else 0.0
            counts = import_dump(session, source.lines, parallel=parallel)
            server_cpu[0] = cpu_seconds(backend) - before if backend else 0.0
            return counts

    print(f"{name}: importing {dump.name}…", file=sys.stderr)
    writer_before, parser_before = own_cpu()
    seconds, counts = timed(load)
    writer_after, parser_after = own_cpu()
    cpu = (writer_after - writer_before, parser_after - parser_before, server_cpu[0])
    print(f"{name}: imported in {seconds:.1f} s (CPU: {sum(cpu):.1f} s); KPI reports…", file=sys.stderr)
    return {"database": name, "import": seconds, "cpu": cpu, "counts": counts, "kpis": kpi_timings() if kpis else None}


def table(rows: list[dict[str, Any]]) -> str:
    headers = [
        "database",
        "import",
        "import CPU: writer + parser + server",
        "KPIs 30 days",
        "KPIs 365 days",
        "KPIs circle 30 days",
    ]
    lines = []
    for row in rows:
        kpis = row["kpis"]
        writer, parser, server = row["cpu"]
        cpu = f"{writer + parser + server:.0f} s = {writer:.0f} + {parser:.0f} + {server:.0f}"
        cells = [row["database"], f"{row['import']:.1f} s", cpu]
        cells += [f"{kpis[key]:.2f} s" for key in ("30 days", "365 days", "circle, 30 days")] if kpis else ["n/a"] * 3
        lines.append(cells)
    widths = [max(len(headers[i]), *(len(line[i]) for line in lines)) for i in range(len(headers))]
    out = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    if rows and all(row["kpis"] is None for row in rows):
        out.append("KPIs: n/a (app.analytics is not there yet, or --skip-kpis)")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--dump", type=Path, help="an existing dump to import instead of a generated one")
    parser.add_argument("--sqlite", type=Path, default=DATA / "bench.db", help="SQLite file (recreated)")
    parser.add_argument("--postgres", default=PG_URL, help="PostgreSQL database (dropped and recreated)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="benchmark one database only")
    parser.add_argument("--sequential", action="store_true", help="parse in the importing process")
    parser.add_argument("--skip-kpis", action="store_true", help="time the import only")
    args = parser.parse_args()

    dump = args.dump or DATA / f"dump-{args.members}-{args.posts}.jsonl.gz"
    if not dump.exists():
        print(f"Generating {dump.name}…", file=sys.stderr)
        seconds, _ = timed(
            lambda: subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "generate.py"),
                    "--members",
                    str(args.members),
                    "--posts",
                    str(args.posts),
                    "--out",
                    str(dump),
                ],
                check=True,
            )
        )
        print(f"Generated in {seconds:.1f} s", file=sys.stderr)
    rows = []
    if args.only != "postgresql":
        rows.append(run("SQLite", fresh_sqlite(args.sqlite), dump, not args.sequential, not args.skip_kpis))
    if args.only != "sqlite":
        rows.append(run("PostgreSQL", fresh_postgres(args.postgres), dump, not args.sequential, not args.skip_kpis))
    counts = rows[0]["counts"] if rows else {}
    print(
        f"\nDump: {dump.name} ({dump.stat().st_size / 1e6:.0f} MB): "
        + ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    mode = "sequential" if args.sequential else "with a parser process"
    print(f"Machine: {os.cpu_count()} CPUs, load average {load:.1f}; import {mode}")
    print("Import CPU: this process (writes), the parser process, the PostgreSQL server backend.\n")
    print(table(rows))


if __name__ == "__main__":
    main()
