"""Faults under load: the server killed with SIGKILL mid-write, PostgreSQL restarted mid-traffic.

The restart test makes a throwaway PostgreSQL cluster of its own (`pg_createcluster`, on a free
port) and restarts that one with `pg_ctlcluster`: the shared test cluster, and whatever else runs
on it, is never touched. It needs root (as in CI) and Debian's postgresql-common. The module is
marked `faults` (slow: real server processes, a cluster made and dropped) so it can be run apart:

    pytest -m "not faults"            # the main run
    pytest -m faults -p no:xdist      # these tests

CERCLE_TEST_PG_VERSION picks the PostgreSQL version of the private cluster (15 by default).
"""

import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from app import db as app_db
from app.cli import run_migrations
from app.config import get_settings
from app.models import Circle, Membership, Post, Reaction, Thread, User
from tests.conftest import PG_MODE, use_database
from tests.factories import add_member, make_circle, make_thread, make_user
from tests.system.test_concurrency import Server, bearer_client, cookie_client, free_port

pytestmark = pytest.mark.faults  # registered in pyproject.toml; `make pytest` runs these apart

HANG_SECONDS = 10.0


# Shared: a forum with writers --------------------------------------------------------------


@dataclass
class Forum:
    circle_id: int
    thread_id: int
    opening_id: int
    user_ids: list[int]


def make_forum(session: Session, writers: int) -> Forum:
    host = make_user(session, "host")
    circle = make_circle(session, "agora")
    add_member(session, circle, host, host=True)
    thread = make_thread(session, circle, host, title="Under fire", body="Keep writing.")
    users = [make_user(session, f"writer{i:02d}") for i in range(writers)]
    for user in users:
        add_member(session, circle, user)
    opening_id = session.exec(select(Post.id).where(Post.thread_id == thread.id)).one()
    return Forum(circle.id, thread.id, opening_id, [u.id for u in users])  # type: ignore[arg-type]


def check_consistency(session: Session, forum: Forum, acknowledged: dict[int, tuple[int, str]]) -> dict[str, int]:
    """Every acknowledged reply is stored; every counter equals a recount of its rows."""
    rows = {p.id: p for p in session.exec(select(Post).where(Post.thread_id == forum.thread_id)).all()}
    lost = [post_id for post_id in acknowledged if post_id not in rows]
    assert not lost, f"{len(lost)} replies acknowledged with 201 are missing: {lost[:10]}"
    for post_id, (number, body) in acknowledged.items():
        assert (rows[post_id].number, rows[post_id].body_md) == (number, body)
    thread = session.get(Thread, forum.thread_id)
    assert thread is not None
    numbers = sorted(p.number for p in rows.values())
    assert numbers == list(range(1, len(rows) + 1)), "post numbers have gaps or duplicates"
    visible = [p for p in rows.values() if p.deleted_at is None and not p.hidden]
    assert thread.last_number == len(rows)
    assert thread.post_count == len(visible)
    assert thread.reply_count == len([p for p in visible if not p.opening])
    circle = session.get(Circle, forum.circle_id)
    assert circle is not None
    active = session.exec(
        select(func.count()).where(Membership.circle_id == forum.circle_id, Membership.state == "active")
    ).one()
    assert circle.member_count == active
    orphans = session.exec(
        select(func.count()).select_from(Reaction).where(col(Reaction.post_id).not_in(select(Post.id)))
    ).one()
    assert orphans == 0
    return {"stored": len(rows) - 1, "lost": len(lost)}


