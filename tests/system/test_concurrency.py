"""50 concurrent writers against a real `cercle serve` process, on SQLite and on PostgreSQL.

Each writer is its own signed-in member (half by session cookie + X-CSRF-Token, half by a
Bearer API token). At the same moment they join one circle, post replies to one thread and
toggle "like" reactions on each other's posts. Afterwards the database must hold exactly what
the server acknowledged, and every denormalised counter must equal the rows it counts.
"""

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func
from sqlmodel import Session, col, select

from app import db as app_db
from app.middleware import SESSION_COOKIE
from app.models import Circle, Membership, Post, Reaction, ReadState, Thread, User
from app.security import csrf_token_for
from app.services import accounts, memberships
from tests.factories import PASSWORD, add_member, make_circle, make_thread, make_user

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 50
ROUNDS = 5  # replies (and reaction toggles) per writer
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


# A real server process ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m app.cli serve` on a database, its output kept in a log file.

    The test environment (write limits off, low argon2 cost, secret key) is passed on.
    """

    def __init__(self, database_url: str, log_path: Path, **env: str) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, CERCLE_DATABASE_URL=database_url, CERCLE_BASE_URL=self.base, **env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> "Server":
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no last commit, no flush."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def start_server(db: Session, tmp_path: Path) -> Iterator[Any]:
    """`start_server(url)` starts a server process; all are stopped after the test."""
    started: list[Server] = []

    def start(database_url: str, **env: str) -> Server:
        server = Server(database_url, tmp_path / f"server-{len(started)}.log", **env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


# Members as HTTP clients -------------------------------------------------------------------


def login_client(base: str, username: str) -> httpx.Client:
    """A browser signing in through /login (anonymous CSRF token, then the session cookie)."""
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/login")
    token = CSRF_RE.search(page.text)
    assert token, page.text[:500]
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 303, response.text[:500]
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    client.headers["X-CSRF-Token"] = csrf_token_for(cookie)
    return client


def cookie_client(base: str, session: Session, user: User) -> httpx.Client:
    """A signed-in browser: the session cookie, and the CSRF token its pages carry as a header."""
    started = accounts.start_session(session, user=user, user_agent="load test")
    client = httpx.Client(base_url=base, timeout=60, cookies={SESSION_COOKIE: started.token})
    client.headers["X-CSRF-Token"] = csrf_token_for(started.token)
    return client


def bearer_client(base: str, session: Session, user: User) -> httpx.Client:
    token = accounts.create_api_token(session, user=user, name="load test")
    return httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})


def members_as_clients(session: Session, base: str, users: list[User]) -> list[httpx.Client]:
    """Half the members by session cookie + X-CSRF-Token header (some through /login), half by Bearer token."""
    return [
        bearer_client(base, session, u)
        if i % 2
        else login_client(base, u.username)
        if i % 10 == 0
        else cookie_client(base, session, u)
        for i, u in enumerate(users)
    ]


@dataclass
class Outcome:
    """What the server answered, collected from every writer thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    replies: dict[int, tuple[int, int, str]] = field(default_factory=dict)  # post id -> writer, number, body
    reactions: dict[tuple[int, int], bool] = field(default_factory=dict)  # (writer, post) -> on
    slowest: float = 0.0

    def record(self, action: str, response: httpx.Response, expected: int, elapsed: float) -> bool:
        with self.lock:
            self.statuses[(action, response.status_code)] += 1
            self.slowest = max(self.slowest, elapsed)
            if response.status_code != expected:
                self.unexpected.append(f"{action}: {response.status_code} {response.text[:300]}")
                return False
            return True

    @property
    def server_errors(self) -> int:
        return sum(n for (_action, status), n in self.statuses.items() if status >= 500)


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = call(*args, **kwargs)
    return response, time.perf_counter() - started


# The test ----------------------------------------------------------------------------------


