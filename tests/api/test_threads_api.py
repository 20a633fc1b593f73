"""The JSON API for threads, posts, reactions, notifications, search and profiles."""

from typing import Any

import pytest
from sqlmodel import Session, select

from app.models import Circle, Post, PostRevision, Reaction, Thread, User
from app.services import accounts
from tests.factories import add_member, make_circle, make_reply, make_thread, make_user

CONVERSATION_KINDS = {"reply", "mention", "request_approved", "request_declined", "invite_accepted", "join_request"}


def _api(make_client: Any, db: Session, user: User | None = None) -> Any:
    """A cookieless API client, signed in with a personal Bearer token when `user` is given."""
    client = make_client()
    if user is not None:
        client.headers["Authorization"] = f"Bearer {accounts.create_api_token(db, user=user, name='tests')}"
    db.commit()
    return client


def _all(db: Session, statement: Any) -> list[Any]:
    rows = list(db.exec(statement.execution_options(populate_existing=True)).all())
    db.commit()
    return rows


def _thread(db: Session, thread: Thread) -> Thread:
    (fresh,) = _all(db, select(Thread).where(Thread.id == thread.id))
    return fresh


def _opening(db: Session, thread: Thread) -> Post:
    (post,) = _all(db, select(Post).where(Post.thread_id == thread.id, Post.opening))
    return post


def _assert_json_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "detail" in response.json()


def _pair(db: Session, visibility: str = "open") -> tuple[Circle, User, User, Thread]:
    circle = make_circle(db, "espresso", visibility=visibility)
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    return circle, alice, bob, make_thread(db, circle, alice, title="Grinders", body="Which *one*?")


# Reading -----------------------------------------------------------------------------------


def test_a_thread_comes_with_its_posts(db, make_client):
    circle, alice, bob, thread = _pair(db)
    make_reply(db, thread, bob, "Hand grinder")
    body = _api(make_client, db, bob).get(f"/api/v1/threads/{thread.id}").json()
    assert (body["thread"]["title"], body["thread"]["circle"], body["thread"]["reply_count"]) == ("Grinders", "espresso", 1)
    assert [(p["number"], p["author"], p["opening"]) for p in body["posts"]] == [(1, "alice", True), (2, "bob", False)]
    assert body["posts"][0]["body_html"] == "<p>Which <em>one</em>?</p>\n"
    assert (body["page"], body["pages"]) == (1, 1)
    assert body["first_unread"] is None  # bob's own reply is the last post
    carol = make_user(db, "carol")
    assert _api(make_client, db, carol).get(f"/api/v1/threads/{thread.id}").json()["first_unread"] == 1


def test_thread_posts_are_paginated_by_twenty(db, make_client):
    circle, alice, bob, thread = _pair(db)
    for n in range(2, 26):
        make_reply(db, thread, alice, f"Post {n}")
    client = _api(make_client, db, bob)
    assert [p["number"] for p in client.get(f"/api/v1/threads/{thread.id}/posts").json()] == list(range(1, 21))
    assert [p["number"] for p in client.get(f"/api/v1/threads/{thread.id}/posts?page=2").json()] == list(range(21, 26))
    assert client.get(f"/api/v1/threads/{thread.id}?page=2").json()["pages"] == 2


def test_a_single_post_with_its_reactions(db, make_client):
    circle, alice, bob, thread = _pair(db)
    post = _opening(db, thread)
    client = _api(make_client, db, bob)
    client.post(f"/api/v1/posts/{post.id}/reactions/helpful")
    body = client.get(f"/api/v1/posts/{post.id}").json()
    assert (body["id"], body["author"], body["reactions"], body["my_reactions"]) == (post.id, "alice", {"helpful": 1}, ["helpful"])


