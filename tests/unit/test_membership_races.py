"""Two "ask to join" (or "join") for one person and circle at once: one row, no error (both databases)."""

import threading
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, func, select

from app import db as app_db
from app import permissions
from app.models import Circle, Membership, Notification, User
from app.services import memberships
from tests.factories import add_member, make_circle, make_user


def _rows(session: Session, circle_id: int, user_id: int) -> list[Membership]:
    statement = select(Membership).where(Membership.circle_id == circle_id, Membership.user_id == user_id)
    return list(session.exec(statement).all())


def _join_requests_to(session: Session, host_id: int) -> int:
    statement = select(func.count()).where(Notification.user_id == host_id, Notification.kind == "join_request")
    return session.exec(statement).one()


def test_a_request_that_loses_the_insert_race_answers_already_requested(db, monkeypatch):
    """Deterministic: the request decided "not a member yet" just before the other one committed."""
    circle = make_circle(db, "roastery", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    stale = permissions.circle_access(db, alice, circle)
    assert stale.membership is None
    db.commit()
    with app_db.open_session() as other:
        first = memberships.request_to_join(
            other, circle=other.get(Circle, circle.id), user=other.get(User, alice.id), message="first"  # type: ignore[arg-type]
        )
    monkeypatch.setattr(memberships.permissions, "circle_access", lambda *_args: stale)

    second = memberships.request_to_join(db, circle=circle, user=alice, message="second")

    assert second.id == first.id
    assert second.state == "pending"
    db.expire_all()
    rows = _rows(db, circle.id, alice.id)  # type: ignore[arg-type]
    assert [(row.state, row.request_message) for row in rows] == [("pending", "first")]
    assert _join_requests_to(db, host.id) == 1  # type: ignore[arg-type]


def _at_once(action: Callable[[Session, Circle, User], Any], circle_id: int, user_id: int, times: int = 4) -> list[Any]:
    start = threading.Barrier(times)
    outcomes: list[Any] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            with app_db.open_session() as session:
                circle, user = session.get(Circle, circle_id), session.get(User, user_id)
                outcomes.append(action(session, circle, user))  # type: ignore[arg-type]
        except BaseException as error:  # noqa: BLE001 - the test asserts there is none
            outcomes.append(error)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_simultaneous_requests_to_join_make_one_pending_request_and_no_error(db):
    circle = make_circle(db, "tasting", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    db.commit()

    outcomes = _at_once(
        lambda session, c, u: memberships.request_to_join(session, circle=c, user=u), circle.id, alice.id  # type: ignore[arg-type]
    )

    assert all(isinstance(outcome, Membership) for outcome in outcomes), outcomes
    db.expire_all()
    assert [row.state for row in _rows(db, circle.id, alice.id)] == ["pending"]  # type: ignore[arg-type]
    assert _join_requests_to(db, host.id) == 1  # type: ignore[arg-type]


def test_simultaneous_joins_of_an_open_circle_make_one_member_and_no_error(db):
    circle = make_circle(db, "cupping")
    alice = make_user(db, "alice")
    db.commit()

    outcomes = _at_once(lambda session, c, u: memberships.join(session, circle=c, user=u), circle.id, alice.id)  # type: ignore[arg-type]

    assert all(isinstance(outcome, Membership) for outcome in outcomes), outcomes
    db.expire_all()
    assert [row.state for row in _rows(db, circle.id, alice.id)] == ["active"]  # type: ignore[arg-type]
    assert db.get(Circle, circle.id).member_count == 1  # type: ignore[union-attr]
