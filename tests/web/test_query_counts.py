"""Hot pages run a fixed number of SQL statements, whatever the number of posts or threads shown.

Each test builds a small and a large case in one database, warms the per-process caches
(site settings, today's visits) with a first request, then counts one request of each case.
"""

from typing import Any

import pytest
from sqlmodel import Session

from app import web
from app.models import Circle, Thread, User
from app.services import posts
from tests.factories import add_member, login, make_circle, make_reply, make_thread, make_user

# Pinned figures: a change here is a change of the page's queries, on purpose or not.
# Thread page (first view): session, thread+circle, membership, posts with authors and quoted
# parents, reaction counts, my reactions, read mark; then the read-mark upsert and the
# notifications of the thread marked read.
THREAD_PAGE_QUERIES = 9
# Circle page: session, circle, membership, thread count, threads with authors and read marks.
CIRCLE_PAGE_QUERIES = 5
# Home page: session, my circles with unread counts, latest threads with authors and read marks.
HOME_PAGE_QUERIES = 3


@pytest.fixture(autouse=True)
def _steady_site_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The site settings are cached for a few seconds: a slow run must not reload them mid-count.
    monkeypatch.setattr(web, "SITE_CACHE_SECONDS", 3600.0)


def _login(client: Any, db: Session, user: User) -> Any:
    db.commit()
    return login(client, user)


def _thread_with(db: Session, circle: Circle, author: User, others: list[User], posts_count: int,
                 title: str) -> Thread:
    thread = make_thread(db, circle, author, title=title, body="Opening with @" + others[0].username)
    previous = None
    for n in range(2, posts_count + 1):
        replier = others[n % len(others)]
        # Every other reply quotes the post before it: quoted parents must not cost a query each.
        previous = make_reply(db, thread, replier, f"Reply {n} **bold** @{author.username}",
                              reply_to=previous if n % 2 else None)
    return thread


def _react_to_everything(db: Session, circle: Circle, thread: Thread, users: list[User]) -> None:
    from sqlmodel import select

    from app import permissions
    from app.models import Post

    for post in db.exec(select(Post).where(Post.thread_id == thread.id)).all():
        for user in users:
            if user.id != post.author_id:
                posts.toggle_reaction(db, post=post, access=permissions.circle_access(db, user, circle),
                                      user=user, kind="like")


def _count(count_queries: Any, client: Any, path: str) -> int:
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return counter.count


def _community(db: Session) -> tuple[Circle, User, list[User]]:
    circle = make_circle(db, "espresso")
    reader = make_user(db, "reader")
    writers = [make_user(db, f"writer{n}") for n in range(4)]
    for user in [reader, *writers]:
        add_member(db, circle, user)
    return circle, reader, writers


def test_the_thread_page_runs_a_fixed_number_of_queries(client, db, count_queries):
    circle, reader, writers = _community(db)
    small = _thread_with(db, circle, writers[0], writers[1:], 3, "Small")
    large = _thread_with(db, circle, writers[0], writers[1:], 20, "Large")
    for thread in (small, large):
        _react_to_everything(db, circle, thread, writers)
    _login(client, db, reader)
    client.get("/c/espresso")  # warms today's site and circle visits
    small_count = _count(count_queries, client, f"/t/{small.id}")
    large_count = _count(count_queries, client, f"/t/{large.id}")
    assert small_count == large_count
    assert large_count == THREAD_PAGE_QUERIES


def test_the_circle_page_runs_a_fixed_number_of_queries(client, db, count_queries):
    circle, reader, writers = _community(db)
    other = make_circle(db, "tea")
    for user in [reader, *writers]:
        add_member(db, other, user)
    for n in range(3):
        make_thread(db, circle, writers[n % 4], title=f"Espresso {n}")
    for n in range(20):
        make_thread(db, other, writers[n % 4], title=f"Tea {n}")
    _login(client, db, reader)
    client.get("/c/espresso")
    client.get("/c/tea")
    small_count = _count(count_queries, client, "/c/espresso")
    large_count = _count(count_queries, client, "/c/tea")
    assert small_count == large_count
    assert large_count == CIRCLE_PAGE_QUERIES


def test_the_home_page_runs_a_fixed_number_of_queries(client, db, count_queries, make_client):
    small_circle, small_reader, small_writers = _community(db)
    large_circle = make_circle(db, "tea")
    large_reader = make_user(db, "large_reader")
    for user in [large_reader, *small_writers]:
        add_member(db, large_circle, user)
    extra = make_circle(db, "cocoa")
    for user in [large_reader, *small_writers]:
        add_member(db, extra, user)
    for n in range(3):
        make_thread(db, small_circle, small_writers[n % 4], title=f"Espresso {n}")
    for n in range(20):
        make_thread(db, large_circle if n % 2 else extra, small_writers[n % 4], title=f"Tea {n}")
        if n % 2:
            make_thread(db, large_circle, small_writers[0], title=f"More tea {n}")
    small_browser = _login(client, db, small_reader)
    large_browser = _login(make_client(), db, large_reader)
    small_browser.get("/")
    large_browser.get("/")
    small_count = _count(count_queries, small_browser, "/")
    large_count = _count(count_queries, large_browser, "/")
    assert small_count == large_count
    assert large_count == HOME_PAGE_QUERIES