# SIGKILL of the server during writes (SQLite and PostgreSQL) --------------------------------


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Server processes to stop after the test, whatever happened."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def test_sigkill_during_writes_loses_no_acknowledged_reply(db, database_url, servers, tmp_path):
    forum = make_forum(db, writers=8)
    first = Server(database_url, tmp_path / "before-kill.log")
    servers.append(first.start())
    users = [db.get(User, user_id) for user_id in forum.user_ids]
    clients = [
        bearer_client(first.base, db, u) if i % 2 else cookie_client(first.base, db, u)  # type: ignore[arg-type]
        for i, u in enumerate(users)
    ]
    acknowledged: dict[int, tuple[int, str]] = {}
    lock = threading.Lock()
    statuses: Counter[Any] = Counter()
    killed = threading.Event()

    def write(index: int) -> None:
        client, sent = clients[index], 0
        while not killed.is_set() or sent == 0:
            body = f"writer {index}, reply {sent}"
            sent += 1
            try:
                response = client.post(f"/api/v1/threads/{forum.thread_id}/posts", json={"body": body})
            except httpx.TransportError:
                with lock:
                    statuses["no answer"] += 1
                return  # the server is gone: this reply may or may not be stored
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    acknowledged[response.json()["id"]] = (response.json()["number"], body)
            if response.status_code == 201 and sent % 3 == 0:
                try:
                    client.post(f"/api/v1/posts/{forum.opening_id}/reactions/like")
                except httpx.TransportError:
                    return

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.kill()  # mid-stream: writers are waiting for answers at this instant
    killed.set()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    for client in clients:
        client.close()
    before_kill = len(acknowledged)
    assert before_kill >= 60, statuses
    assert statuses["no answer"] >= 1, "the kill came after the writes, not during them"
    assert all(status in (201, "no answer") for status in statuses), statuses

    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    integrity = "n/a"
    if kind == "sqlite":
        path = make_url(database_url).database
        assert path
        with sqlite3.connect(path) as raw:  # opening it recovers the WAL left by the killed process
            integrity = raw.execute("PRAGMA integrity_check").fetchone()[0]
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        assert integrity == "ok"

    second = Server(database_url, tmp_path / "after-kill.log")
    servers.append(second.start())
    with app_db.open_session() as session:
        figures = check_consistency(session, forum, acknowledged)
        last_number = session.get(Thread, forum.thread_id).last_number  # type: ignore[union-attr]
    # The restarted server carries on: the next reply takes the next number.
    with bearer_client(second.base, db, users[1]) as client:  # type: ignore[arg-type]
        response = client.post(f"/api/v1/threads/{forum.thread_id}/posts", json={"body": "after the restart"})
        assert response.status_code == 201, response.text
        assert response.json()["number"] == last_number + 1
    in_flight = figures["stored"] - before_kill
    print(
        f"\nfaults survived: SIGKILL ({kind}): {before_kill} replies acknowledged before the kill, "
        f"{figures['lost']} lost, {in_flight} more stored from requests cut off, integrity {integrity}, "
        f"counters equal the rows"
    )


# PostgreSQL restarted under load -------------------------------------------------------------