@pytest.mark.parametrize("visibility", ["closed", "secret"])
def test_threads_and_posts_of_a_closed_or_secret_circle_are_not_found_for_outsiders(db, make_client, visibility):
    circle, alice, bob, thread = _pair(db, visibility)
    post = _opening(db, thread)
    outsider = _api(make_client, db, make_user(db, "outsider"))
    for template, real in (("/api/v1/threads/{}", thread.id), ("/api/v1/threads/{}/posts", thread.id),
                           ("/api/v1/posts/{}", post.id)):
        response = outsider.get(template.format(real))
        _assert_json_error(response, 404)
        assert response.json() == outsider.get(template.format(999_999)).json()
    _assert_json_error(outsider.post(f"/api/v1/threads/{thread.id}/posts", json={"body": "hi"}), 404)
    _assert_json_error(outsider.patch(f"/api/v1/posts/{post.id}", json={"body": "mine now"}), 404)
    _assert_json_error(outsider.delete(f"/api/v1/posts/{post.id}"), 404)
    _assert_json_error(outsider.post(f"/api/v1/posts/{post.id}/reactions/like"), 404)
    _assert_json_error(outsider.post(f"/api/v1/threads/{thread.id}/read"), 404)


def test_a_signed_out_client_gets_401_for_a_thread(db, make_client):
    circle, alice, bob, thread = _pair(db)
    _assert_json_error(_api(make_client, db).get(f"/api/v1/threads/{thread.id}"), 401)


# Replying, editing, deleting ---------------------------------------------------------------


def test_replying_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    response = _api(make_client, db, bob).post(f"/api/v1/threads/{thread.id}/posts", json={"body": "**Yes**"})
    assert response.status_code == 201
    body = response.json()
    assert (body["number"], body["author"], body["body_html"]) == (2, "bob", "<p><strong>Yes</strong></p>\n")
    assert _thread(db, thread).reply_count == 1


def test_a_reply_may_quote_a_post_of_the_same_thread_only(db, make_client):
    circle, alice, bob, thread = _pair(db)
    other = make_thread(db, circle, alice, title="Other")
    client = _api(make_client, db, bob)
    opening = _opening(db, thread)
    quoted = client.post(f"/api/v1/threads/{thread.id}/posts", json={"body": "Quote", "reply_to": opening.id})
    assert quoted.status_code == 201 and quoted.json()["reply_to"] == opening.id
    refused = client.post(f"/api/v1/threads/{thread.id}/posts", json={"body": "Quote", "reply_to": _opening(db, other).id})
    _assert_json_error(refused, 422)
    assert _thread(db, thread).reply_count == 1


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "   "}, {"body": "b" * 50_001}, {"body": None},
                                  {"body": "ok", "reply_to": "first"}, {"body": "ok", "reply_to": 99999999999999999999}])
def test_bad_reply_input_is_refused_with_422_json(db, make_client, body):
    circle, alice, bob, thread = _pair(db)
    _assert_json_error(_api(make_client, db, bob).post(f"/api/v1/threads/{thread.id}/posts", json=body), 422)
    assert _thread(db, thread).last_number == 1


def test_a_locked_thread_refuses_replies_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    thread.locked = True
    db.add(thread)
    _assert_json_error(_api(make_client, db, bob).post(f"/api/v1/threads/{thread.id}/posts", json={"body": "Late"}), 403)
    assert _thread(db, thread).last_number == 1


def test_editing_my_post_through_the_api_keeps_a_revision(db, make_client):
    circle, alice, bob, thread = _pair(db)
    post = _opening(db, thread)
    response = _api(make_client, db, alice).patch(f"/api/v1/posts/{post.id}", json={"body": "Which **two**?"})
    assert response.status_code == 200
    assert response.json()["edited_at"] is not None
    assert response.json()["body_html"] == "<p>Which <strong>two</strong>?</p>\n"
    (revision,) = _all(db, select(PostRevision).where(PostRevision.post_id == post.id))
    assert revision.body_md == "Which *one*?"


def test_nobody_edits_someone_elses_post_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    post = _opening(db, thread)
    _assert_json_error(_api(make_client, db, bob).patch(f"/api/v1/posts/{post.id}", json={"body": "Mine"}), 403)
    assert _opening(db, thread).body_md == "Which *one*?"


