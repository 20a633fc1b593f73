"""HTTP benchmark: Cercle's pages against the Fortunes ceiling, on SQLite and PostgreSQL.

    python bench/web.py                       # 100,000 members, 1,000,000 posts (the target size)
    python bench/web.py --members 10000 --posts 100000 --duration 5
    python bench/web.py --reuse-databases     # again, on the databases the last run imported

For each database: generate (once) and import a community, start `cercle serve` and the
Fortunes app (bench/fortunes.py) with the same uvicorn settings, drive both with `wrk`
(installed with apt-get when missing), then print requests/s as a ratio to the ceiling,
p50/p99 latency, the peak RSS of the Cercle process, the bytes of a first visit, and the
time of one KPI page (a single request: it takes seconds, wrk would only count timeouts).
Every figure of one table comes from the same run: compare ratios, not absolute numbers.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
PYTHON = sys.executable
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cercle_bench_http"
PASSWORD = "bench-password-123"


def run(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(args, cwd=ROOT, env=env, check=True)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it with apt-get …", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dump_path(members: int, posts: int) -> Path:
    path = DATA / f"community-{members}-{posts}.jsonl.gz"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} …", flush=True)
        run(PYTHON, "bench/generate.py", "--members", str(members), "--posts", str(posts), "--out", str(path))
    return path


def target_file(kind: str) -> Path:
    """What setup chose (thread id, circle slug, post count), and from which dump."""
    return DATA / f"http-target-{kind}.txt"


def prepare_database(kind: str, dump: Path, *, reuse: bool = False) -> str:
    url = f"sqlite:///{DATA / 'http.db'}" if kind == "sqlite" else PG_URL
    env = bench_env(url)
    target = target_file(kind)
    if reuse and target.exists() and target.read_text().split()[3:] == [dump.name]:
        # The community imported by an earlier run of the same dump (a few more replies in it).
        run(PYTHON, "-m", "app.cli", "migrate", env=env)
        print(f"  reusing the {kind} database imported earlier from {dump.name}", flush=True)
        return url
    target.unlink(missing_ok=True)
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DATA / 'http.db'}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS cercle_bench_http WITH (FORCE)")
            conn.execute("CREATE DATABASE cercle_bench_http")
    run(PYTHON, "-m", "app.cli", "migrate", env=env)
    started = time.perf_counter()
    run(PYTHON, "-m", "app.cli", "import", str(dump), env=env)
    print(f"  imported into {kind} in {time.perf_counter() - started:.0f} s", flush=True)
    run(PYTHON, "-c", SETUP_SCRIPT, str(target), dump.name, env=env)
    return url


# A member with a password in the busiest circle, a 200-post thread to read, the Fortunes table.
SETUP_SCRIPT = f"""
import sys
from sqlmodel import select, col, func
from app.db import open_session
from app.models import Thread, Circle, Post
from app.services import accounts, memberships
from app import permissions
import bench.fortunes as fortunes
with open_session() as s:
    user = accounts.register_user(s, username="benchuser", email="bench@example.com", password="{PASSWORD}")
    thread = s.exec(select(Thread).where(Thread.post_count >= 200, Thread.hidden == False)
                    .order_by(Thread.post_count).limit(1)).first()
    if thread is None:
        thread = s.exec(select(Thread).where(Thread.hidden == False).order_by(col(Thread.post_count).desc()).limit(1)).first()
    circle = s.get(Circle, thread.circle_id)
    memberships._activate(s, circle=circle, user=user, membership=permissions.membership_of(s, user, circle))
    s.commit()
    open(sys.argv[1], "w").write(f"{{thread.id}} {{circle.slug}} {{thread.post_count}} {{sys.argv[2]}}")
