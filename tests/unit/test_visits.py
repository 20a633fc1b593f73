"""Visits: one row per user, UTC day and circle (or the site), however many pages are read."""

from datetime import date

from sqlmodel import Session, col, select

from app.models import Visit
from app.models.base import utctoday
from app.services import visits
from tests.factories import add_member, login, make_circle, make_thread, make_user


def _visits(db: Session) -> list[tuple[int, date, int | None, int]]:
    db.expire_all()
    rows = db.exec(select(Visit).order_by(col(Visit.user_id), col(Visit.scope))).all()
    db.commit()
    return [(v.user_id, v.day, v.circle_id, v.scope) for v in rows]


def test_a_signed_in_page_view_records_one_site_visit_for_today(client, db):
    alice = make_user(db, "alice")
    login(client, alice)
    assert client.get("/c").status_code == 200
    assert _visits(db) == [(alice.id, utctoday(), None, 0)]


def test_many_page_views_on_one_day_keep_one_site_visit(client, db):
    alice = make_user(db, "alice")
    login(client, alice)
    for path in ("/", "/c", "/notifications", "/", "/search?q=x"):
        assert client.get(path).status_code == 200
    assert _visits(db) == [(alice.id, utctoday(), None, 0)]


def test_a_second_session_on_the_same_day_adds_no_site_visit(client, db, make_client):
    alice = make_user(db, "alice")
    login(client, alice)
    client.get("/")
    other = login(make_client(), alice)
    other.get("/")
    assert _visits(db) == [(alice.id, utctoday(), None, 0)]


def test_each_circle_page_visited_records_one_circle_visit(client, db):
    espresso, tea = make_circle(db, "espresso"), make_circle(db, "tea")
    alice = make_user(db, "alice")
    add_member(db, espresso, alice)
    add_member(db, tea, alice)
    login(client, alice)
    for _ in range(3):
        assert client.get("/c/espresso").status_code == 200
        assert client.get("/c/tea").status_code == 200
    assert _visits(db) == [
        (alice.id, utctoday(), None, 0),
        (alice.id, utctoday(), espresso.id, espresso.id),
        (alice.id, utctoday(), tea.id, tea.id),
    ]


def test_reading_a_thread_counts_as_a_visit_to_its_circle(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    login(client, alice)
    assert client.get(f"/t/{thread.id}").status_code == 200
    assert client.get(f"/t/{thread.id}").status_code == 200
    assert _visits(db) == [(alice.id, utctoday(), None, 0), (alice.id, utctoday(), circle.id, circle.id)]


def test_each_person_gets_their_own_visit_rows(client, db, make_client):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    login(client, alice).get("/c/espresso")
    login(make_client(), bob).get("/c/espresso")
    assert _visits(db) == [
        (alice.id, utctoday(), None, 0),
        (alice.id, utctoday(), circle.id, circle.id),
        (bob.id, utctoday(), None, 0),
        (bob.id, utctoday(), circle.id, circle.id),
    ]


def test_a_visitor_records_no_visit(client, db):
    make_circle(db, "espresso")
    client.get("/")
    client.get("/c")
    client.get("/c/espresso")
    assert _visits(db) == []


def test_a_closed_circle_card_seen_by_a_non_member_is_not_a_circle_visit(client, db):
    make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    login(client, alice)
    assert client.get("/c/roasters").status_code == 200
    assert _visits(db) == [(alice.id, utctoday(), None, 0)]


def test_recording_a_circle_visit_twice_keeps_one_row_even_without_the_cache(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    db.commit()
    visits.record_circle_visit(user_id=alice.id, circle_id=circle.id)  # type: ignore[arg-type]
    visits._recorded.clear()  # another process, or a restart: the database still refuses the duplicate
    visits.record_circle_visit(user_id=alice.id, circle_id=circle.id)  # type: ignore[arg-type]
    assert _visits(db) == [(alice.id, utctoday(), circle.id, circle.id)]


def test_the_site_visit_is_kept_once_even_when_the_session_forgets_it(client, db):
    alice = make_user(db, "alice")
    login(client, alice)
    client.get("/")
    from app.models import UserSession

    for row in db.exec(select(UserSession)).all():
        row.visit_day = None
        db.add(row)
    db.commit()
    client.get("/")
    assert _visits(db) == [(alice.id, utctoday(), None, 0)]
