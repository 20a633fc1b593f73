"""Nothing of a secret circle (and nothing inside a closed one) reaches people outside it.

A unique marker is written into the secret circle's name, description, a thread title and
post bodies; every surface an outsider, a former member or a visitor can reach is read and
must not contain it. Closed circles show their public card, and nothing more.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session, select

from app.models import Circle, Post, Thread, User
from app.services import accounts, memberships
from tests.factories import add_member, login, make_circle, make_reply, make_thread, make_user

SECRET = "quokkazest"  # in the secret circle's name, description, thread title and posts
CLOSED = "wombatglow"  # in the closed circle's thread title and posts (its card is public)


@dataclass
class World:
    secret: Circle
    closed: Circle
    open: Circle
    alice: User  # member of all three, host of the secret one
    bob: User  # member of the secret and closed circles
    former: User  # was in the secret circle, was notified there, then left
    outsider: User  # signed in, in the open circle only
    secret_thread: Thread
    secret_post: Post
    closed_thread: Thread
    closed_post: Post
    open_thread: Thread


def _build(db: Session) -> World:
    secret = make_circle(db, "hidden-den", visibility="secret", name=f"The {SECRET.title()} Society",
                         description=f"Where we plan **{SECRET}** things.")
    closed = make_circle(db, "roasters", visibility="closed", name="Home roasters",
                         description="Closed but listed: we roast at home.")
    open_circle = make_circle(db, "espresso", name="Espresso", description="Open to all.")
    alice = make_user(db, "alice", display_name="Alice")
    bob = make_user(db, "bob", display_name="Bob")
    former = make_user(db, "former", display_name="Former")
    outsider = make_user(db, "outsider", display_name="Outsider")
    add_member(db, secret, alice, host=True)
    for user in (bob, former):
        add_member(db, secret, user)
    for user in (alice, bob):
        add_member(db, closed, user)
    for user in (alice, outsider):
        add_member(db, open_circle, user)
    secret_thread = make_thread(db, secret, alice, title=f"{SECRET} plans",
                                body=f"The {SECRET} plan, for @former and @outsider.")
    former_post = make_reply(db, secret_thread, former, f"My {SECRET} idea")
    secret_post = make_reply(db, secret_thread, bob, f"Replying about {SECRET} to @former", reply_to=former_post)
    make_reply(db, secret_thread, alice, f"@bob {SECRET} again")
    closed_thread = make_thread(db, closed, alice, title=f"{CLOSED} roast curves",
                                body=f"The {CLOSED} curve, @outsider.")
    closed_post = make_reply(db, closed_thread, bob, f"{CLOSED} indeed")
    open_thread = make_thread(db, open_circle, alice, title="Open chatter", body="Nothing to hide here.")
    make_reply(db, open_thread, outsider, "Hello @alice")
    memberships.leave(db, circle=secret, user=former)
    db.commit()
    return World(secret=secret, closed=closed, open=open_circle, alice=alice, bob=bob, former=former,
                 outsider=outsider, secret_thread=secret_thread, secret_post=secret_post,
                 closed_thread=closed_thread, closed_post=closed_post, open_thread=open_thread)


@pytest.fixture
def world(db: Session) -> World:
    return _build(db)


def _without_echoes(response: Any) -> str:
    """The response text minus what merely repeats the request (its path, its search words)."""
    text = response.text.lower()
    url = response.request.url
    text = text.replace(f'value="{url.path.lower()}"', "")
    q = (url.params.get("q") or "").lower()
    if q:
        for echo in (f'value="{q}"', f"“{q}”", f"q={q}"):
            text = text.replace(echo, "")
    return text


def _no_leak(response: Any, *markers: str) -> None:
    text = _without_echoes(response)
    for marker in markers or (SECRET, "hidden-den"):
        assert marker not in text, f"{marker!r} leaked in {response.request.method} {response.request.url}"


def _api_client(make_client: Any, db: Session, user: User) -> Any:
    client = make_client()
    client.headers["Authorization"] = f"Bearer {accounts.create_api_token(db, user=user, name='leak tests')}"
    db.commit()
    return client


def _signed_in(make_client: Any, db: Session, user: User) -> Any:
    db.commit()
    return login(make_client(), user)


PAGES = ["/", "/c", "/c/espresso", "/c/roasters", f"/search?q={SECRET}", f"/search?q={CLOSED}",
         "/search?q=plans", "/notifications", "/notifications/count", "/u/alice", "/u/bob", "/u/former",
         "/u/outsider", "/c/espresso/members"]
API = ["/api/v1/circles", "/api/v1/circles/espresso", "/api/v1/circles/roasters", f"/api/v1/search?q={SECRET}",
       f"/api/v1/search?q={CLOSED}", "/api/v1/notifications", "/api/v1/users/alice", "/api/v1/users/bob",
       "/api/v1/users/former", "/api/v1/me", "/api/v1/circles/espresso/threads", "/api/v1/circles/espresso/members"]


# The marker is really there for members (so the checks below mean something) -----------------


def test_members_do_see_the_secret_marker_where_outsiders_must_not(world, db, make_client):
    alice = _signed_in(make_client, db, world.alice)
    for path in ("/c", f"/search?q={SECRET}", "/", "/u/bob", f"/t/{world.secret_thread.id}"):
        assert SECRET in _without_echoes(alice.get(path)), path
    api = _api_client(make_client, db, world.alice)
    assert any(hit["circle"] == "hidden-den" for hit in api.get("/api/v1/search", params={"q": SECRET}).json())
    assert "hidden-den" in api.get("/api/v1/users/bob").json()["circles"]


# Signed-in outsider ------------------------------------------------------------------------


def test_no_page_shows_the_secret_circle_to_a_signed_in_outsider(world, db, make_client):
    browser = _signed_in(make_client, db, world.outsider)
    for path in PAGES:
        response = browser.get(path)
        assert response.status_code == 200, path
        _no_leak(response, SECRET, "hidden-den", CLOSED)


def test_no_htmx_fragment_shows_the_secret_circle_to_a_signed_in_outsider(world, db, make_client):
    browser = _signed_in(make_client, db, world.outsider)
    for path in PAGES:
        response = browser.get(path, headers={"HX-Request": "true"})
        assert response.status_code == 200, path
        _no_leak(response, SECRET, "hidden-den", CLOSED)


def test_no_api_answer_shows_the_secret_circle_to_a_signed_in_outsider(world, db, make_client):
    api = _api_client(make_client, db, world.outsider)
    for path in API:
        response = api.get(path)
        assert response.status_code == 200, path
        _no_leak(response, SECRET, "hidden-den", CLOSED)


def test_everything_inside_the_secret_circle_answers_an_outsider_like_a_missing_thing(world, db, make_client):
    browser = _signed_in(make_client, db, world.outsider)
    thread, post = world.secret_thread.id, world.secret_post.id
    pairs = [
        ("/c/hidden-den", "/c/nowhere"),
        ("/c/hidden-den/members", "/c/nowhere/members"),
        ("/c/hidden-den/new", "/c/nowhere/new"),
        ("/c/hidden-den/requests", "/c/nowhere/requests"),
        ("/c/hidden-den/settings", "/c/nowhere/settings"),
        (f"/t/{thread}", "/t/999999"),
        (f"/t/{thread}/unread/first", "/t/999999/unread/first"),
        (f"/p/{post}", "/p/999999"),
        (f"/p/{post}/edit", "/p/999999/edit"),
        (f"/p/{post}/revisions", "/p/999999/revisions"),
        ("/search?q=x&circle=hidden-den", "/search?q=x&circle=nowhere"),
    ]
    for secret_path, missing_path in pairs:
        hidden = browser.get(secret_path, follow_redirects=False)
        missing = browser.get(missing_path, follow_redirects=False)
        assert hidden.status_code == missing.status_code == 404, secret_path
        _no_leak(hidden)
        fragment = browser.get(secret_path, headers={"HX-Request": "true"}, follow_redirects=False)
        assert fragment.status_code == 404
        _no_leak(fragment)


def test_the_secret_circle_api_answers_an_outsider_like_a_missing_thing(world, db, make_client):
    api = _api_client(make_client, db, world.outsider)
    thread, post = world.secret_thread.id, world.secret_post.id
    pairs = [
        ("/api/v1/circles/hidden-den", "/api/v1/circles/nowhere"),
        ("/api/v1/circles/hidden-den/threads", "/api/v1/circles/nowhere/threads"),
        ("/api/v1/circles/hidden-den/members", "/api/v1/circles/nowhere/members"),
        (f"/api/v1/threads/{thread}", "/api/v1/threads/999999"),
        (f"/api/v1/threads/{thread}/posts", "/api/v1/threads/999999/posts"),
        (f"/api/v1/posts/{post}", "/api/v1/posts/999999"),
        ("/api/v1/search?q=x&circle=hidden-den", "/api/v1/search?q=x&circle=nowhere"),
    ]
    for secret_path, missing_path in pairs:
        hidden, missing = api.get(secret_path), api.get(missing_path)
        assert hidden.status_code == missing.status_code == 404, secret_path
        assert hidden.json() == missing.json()


def test_writing_into_the_secret_circle_answers_an_outsider_like_a_missing_thing(world, db, make_client):
    api = _api_client(make_client, db, world.outsider)
    thread, post = world.secret_thread.id, world.secret_post.id
    for response in (
        api.post("/api/v1/circles/hidden-den/join"),
        api.post("/api/v1/circles/hidden-den/requests", json={"message": "hi"}),
        api.post("/api/v1/circles/hidden-den/threads", json={"title": "t", "body": "b"}),
        api.post(f"/api/v1/threads/{thread}/posts", json={"body": "b"}),
        api.patch(f"/api/v1/posts/{post}", json={"body": "b"}),
        api.delete(f"/api/v1/posts/{post}"),
        api.post(f"/api/v1/posts/{post}/reactions/like"),
        api.post("/api/v1/invites", json={"circle": "hidden-den"}),
    ):
        assert response.status_code == 404, response.request.url
        _no_leak(response)


# Former member -----------------------------------------------------------------------------


def test_a_former_member_no_longer_sees_the_secret_circle(world, db, make_client):
    browser = _signed_in(make_client, db, world.former)
    for path in ("/", "/c", "/notifications", "/notifications/count", f"/search?q={SECRET}", "/u/former",
                 "/u/alice", "/u/bob"):
        response = browser.get(path)
        assert response.status_code == 200, path
        _no_leak(response)


def test_a_former_member_no_longer_sees_the_secret_circle_in_the_api(world, db, make_client):
    api = _api_client(make_client, db, world.former)
    for path in ("/api/v1/notifications", f"/api/v1/search?q={SECRET}", "/api/v1/circles", "/api/v1/users/former",
                 "/api/v1/users/alice"):
        response = api.get(path)
        assert response.status_code == 200, path
        _no_leak(response)


def test_a_former_member_has_no_unread_count_left_from_the_secret_circle(world, db, make_client):
    from sqlmodel import delete

    from app.models import Notification

    # Other features (badges…) notify too; only the notifications about the circle matter here.
    db.exec(delete(Notification).where(Notification.circle_id.is_(None)))  # type: ignore[call-overload, union-attr]
    db.commit()
    assert _signed_in(make_client, db, world.former).get("/notifications/count").text == ""


# Visitors ----------------------------------------------------------------------------------


def test_no_public_page_shows_the_secret_circle_to_a_visitor(world, db, make_client):
    visitor = make_client()
    for path in ("/", "/c", "/c/roasters", "/c/espresso", "/register", "/login"):
        response = visitor.get(path)
        assert response.status_code == 200, path
        _no_leak(response, SECRET, "hidden-den", CLOSED)


def test_a_visitor_is_sent_to_sign_in_for_threads_posts_and_profiles_whether_they_exist_or_not(world, db, make_client):
    visitor = make_client()
    for path in (f"/t/{world.secret_thread.id}", "/t/999999", f"/p/{world.secret_post.id}", "/p/999999",
                 "/u/alice", "/u/nobody", f"/t/{world.open_thread.id}"):
        response = visitor.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_the_secret_circle_is_not_found_for_a_visitor(world, db, make_client):
    visitor = make_client()
    assert visitor.get("/c/hidden-den").status_code == 404
    _no_leak(visitor.get("/c/hidden-den"))
    api = visitor.get("/api/v1/circles/hidden-den")
    assert api.status_code == 404
    assert api.json() == visitor.get("/api/v1/circles/nowhere").json()
    _no_leak(visitor.get("/api/v1/circles"), SECRET, "hidden-den", CLOSED)


# Closed circles: a public card, and nothing inside ----------------------------------------


def test_a_closed_circle_card_shows_its_name_and_description_but_not_its_threads(world, db, make_client):
    card = _signed_in(make_client, db, world.outsider).get("/c/roasters")
    assert card.status_code == 200
    assert "Home roasters" in card.text
    assert "we roast at home." in card.text
    assert "2 members" in card.text
    _no_leak(card, CLOSED)
    assert f"/t/{world.closed_thread.id}" not in card.text


def test_closed_circle_threads_and_members_are_not_found_for_an_outsider(world, db, make_client):
    browser = _signed_in(make_client, db, world.outsider)
    for path in (f"/t/{world.closed_thread.id}", f"/p/{world.closed_post.id}", "/c/roasters/members",
                 "/c/roasters/new"):
        response = browser.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        _no_leak(response, CLOSED)
    api = _api_client(make_client, db, world.outsider)
    for path in (f"/api/v1/threads/{world.closed_thread.id}", f"/api/v1/posts/{world.closed_post.id}",
                 "/api/v1/circles/roasters/threads", "/api/v1/circles/roasters/members"):
        assert api.get(path).status_code == 404, path


def test_the_mention_of_an_outsider_in_a_closed_circle_notified_nobody(world, db):
    from app.models import Notification

    rows = db.exec(select(Notification).where(Notification.user_id == world.outsider.id,
                                              Notification.circle_id.in_([world.secret.id, world.closed.id]))).all()  # type: ignore[union-attr]
    db.commit()
    assert rows == []