fortunes.create_table()
"""


def bench_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CERCLE_DATABASE_URL": url,
            "CERCLE_ENV": "production",
            "CERCLE_SECRET_KEY": "bench-secret-key-not-for-production",
            "CERCLE_REPLIES_PER_10_MINUTES": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server on port {port} did not start")


def sign_in(base: str) -> tuple[str, str]:
    with httpx.Client(base_url=base, timeout=60) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "benchuser", "password": PASSWORD, "csrf_token": token})
        cookie = client.cookies["cercle_session"]
        page = client.get("/")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return cookie, csrf


LUA_POST = """
wrk.method = "POST"
wrk.body = "body=A+benchmark+reply+with+**Markdown**+and+a+mention+%40benchuser"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["HX-Request"] = "true"
"""


def wrk(
    wrk_bin: str, url: str, *, duration: int, connections: int, headers: dict[str, str], script: str | None = None
) -> tuple[float, float, float]:
    command = [wrk_bin, "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        print(f"  warning: {non2xx.group(1)} error responses on {url}", flush=True)
    return rps, _percentile(output, "50%"), _percentile(output, "99%")


def _percentile(output: str, label: str) -> float:
    match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def peak_rss_mb(pid: int, *, reset: bool = False) -> float:
    """The peak resident memory so far; `reset` starts a new peak (Linux: clear_refs 5)."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]
    if reset:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    return peak


def first_visit_bytes(base: str, path: str, cookie: str) -> int:
    """Bytes on the wire for the page and its CSS/JS, compressed as served (a cold cache)."""
    headers = {"Accept-Encoding": "gzip", "Cookie": f"cercle_session={cookie}"}
    total = 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        page = client.get(path)
        total += len(_raw(client, path))
        for asset in re.findall(r'(?:href|src)="(/(?:static|theme)[^"]+)"', page.text):
            total += len(_raw(client, asset.replace("&amp;", "&")))
    return total


def _raw(client: httpx.Client, path: str) -> bytes:
    with client.stream("GET", path) as response:
        return b"".join(response.iter_raw())


def fragment_bytes(base: str, thread_id: int, cookie: str, csrf: str) -> int:
    headers = {
        "Accept-Encoding": "gzip",
        "Cookie": f"cercle_session={cookie}",
        "HX-Request": "true",
        "X-CSRF-Token": csrf,
    }
    with (
        httpx.Client(base_url=base, headers=headers, timeout=60) as client,
        client.stream(
            "POST", f"/t/{thread_id}/reply", data={"body": "Measuring the size of an htmx reply."}
        ) as response,
    ):
        return len(b"".join(response.iter_raw()))


def bench_database(
    kind: str, dump: Path, wrk_bin: str, duration: int, connections: int, kpi_timeout: float, reuse: bool
) -> list[str]:
    url = prepare_database(kind, dump, reuse=reuse)
    env = bench_env(url)
    thread_id, circle_slug, post_count = target_file(kind).read_text().split()[:3]
    cercle_port, ceiling_port = free_port(), free_port()
    cercle = start(
        [PYTHON, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(cercle_port)], env, cercle_port
    )
    ceiling = start(
        [
            PYTHON,
            "-m",
            "uvicorn",
            "bench.fortunes:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(ceiling_port),
            "--no-access-log",
        ],
        env,
        ceiling_port,
    )
    lines = []
    try:
        base = f"http://127.0.0.1:{cercle_port}"
        cookie, csrf = sign_in(base)
        # Checking a password (argon2, CERCLE_ARGON2_MEMORY_COST: 64 MiB by default) is a peak of
        # its own: measured apart, then the pages' peak starts.
        sign_in_rss = peak_rss_mb(cercle.pid, reset=True)
        auth = {"Cookie": f"cercle_session={cookie}", "Accept-Encoding": "gzip"}
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA_POST + f'wrk.headers["X-CSRF-Token"] = "{csrf}"\n')
        lines.append(f"{kind:<10} load average at the start: {load_average()}")
        ceiling_rps, ceiling_p50, ceiling_p99 = wrk(
            wrk_bin,
            f"http://127.0.0.1:{ceiling_port}/fortunes",
            duration=duration,
            connections=connections,
            headers={"Accept-Encoding": "gzip"},
        )
        lines.append(
            f"{kind:<10} {'Fortunes (ceiling)':<26} {ceiling_rps:>9.0f} {1:>7.2f} {ceiling_p50:>8.1f} "
            f"{ceiling_p99:>8.1f}"
        )
        targets = [
            (f"thread page ({post_count} posts)", f"{base}/t/{thread_id}", None),
            ("circle page", f"{base}/c/{circle_slug}", None),
            ("home page (signed in)", f"{base}/", None),
            ("search", f"{base}/search?q=coffee", None),
            ("reply (write path)", f"{base}/t/{thread_id}/reply", script.name),
        ]
        for label, target, lua in targets:
            rps, p50, p99 = wrk(
                wrk_bin, target, duration=duration, connections=connections, headers=auth, script=lua
            )
            lines.append(f"{kind:<10} {label:<26} {rps:>9.1f} {rps / ceiling_rps:>7.2f} {p50:>8.1f} {p99:>8.1f}")
        pages_rss = peak_rss_mb(cercle.pid)
        admin_cookie = _admin_cookie(base, env)
        peak_rss_mb(cercle.pid, reset=True)
        # One KPI report takes seconds to minutes: wrk's 2 s timeout would only count failures,
        # so it is one timed request, after which the peak RSS is read again.
        kpi_seconds = kpi_request_seconds(base, admin_cookie, kpi_timeout)
        kpi_text = f"{kpi_seconds:.1f} s" if kpi_seconds is not None else f"> {kpi_timeout:.0f} s (gave up)"
        lines.append(f"{kind:<10} KPI page (30 days), one request: {kpi_text}")
        lines.append(
            f"{kind:<10} peak RSS of the Cercle process: {pages_rss:.0f} MB serving the pages above, "
            f"{peak_rss_mb(cercle.pid):.0f} MB during the KPI page, {sign_in_rss:.0f} MB up to the first sign-in"
        )
        lines.append(
            f"{kind:<10} first visit of the thread page: {first_visit_bytes(base, f'/t/{thread_id}', cookie) / 1024:.1f} KB"
            f" (HTML + CSS + JS, gzip); htmx reply fragment: "
            f"{fragment_bytes(base, int(thread_id), cookie, csrf)} bytes"
        )
        lines.append(f"{kind:<10} thread page p99 / ceiling p99: {_p99_ratio(lines, ceiling_p99):.1f}×")
    finally:
        for process in (cercle, ceiling):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:  # still busy with a request it was given up on
                process.kill()
                process.wait()
    return lines