def test_fifty_concurrent_writers_lose_nothing_and_counters_match(db, database_url, start_server):
    host = make_user(db, "host")
    circle = make_circle(db, "agora")
    add_member(db, circle, host, host=True)
    thread = make_thread(db, circle, host, title="A busy thread", body="Everyone answers here.")
    opening_id = db.exec(select(Post.id).where(Post.thread_id == thread.id)).one()
    users = [make_user(db, f"writer{i:02d}") for i in range(WRITERS)]
    user_ids = [u.id for u in users]
    server = start_server(database_url)
    clients = members_as_clients(db, server.base, users)
    outcome = Outcome()
    posted: list[tuple[int, int]] = [(opening_id, host.id)]  # (post id, author id), shared by the writers
    posted_lock = threading.Lock()
    barrier = threading.Barrier(WRITERS)
    crashed: list[BaseException] = []

    def writer(index: int) -> None:
        client, me, rng = clients[index], user_ids[index], random.Random(index)
        try:
            barrier.wait(timeout=60)
            response, elapsed = timed(client.post, f"/api/v1/circles/{circle.slug}/join")
            if outcome.record("join", response, 200, elapsed):
                assert response.json()["state"] == "active"
            for round_ in range(ROUNDS):
                body = f"Reply {round_} from writer {index}: {rng.random():.6f}"
                response, elapsed = timed(client.post, f"/api/v1/threads/{thread.id}/posts", json={"body": body})
                if outcome.record("reply", response, 201, elapsed):
                    data = response.json()
                    with outcome.lock:
                        outcome.replies[data["id"]] = (index, data["number"], body)
                    with posted_lock:
                        posted.append((data["id"], me))
                with posted_lock:
                    others = [post_id for post_id, author in posted if author != me]
                target = rng.choice(others)
                response, elapsed = timed(client.post, f"/api/v1/posts/{target}/reactions/like")
                if outcome.record("react", response, 200, elapsed):
                    with outcome.lock:
                        expected_on = not outcome.reactions.get((index, target), False)
                        outcome.reactions[(index, target)] = response.json()["on"]
                    assert response.json()["on"] is expected_on, (index, target)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            crashed.append(error)

    db.commit()  # on SQLite, a transaction left open here would hold the write lock
    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    duration = time.perf_counter() - started
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert not crashed, crashed[:3]

    kind = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    writes = sum(outcome.statuses.values())
    print(
        f"\n[{kind}] {writes} writes in {duration:.1f} s ({writes / duration:.0f}/s), "
        f"slowest {outcome.slowest:.2f} s; statuses {dict(sorted(outcome.statuses.items()))}"
    )

    # Zero 5xx; on SQLite, contention waits (busy timeout) instead of "database is locked".
    assert outcome.server_errors == 0, outcome.unexpected[:5]
    assert not outcome.unexpected, outcome.unexpected[:5]
    assert "database is locked" not in server.log()
    assert "Traceback" not in server.log(), server.log()[-3000:]
    assert len(outcome.replies) == WRITERS * ROUNDS

    with app_db.open_session() as session:
        lost = check_database(session, thread_id=thread.id, circle_id=circle.id, outcome=outcome, user_ids=user_ids)
    check_unread_counts(clients, thread_id=thread.id, slug=circle.slug, outcome=outcome)
    for client in clients:
        client.close()
    print(f"[{kind}] {WRITERS} writers, {len(outcome.replies)} posts, {lost} lost, {outcome.server_errors} 5xx")


def check_database(session: Session, *, thread_id: int, circle_id: int, outcome: Outcome, user_ids: list[int]) -> int:
    rows = {p.id: p for p in session.exec(select(Post).where(Post.thread_id == thread_id)).all()}
    # Every acknowledged reply is there, with the number and text the server gave back.
    lost = [post_id for post_id in outcome.replies if post_id not in rows]
    assert not lost, f"{len(lost)} acknowledged replies are missing"
    for post_id, (index, number, body) in outcome.replies.items():
        post = rows[post_id]
        assert (post.author_id, post.number, post.body_md) == (user_ids[index], number, body)
    # Nothing else was written, and numbers are 1..n without gaps or duplicates.
    assert len(rows) == len(outcome.replies) + 1
    numbers = sorted(p.number for p in rows.values())
    assert numbers == list(range(1, len(rows) + 1))

    thread = session.get(Thread, thread_id)
    assert thread is not None
    visible = [p for p in rows.values() if p.deleted_at is None and not p.hidden]
    assert thread.last_number == len(rows)
    assert thread.post_count == len(visible)
    assert thread.reply_count == len([p for p in visible if not p.opening])

    # Reactions: exactly the ones whose last toggle said "on".
    expected = {(user_ids[index], post_id) for (index, post_id), on in outcome.reactions.items() if on}
    actual = set(session.exec(select(Reaction.user_id, Reaction.post_id).where(Reaction.kind == "like")).all())
    assert actual == expected
    per_post = dict(session.exec(select(Reaction.post_id, func.count()).group_by(col(Reaction.post_id))).all())
    assert per_post == dict(Counter(post_id for _user, post_id in expected))

    # The circle's member count equals its active memberships: the host and the 50 writers.
    circle = session.get(Circle, circle_id)
    assert circle is not None
    active = session.exec(
        select(func.count()).where(Membership.circle_id == circle_id, Membership.state == "active")
    ).one()
    assert active == len(user_ids) + 1
    assert circle.member_count == active

    # Each writer's read mark is its own last reply, never past the thread's end.
    marks = dict(
        session.exec(
            select(ReadState.user_id, ReadState.last_read_number).where(ReadState.thread_id == thread_id)
        ).all()
    )
    for index, user_id in enumerate(user_ids):
        own = max(n for i, n, _body in outcome.replies.values() if i == index)
        assert marks[user_id] == own <= thread.last_number
    return len(lost)