def test_an_empty_edit_is_refused_with_422(db, make_client):
    circle, alice, bob, thread = _pair(db)
    post = _opening(db, thread)
    _assert_json_error(_api(make_client, db, alice).patch(f"/api/v1/posts/{post.id}", json={"body": ""}), 422)
    _assert_json_error(_api(make_client, db, alice).patch(f"/api/v1/posts/{post.id}", json={}), 422)


def test_deleting_my_reply_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    reply = make_reply(db, thread, bob, "Oops")
    client = _api(make_client, db, bob)
    assert client.delete(f"/api/v1/posts/{reply.id}").status_code == 204
    assert _thread(db, thread).reply_count == 0
    _assert_json_error(client.get(f"/api/v1/posts/{reply.id}"), 404)
    posts = client.get(f"/api/v1/threads/{thread.id}").json()["posts"]
    assert [(p["number"], p["deleted"], p["body_md"]) for p in posts] == [(1, False, "Which *one*?"), (2, True, None)]


def test_deleting_the_opening_post_through_the_api_hides_the_thread(db, make_client):
    circle, alice, bob, thread = _pair(db)
    post = _opening(db, thread)
    assert _api(make_client, db, alice).delete(f"/api/v1/posts/{post.id}").status_code == 204
    bob_api = _api(make_client, db, bob)
    _assert_json_error(bob_api.get(f"/api/v1/threads/{thread.id}"), 404)
    assert bob_api.get("/api/v1/circles/espresso/threads").json() == []


def test_nobody_deletes_someone_elses_post_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    post = _opening(db, thread)
    _assert_json_error(_api(make_client, db, bob).delete(f"/api/v1/posts/{post.id}"), 403)
    assert _opening(db, thread).deleted_at is None


# Reactions ---------------------------------------------------------------------------------


def test_a_reaction_toggles_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    post = _opening(db, thread)
    client = _api(make_client, db, bob)
    on = client.post(f"/api/v1/posts/{post.id}/reactions/like")
    assert on.status_code == 200
    assert on.json() == {"post_id": post.id, "kind": "like", "on": True, "counts": {"like": 1}}
    off = client.post(f"/api/v1/posts/{post.id}/reactions/like")
    assert off.json() == {"post_id": post.id, "kind": "like", "on": False, "counts": {}}
    assert _all(db, select(Reaction)) == []


def test_reacting_to_my_own_post_or_with_an_unknown_kind_is_refused(db, make_client):
    circle, alice, bob, thread = _pair(db)
    post = _opening(db, thread)
    _assert_json_error(_api(make_client, db, alice).post(f"/api/v1/posts/{post.id}/reactions/like"), 403)
    _assert_json_error(_api(make_client, db, bob).post(f"/api/v1/posts/{post.id}/reactions/angry"), 422)
    assert _all(db, select(Reaction)) == []


# Unread, notifications ---------------------------------------------------------------------


def test_marking_a_thread_read_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    make_reply(db, thread, alice, "More")
    client = _api(make_client, db, bob)
    assert client.get("/api/v1/circles/espresso/threads").json()[0]["unread"] == 2
    assert client.post(f"/api/v1/threads/{thread.id}/read").status_code == 204
    assert client.get("/api/v1/circles/espresso/threads").json()[0]["unread"] == 0
    assert client.get(f"/api/v1/threads/{thread.id}").json()["first_unread"] is None


def test_notifications_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    reply = make_reply(db, thread, bob, "One")
    make_reply(db, thread, bob, "Two @alice")
    client = _api(make_client, db, alice)
    listed = [n for n in client.get("/api/v1/notifications").json() if n["kind"] in CONVERSATION_KINDS]
    assert [(n["kind"], n["actor"], n["circle"], n["read"]) for n in listed] == [
        ("mention", "bob", "espresso", False), ("reply", "bob", "espresso", False)]
    assert listed[1]["post_id"] == reply.id
    assert client.post(f"/api/v1/notifications/{listed[1]['id']}/read").status_code == 204
    unread = [n["kind"] for n in client.get("/api/v1/notifications?unread=true").json() if n["kind"] in CONVERSATION_KINDS]
    assert unread == ["mention"]
    assert client.post("/api/v1/notifications/read").status_code == 204
    assert client.get("/api/v1/notifications?unread=true").json() == []