def kpi_request_seconds(base: str, cookie: str, timeout: float) -> float | None:
    headers = {"Cookie": f"cercle_session={cookie}", "Accept-Encoding": "gzip"}
    started = time.perf_counter()
    try:
        response = httpx.get(f"{base}/admin/kpis", headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return None
    if response.status_code != 200:
        print(f"  warning: the KPI page answered {response.status_code}", flush=True)
    return time.perf_counter() - started


def _p99_ratio(lines: list[str], ceiling_p99: float) -> float:
    thread_line = next(line for line in lines if "thread page" in line)
    return float(thread_line.split()[-1]) / ceiling_p99


def _admin_cookie(base: str, env: dict[str, str]) -> str:
    subprocess.run([PYTHON, "-c", ADMIN_SCRIPT], cwd=ROOT, env=env, check=True)
    with httpx.Client(base_url=base, timeout=60) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "benchadmin", "password": PASSWORD, "csrf_token": token})
        return client.cookies["cercle_session"]


ADMIN_SCRIPT = f"""
from app.db import open_session
from app.services import accounts
with open_session() as s:
    if accounts.find_by_login(s, "benchadmin") is None:
        accounts.create_admin(s, username="benchadmin", email="benchadmin@example.com", password="{PASSWORD}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--kpi-timeout", type=float, default=300, help="seconds to wait for the KPI page")
    parser.add_argument(
        "--reuse-databases", action="store_true", help="skip the import when the last run imported the same dump"
    )
    options = parser.parse_args()
    wrk_bin = ensure_wrk()
    dump = dump_path(options.members, options.posts)
    print(
        f"\nCercle HTTP benchmark — {options.members:,} members, {options.posts:,} posts, "
        f"{options.duration}s × {options.connections} connections per page, 1 process\n"
    )
    results = []
    for kind in options.databases.split(","):
        results += bench_database(
            kind, dump, wrk_bin, options.duration, options.connections, options.kpi_timeout, options.reuse_databases
        )
        results.append(f"{kind:<10} load average at the end: {load_average()}")
    print(f"\n{'database':<10} {'page':<26} {'req/s':>9} {'ratio':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for line in results:
        print(line)


def load_average() -> str:
    """The machine's load (1, 5, 15 minutes): other work on it makes absolute numbers noisy."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