@dataclass
class PrivateCluster:
    version: str
    name: str
    port: int
    url: str

    def ctl(self, action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(
                    host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=2
                ) as conn:
                    conn.execute("SELECT 1")
                return True
            except psycopg.Error:
                time.sleep(0.2)
        return False


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster of this test's own, migrated, the app pointed at it; dropped after."""
    problem = None
    if shutil.which("pg_createcluster") is None or shutil.which("pg_ctlcluster") is None:
        problem = "pg_createcluster / pg_ctlcluster (postgresql-common) are not installed"
    elif os.geteuid() != 0:
        problem = "making a PostgreSQL cluster needs root"
    elif PG_MODE == "off":
        problem = "disabled by CERCLE_TEST_POSTGRES=off"
    if problem:
        if PG_MODE == "required":
            pytest.fail(f"PostgreSQL is required: {problem}")
        pytest.skip(problem)
    version = os.environ.get("CERCLE_TEST_PG_VERSION", "15")
    name = f"cercle_faults_{os.getpid()}"
    port = free_port()
    made = subprocess.run(
        ["pg_createcluster", version, name, "-p", str(port), "--", "-A", "trust"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    previous = os.environ.get("CERCLE_DATABASE_URL")
    cluster = PrivateCluster(version, name, port, f"postgresql+psycopg://postgres@127.0.0.1:{port}/cercle")
    try:
        started = cluster.ctl("start")
        assert started.returncode == 0, started.stdout + started.stderr
        assert cluster.ready(60)
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE cercle")
        use_database(cluster.url)
        run_migrations()
        yield cluster
    finally:
        app_db.get_engine().dispose()
        if previous:
            use_database(previous)
        else:
            os.environ.pop("CERCLE_DATABASE_URL", None)
            get_settings.cache_clear()
            app_db._engine_for.cache_clear()
        subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True, timeout=120)


@dataclass
class Traffic:
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: list[tuple[float, float, str, int | str]] = field(default_factory=list)  # start, seconds, what, status
    bad: list[str] = field(default_factory=list)
    acknowledged: dict[int, tuple[int, str]] = field(default_factory=dict)


def test_postgresql_restart_gives_clean_503s_then_recovers(private_cluster, servers, tmp_path):
    with app_db.open_session() as session:
        forum = make_forum(session, writers=2)
        writer, reader = (session.get(User, user_id) for user_id in forum.user_ids)
        server = Server(private_cluster.url, tmp_path / "server.log")
        servers.append(server.start())
        api = bearer_client(server.base, session, writer)  # type: ignore[arg-type]
        browser = cookie_client(server.base, session, reader)  # type: ignore[arg-type]
    api.timeout = browser.timeout = httpx.Timeout(HANG_SECONDS + 20)
    traffic = Traffic()
    stop = threading.Event()

    def check(what: str, response: httpx.Response, body: str = "") -> None:
        """200/201, or a clean 503: JSON for the API, the error page for browsers, Retry-After."""
        status = response.status_code
        if status == 201 and body:
            traffic.acknowledged[response.json()["id"]] = (response.json()["number"], body)
        if status in (200, 201):
            return
        if status != 503:
            traffic.bad.append(f"{what}: {status} {response.text[:200]}")
        elif "retry-after" not in response.headers:
            traffic.bad.append(f"{what}: 503 without Retry-After")
        elif what.startswith("api") and "briefly unavailable" not in response.json().get("detail", ""):
            traffic.bad.append(f"{what}: 503 body {response.text[:200]}")
        elif not what.startswith("api") and (
            "text/html" not in response.headers["content-type"] or "Temporarily unavailable" not in response.text
        ):
            traffic.bad.append(f"{what}: 503 page {response.text[:200]}")

    def loop(what: str, call: Any) -> None:
        sent = 0
        while not stop.is_set():
            sent += 1
            started = time.monotonic()
            try:
                response, body = call(sent)
                outcome: int | str = response.status_code
            except httpx.TransportError as error:
                response, outcome = None, type(error).__name__
            elapsed = time.monotonic() - started
            with traffic.lock:
                traffic.answers.append((started, elapsed, what, outcome))
                if response is None:
                    traffic.bad.append(f"{what}: no answer ({outcome}) after {elapsed:.1f} s")
                else:
                    check(what, response, body)
            time.sleep(0.02)

    def reply(n: int) -> tuple[httpx.Response, str]:
        body = f"reply {n} through the restart"
        return api.post(f"/api/v1/threads/{forum.thread_id}/posts", json={"body": body}), body

    loops = {
        "api reply": reply,
        "api read": lambda n: (api.get(f"/api/v1/threads/{forum.thread_id}"), ""),
        "page thread": lambda n: (browser.get(f"/t/{forum.thread_id}"), ""),
        "page home": lambda n: (httpx.get(f"{server.base}/", timeout=HANG_SECONDS + 20), ""),
        "health": lambda n: (httpx.get(f"{server.base}/healthz", timeout=HANG_SECONDS + 20), ""),
    }
    workers = [threading.Thread(target=loop, args=item) for item in loops.items()]
    for t in workers:
        t.start()
    try:
        time.sleep(1.5)
        restart_began = time.monotonic()
        done = private_cluster.ctl("restart")
        assert done.returncode == 0, done.stdout + done.stderr
        assert private_cluster.ready(60), "PostgreSQL did not come back"
        ready_at = time.monotonic()
        # Recovery by itself (pool_pre_ping): within a few seconds every kind of request works again.
        deadline = ready_at + 20
        recovered_at = None
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with traffic.lock:
                recent = [a for a in traffic.answers if a[0] > time.monotonic() - 2]
            if recent and {a[2] for a in recent} == set(loops) and all(a[3] in (200, 201) for a in recent):
                recovered_at = time.monotonic()
                break
    finally:
        stop.set()
        for t in workers:
            t.join(timeout=HANG_SECONDS + 30)

    # A quiet restart (at night, say): nobody asks while PostgreSQL restarts, and the very first
    # requests after it meet only dead pooled connections. pool_pre_ping replaces them unseen.
    idle_restart = private_cluster.ctl("restart")
    assert idle_restart.returncode == 0, idle_restart.stdout + idle_restart.stderr
    assert private_cluster.ready(60)
    first_after_quiet_restart = {what: call(0)[0].status_code for what, call in loops.items()}
    api.close()
    browser.close()

    assert server.process is not None and server.process.poll() is None, "the server died"
    answers = traffic.answers
    outage = [a for a in answers if a[0] + a[1] >= restart_began and a[0] <= ready_at]
    statuses = Counter(a[3] for a in outage)
    slowest = max(a[1] for a in answers)
    print(
        f"\nPostgreSQL restart: {ready_at - restart_began:.1f} s until ready; {len(answers)} requests, "
        f"{len(outage)} during the restart {dict(statuses)}, slowest {slowest:.2f} s"
    )
    assert not traffic.bad, traffic.bad[:10]
    assert slowest < HANG_SECONDS
    assert statuses[503] >= 1, "no request met the outage: the test proves nothing"
    assert recovered_at is not None, "the server did not recover by itself"
    # A request made once PostgreSQL is back never meets a dead pooled connection.
    after = [a for a in answers if a[0] > ready_at]
    assert after and all(a[3] in (200, 201) for a in after), Counter(a[3] for a in after)
    assert all(status in (200, 201) for status in first_after_quiet_restart.values()), first_after_quiet_restart
    # After recovery, nothing acknowledged was lost and the counters agree.
    with app_db.open_session() as session:
        figures = check_consistency(session, forum, traffic.acknowledged)
    print(
        f"faults survived: PostgreSQL restart: {statuses[503]} clean 503s, 0 500s, 0 hangs, recovered "
        f"{recovered_at - ready_at:.1f} s after PostgreSQL was ready; {len(traffic.acknowledged)} replies "
        f"acknowledged, {figures['lost']} lost; first requests after a quiet restart: {first_after_quiet_restart}"
    )