def check_unread_counts(clients: list[httpx.Client], *, thread_id: int, slug: str, outcome: Outcome) -> None:
    """The API's unread count is what each writer has not seen: the posts after its last reply."""
    last_number = len(outcome.replies) + 1

    def check(index: int) -> None:
        client = clients[index]
        listing = client.get(f"/api/v1/circles/{slug}/threads")
        assert listing.status_code == 200, listing.text[:300]
        row = next(t for t in listing.json() if t["id"] == thread_id)
        own = max(n for i, n, _body in outcome.replies.values() if i == index)
        assert row["unread"] == last_number - own
        assert row["reply_count"] == last_number - 1
        assert client.post(f"/api/v1/threads/{thread_id}/read").status_code == 204
        listing = client.get(f"/api/v1/circles/{slug}/threads")
        assert next(t for t in listing.json() if t["id"] == thread_id)["unread"] == 0

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(check, range(len(clients))))


def test_double_submitted_joins_are_one_membership(db, database_url, start_server):
    """A double click on "Join" sends two requests at once: one membership, no error."""
    circle = make_circle(db, "double")
    users = [make_user(db, f"clicker{i:02d}") for i in range(10)]
    server = start_server(database_url)
    clients = members_as_clients(db, server.base, users)
    barrier = threading.Barrier(2 * len(clients))
    statuses: list[int] = []

    def click(client: httpx.Client) -> None:
        barrier.wait(timeout=30)
        statuses.append(client.post(f"/api/v1/circles/{circle.slug}/join").status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for client in clients:
        client.close()
    print(f"\ndouble joins: {Counter(statuses)}")
    assert statuses == [200] * len(threads)
    with app_db.open_session() as session:
        rows = session.exec(select(Membership.user_id).where(Membership.circle_id == circle.id)).all()
        assert sorted(rows) == sorted(u.id for u in users)
        assert session.get(Circle, circle.id).member_count == len(users)  # type: ignore[union-attr]


def test_joins_committing_in_the_same_instant_are_all_counted(db, database_url):
    """member_count stays exact when joins overlap: each transaction here is slow to commit.

    On PostgreSQL, an UPDATE that waited for another's row lock keeps its older snapshot; a
    count made inside it misses the other join. The circle row is locked before counting.
    """
    circle = make_circle(db, "crowd")
    users = [make_user(db, f"joiner{i:02d}") for i in range(12)]
    circle_id, user_ids = circle.id, [u.id for u in users]
    engine = app_db.get_engine()

    def linger(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE CIRCLE SET MEMBER_COUNT"):
            time.sleep(0.15)  # holds the lock a while before the commit: overlaps are certain

    barrier = threading.Barrier(len(user_ids))
    errors: list[BaseException] = []

    def join(user_id: int) -> None:
        try:
            with app_db.open_session() as session:
                barrier.wait(timeout=30)
                memberships.join(session, circle=session.get(Circle, circle_id), user=session.get(User, user_id))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    event.listen(engine, "after_cursor_execute", linger)
    try:
        threads = [threading.Thread(target=join, args=(user_id,)) for user_id in user_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        event.remove(engine, "after_cursor_execute", linger)
    assert not errors, errors[:3]
    with app_db.open_session() as session:
        active = session.exec(
            select(func.count()).where(Membership.circle_id == circle_id, Membership.state == "active")
        ).one()
        count = session.get(Circle, circle_id).member_count  # type: ignore[union-attr]
    print(f"\n{len(user_ids)} overlapping joins: member_count {count}, active memberships {active}")
    assert active == len(user_ids)
    assert count == active