def test_notifications_need_a_token(db, make_client):
    _assert_json_error(_api(make_client, db).get("/api/v1/notifications"), 401)


# Search and profiles -----------------------------------------------------------------------


def test_search_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    make_reply(db, thread, bob, "A ceramic burr grinder")
    (hit,) = _api(make_client, db, alice).get("/api/v1/search", params={"q": "ceramic"}).json()
    assert (hit["thread_id"], hit["thread_title"], hit["circle"], hit["author"]) == (thread.id, "Grinders", "espresso", "bob")
    assert "<mark>ceramic</mark>" in hit["snippet_html"]


def test_search_with_a_circle_filter_through_the_api(db, make_client):
    circle, alice, bob, thread = _pair(db)
    tea = make_circle(db, "tea")
    add_member(db, tea, alice)
    make_thread(db, tea, alice, title="Grinders for tea?", body="Odd idea.")
    client = _api(make_client, db, alice)
    assert len(client.get("/api/v1/search", params={"q": "grinders"}).json()) == 2
    assert [h["circle"] for h in client.get("/api/v1/search", params={"q": "grinders", "circle": "tea"}).json()] == ["tea"]
    _assert_json_error(client.get("/api/v1/search", params={"q": "grinders", "circle": "nowhere"}), 404)


def test_a_profile_through_the_api_shows_what_the_viewer_may_see(db, make_client):
    open_circle = make_circle(db, "espresso")
    closed = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    add_member(db, open_circle, alice)
    add_member(db, closed, alice)
    make_thread(db, open_circle, alice, title="Public", body="Open words")
    make_thread(db, closed, alice, title="Private", body="Closed words")
    outsider_view = _api(make_client, db, make_user(db, "outsider")).get("/api/v1/users/alice").json()
    assert outsider_view["user"]["username"] == "alice"
    assert outsider_view["circles"] == ["espresso"]
    assert [p["body_md"] for p in outsider_view["recent_posts"]] == ["Open words"]
    own_view = _api(make_client, db, alice).get("/api/v1/users/alice").json()
    assert sorted(own_view["circles"]) == ["espresso", "roasters"]
    assert len(own_view["recent_posts"]) == 2


def test_an_unknown_user_is_not_found(db, make_client):
    _assert_json_error(_api(make_client, db, make_user(db, "alice")).get("/api/v1/users/nobody"), 404)


# Never a 500 ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/v1/threads/abc",
    "/api/v1/threads/99999999999999999999",
    "/api/v1/threads/{thread}?page=abc",
    "/api/v1/threads/{thread}?page=-1",
    "/api/v1/threads/{thread}?page=99999999999999999999",
    "/api/v1/threads/{thread}/posts?page=0",
    "/api/v1/posts/abc",
    "/api/v1/posts/99999999999999999999",
    "/api/v1/search?q=x&page=99999999999999999999",
    "/api/v1/search?q=%00",
    "/api/v1/notifications?page=99999999999999999999",
    "/api/v1/notifications?unread=maybe",
    "/api/v1/users/%00",
    "/api/v1/users/" + "u" * 300,
])
def test_odd_requests_never_cause_a_server_error(db, make_client, path):
    circle, alice, bob, thread = _pair(db)
    response = _api(make_client, db, bob).get(path.replace("{thread}", str(thread.id)))
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("raw", [b'{"body": "nul \\u0000 byte"}', b'{"body": "lone \\ud83d surrogate"}', b"[1, 2]",
                                 b'"just a string"', b'{"body": "\xff\xfe not utf-8"}'])
def test_odd_reply_bodies_never_cause_a_server_error(db, make_client, raw):
    circle, alice, bob, thread = _pair(db)
    response = _api(make_client, db, bob).post(f"/api/v1/threads/{thread.id}/posts", content=raw,
                                               headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text
