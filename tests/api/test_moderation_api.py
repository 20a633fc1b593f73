"""Moderation as JSON: flags, the review queue, post/thread/circle/member actions, suspensions and the
audit log, with the same permissions as the pages. Bad input is a 422, never a 500.

The scene: "espresso" is a closed circle hosted by Hana; Otto hosts another closed circle ("tea");
Amber is an ambassador and a member of espresso, Mel a plain member; Alice wrote a thread and a reply.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import permissions
from app.models import Circle, Flag, ModerationAction, Post, Thread, User
from app.services import accounts, ambassadors, flags, memberships, moderation, posts
from tests.factories import add_member, make_circle, make_reply, make_thread, make_user

ROLES = ("admin", "host", "other_host", "ambassador", "member")


@dataclass
class Scene:
    admin: User
    host: User
    other_host: User
    ambassador: User
    member: User
    author: User
    bob: User
    newcomer: User
    circle: Circle
    lab: Circle
    tea: Circle
    thread: Thread
    reply: Post
    request_id: int

    def actor(self, role: str) -> User:
        return getattr(self, role)  # type: ignore[no-any-return]


def _scene(db: Session) -> Scene:
    admin = make_user(db, "root_admin", admin=True)
    circle = make_circle(db, "espresso", visibility="closed", by=admin, name="Espresso")
    tea = make_circle(db, "tea", visibility="closed", by=admin, name="Tea House")
    lab = make_circle(db, "lab", visibility="open", by=admin, name="Lab")
    host, other_host, ambassador, member, author, bob, newcomer = (
        make_user(db, name) for name in ("hana", "otto", "amber", "mel", "alice", "bob", "nina")
    )
    add_member(db, circle, host, host=True)
    add_member(db, lab, host, host=True)
    add_member(db, tea, other_host, host=True)
    for user in (ambassador, member, author, bob):
        add_member(db, circle, user)
    ambassadors.grant(db, member=ambassador, by=admin, reason="Welcomes every newcomer.")
    thread = make_thread(db, circle, author, title="Grinders", body="Which grinder do you use?")
    reply = make_reply(db, thread, author, "Buy my watches, cheap!")
    request = memberships.request_to_join(db, circle=circle, user=newcomer, message="Let me in, please")
    db.commit()
    return Scene(admin=admin, host=host, other_host=other_host, ambassador=ambassador, member=member, author=author,
                 bob=bob, newcomer=newcomer, circle=circle, lab=lab, tea=tea, thread=thread, reply=reply,
                 request_id=request.id)  # type: ignore[arg-type]


def _api(make_client: Any, db: Session, user: User | None = None) -> TestClient:
    """A cookieless API client, signed in with a personal Bearer token when `user` is given."""
    client = make_client()
    if user is not None:
        client.headers["Authorization"] = f"Bearer {accounts.create_api_token(db, user=user, name='tests')}"
    db.commit()
    return client  # type: ignore[no-any-return]


def _all(db: Session, statement: Any) -> list[Any]:
    rows = list(db.exec(statement.execution_options(populate_existing=True)).all())
    db.commit()
    return rows


def _fresh(db: Session, model: Any, id_: int | None) -> Any:
    (row,) = _all(db, select(model).where(model.id == id_))
    return row


def _audit_count(db: Session) -> int:
    return len(_all(db, select(ModerationAction.id)))


def _access(db: Session, user: User, circle: Circle) -> permissions.CircleAccess:
    return permissions.circle_access(db, user, circle)


def _flag(db: Session, user: User, post: Post, reason: str = "spam", text: str = "") -> None:
    post, thread, access = posts.get_post(db, post_id=post.id, viewer=user)  # type: ignore[arg-type]
    flags.flag_post(db, post=post, thread=thread, access=access, user=user, reason=reason, text=text)


def _rules(db: Session, circle: Circle, *, slow: int = 0, hold: int = 0) -> None:
    admin = db.exec(select(User).where(User.username == "root_admin")).one()
    moderation.set_circle_rules(db, access=_access(db, admin, circle), by=admin, read_only=False,
                                slow_mode_seconds=slow, hold_first_posts=hold)


def _json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "detail" in body
    return body  # type: ignore[no-any-return]


# The permission matrix ---------------------------------------------------------------------------

PREPARE = {
    "restore": lambda db, s: moderation.hide_post(db, post=s.reply, thread=s.thread,
                                                  access=_access(db, s.admin, s.circle), by=s.admin,
                                                  reason="Advertising"),
    "keep": lambda db, s: _flag(db, s.member, s.reply),
    "unlock": lambda db, s: moderation.set_thread_flag(db, thread=s.thread, access=_access(db, s.admin, s.circle),
                                                       by=s.admin, flag="locked", value=True),
    "unpin": lambda db, s: moderation.set_thread_flag(db, thread=s.thread, access=_access(db, s.admin, s.circle),
                                                      by=s.admin, flag="pinned", value=True),
    "allow_back": lambda db, s: memberships.remove_member(db, circle=s.circle, user_id=s.bob.id, by=s.admin),
    "unsuspend": lambda db, s: moderation.suspend(db, user=s.bob, by=s.admin, days=7, reason="Spam"),
}


def _call(client: TestClient, action: str, s: Scene) -> Any:
    if action in ("hide", "restore", "delete", "warn", "keep"):
        return client.post(f"/api/v1/mod/posts/{s.reply.id}/{action}", json={"reason": "Advertising"})
    if action in ("lock", "unlock", "pin", "unpin"):
        return client.post(f"/api/v1/threads/{s.thread.id}/moderation/{action}", json={})
    if action == "move":
        return client.post(f"/api/v1/threads/{s.thread.id}/move", json={"circle": "lab", "reason": "Lab stuff"})
    if action == "rules":
        return client.put("/api/v1/circles/espresso/rules",
                          json={"read_only": True, "slow_mode_seconds": 60, "hold_first_posts": 2})
    if action == "remove_member":
        return client.delete("/api/v1/circles/espresso/members/bob")
    if action == "allow_back":
        return client.post("/api/v1/circles/espresso/members/bob/allow-back")
    if action in ("approve_request", "decline_request"):
        verb = action.split("_")[0]
        return client.post(f"/api/v1/circles/espresso/requests/{s.request_id}/{verb}")
    if action == "suspend":
        return client.post("/api/v1/users/bob/suspension", json={"days": 7, "reason": "Spam in every circle"})
    assert action == "unsuspend"
    return client.delete("/api/v1/users/bob/suspension")


# JSON statuses by role in the closed circle "espresso": the same rules as the pages. A hidden post
# does not exist for members (restoring it is a 404 to them); suspensions are the admins' alone.
#                    admin  host  other_host  ambassador  member
MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    "hide":            (204,  204,  404,        403,        403),
    "restore":         (204,  204,  404,        404,        404),
    "delete":          (204,  204,  404,        403,        403),
    "warn":            (204,  204,  404,        403,        403),
    "keep":            (204,  204,  404,        403,        403),
    "lock":            (204,  204,  404,        403,        403),
    "unlock":          (204,  204,  404,        403,        403),
    "pin":             (204,  204,  404,        403,        403),
    "unpin":           (204,  204,  404,        403,        403),
    "move":            (204,  204,  404,        403,        403),
    "rules":           (204,  204,  404,        403,        403),
    "remove_member":   (204,  204,  404,        403,        403),
    "allow_back":      (204,  204,  404,        403,        403),
    "approve_request": (200,  200,  404,        200,        403),
    "decline_request": (200,  200,  404,        200,        403),
    "suspend":         (204,  403,  403,        403,        403),
    "unsuspend":       (204,  403,  403,        403,        403),
}
CASES = [
    pytest.param(action, role, status, id=f"{action}-{role}")
    for action, row in MATRIX.items()
    for role, status in zip(ROLES, row, strict=True)
]


@pytest.mark.parametrize(("action", "role", "status"), CASES)
def test_each_role_may_or_may_not_take_each_moderation_action_through_the_api(db: Session, make_client: Any,
                                                                              action: str, role: str,
                                                                              status: int) -> None:
    s = _scene(db)
    if action in PREPARE:
        PREPARE[action](db, s)
    before = _audit_count(db)
    response = _call(_api(make_client, db, s.actor(role)), action, s)
    assert response.status_code == status, response.text
    if status < 300:
        assert _audit_count(db) > before
    else:
        assert "detail" in response.json()
        assert _audit_count(db) == before


def test_moderation_needs_a_signed_in_caller(db: Session, make_client: Any) -> None:
    s = _scene(db)
    anonymous = _api(make_client, db)
    assert anonymous.post(f"/api/v1/mod/posts/{s.reply.id}/hide", json={"reason": "x"}).status_code == 401
    assert anonymous.get("/api/v1/mod/queue").status_code == 401
    assert anonymous.post("/api/v1/users/bob/suspension", json={"days": 1, "reason": "x"}).status_code == 401


# Flags -------------------------------------------------------------------------------------------


def test_a_member_flags_a_post(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _api(make_client, db, s.member).post(f"/api/v1/posts/{s.reply.id}/flags",
                                                    json={"reason": "other", "text": "Sells watches"})
    assert (response.status_code, response.json()) == (201, {"flagged": True})
    assert [(f.user_id, f.reason, f.text) for f in _all(db, select(Flag))] == [(s.member.id, "other", "Sells watches")]


def test_a_second_flag_on_the_same_post_is_refused(db: Session, make_client: Any) -> None:
    s = _scene(db)
    client = _api(make_client, db, s.member)
    client.post(f"/api/v1/posts/{s.reply.id}/flags", json={"reason": "spam"})
    body = _json_error(client.post(f"/api/v1/posts/{s.reply.id}/flags", json={"reason": "off_topic"}), 422)
    assert body["detail"] == "You already flagged this post."


def test_flagging_ones_own_post_is_refused(db: Session, make_client: Any) -> None:
    s = _scene(db)
    body = _json_error(_api(make_client, db, s.author).post(f"/api/v1/posts/{s.reply.id}/flags",
                                                            json={"reason": "spam"}), 422)
    assert body["detail"] == "You cannot flag your own post."


def test_an_other_flag_needs_details(db: Session, make_client: Any) -> None:
    s = _scene(db)
    body = _json_error(_api(make_client, db, s.member).post(f"/api/v1/posts/{s.reply.id}/flags",
                                                            json={"reason": "other"}), 422)
    assert "text" in body["errors"]


@pytest.mark.parametrize("payload", [
    {"reason": "boring"},
    {"reason": "x" * 21},
    {"reason": "other", "text": "x" * 1001},
    {"text": "no reason"},
    {"reason": 3},
    [],
    "spam",
])
def test_a_malformed_flag_is_a_422(db: Session, make_client: Any, payload: Any) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.member).post(f"/api/v1/posts/{s.reply.id}/flags", json=payload), 422)
    assert _all(db, select(Flag)) == []


def test_a_flag_without_a_body_is_a_422(db: Session, make_client: Any) -> None:
    s = _scene(db)
    client = _api(make_client, db, s.member)
    _json_error(client.post(f"/api/v1/posts/{s.reply.id}/flags"), 422)
    _json_error(client.post(f"/api/v1/posts/{s.reply.id}/flags", content=b"{not json",
                            headers={"content-type": "application/json"}), 422)


@pytest.mark.parametrize("post_id", ["999999", "99999999999999999999999", "abc", "-1"])
def test_flagging_a_post_that_is_not_there_is_a_404_or_422_never_500(db: Session, make_client: Any,
                                                                      post_id: str) -> None:
    s = _scene(db)
    response = _api(make_client, db, s.member).post(f"/api/v1/posts/{post_id}/flags", json={"reason": "spam"})
    assert response.status_code in (404, 422)


def test_a_non_member_flagging_a_post_of_a_closed_circle_gets_404(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.other_host).post(f"/api/v1/posts/{s.reply.id}/flags",
                                                         json={"reason": "spam"}), 404)


def test_three_flags_through_the_api_hide_the_post_pending_review(db: Session, make_client: Any) -> None:
    s = _scene(db)
    for user in (s.member, s.bob, s.ambassador):
        assert _api(make_client, db, user).post(f"/api/v1/posts/{s.reply.id}/flags",
                                                json={"reason": "spam"}).status_code == 201
    post = _fresh(db, Post, s.reply.id)
    assert (post.hidden, post.hidden_reason) == (True, moderation.AUTO_HIDDEN)
    assert _fresh(db, Thread, s.thread.id).reply_count == 0
    queue = _api(make_client, db, s.host).get("/api/v1/mod/queue").json()
    assert [(i["post_id"], i["flags"], i["hidden"]) for i in queue["flagged"]] == [(s.reply.id, 3, True)]


# The review queue --------------------------------------------------------------------------------


def test_the_queue_lists_flags_held_posts_and_requests_of_the_hosts_circles(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _flag(db, s.member, s.reply, "spam")
    _flag(db, s.bob, s.reply, "other", "Sells watches")
    _rules(db, s.circle, hold=1)
    held = make_reply(db, s.thread, s.member, "Hello, first time here")
    queue = _api(make_client, db, s.host).get("/api/v1/mod/queue").json()
    assert queue == {
        "flagged": [{"post_id": s.reply.id, "thread_id": s.thread.id, "circle": "espresso", "author": "alice",
                     "flags": 2, "reasons": ["spam", "other"], "hidden": False}],
        "held": [held.id],
        "requests": [s.request_id],
    }


def test_a_host_of_another_circle_gets_an_empty_queue(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _flag(db, s.member, s.reply)
    assert _api(make_client, db, s.other_host).get("/api/v1/mod/queue").json() == {
        "flagged": [], "held": [], "requests": []}


@pytest.mark.parametrize("role", ["member", "ambassador"])
def test_members_are_refused_the_queue(db: Session, make_client: Any, role: str) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.actor(role)).get("/api/v1/mod/queue"), 403)


def test_a_hosts_decision_clears_the_post_from_the_other_hosts_and_the_admins_queue(db: Session,
                                                                                   make_client: Any) -> None:
    s = _scene(db)
    cohost = make_user(db, "cora")
    add_member(db, s.circle, cohost, host=True)
    _flag(db, s.member, s.reply)
    assert _api(make_client, db, cohost).post(f"/api/v1/mod/posts/{s.reply.id}/keep", json={}).status_code == 204
    for user in (s.host, s.admin, cohost):
        assert _api(make_client, db, user).get("/api/v1/mod/queue").json()["flagged"] == [], user.username


def test_a_host_approves_a_held_post_through_the_api(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, hold=1)
    held = make_reply(db, s.thread, s.member, "Hello, first time here")
    client = _api(make_client, db, s.host)
    assert client.post(f"/api/v1/mod/posts/{held.id}/approve", json={}).status_code == 204
    assert client.get("/api/v1/mod/queue").json()["held"] == []
    bob = _api(make_client, db, s.bob)
    assert "Hello, first time here" in [p["body_md"] for p in bob.get(f"/api/v1/threads/{s.thread.id}/posts").json()]
    assert bob.get(f"/api/v1/threads/{s.thread.id}").json()["thread"]["reply_count"] == 2


# Actions: bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "payload"), [
    ("/api/v1/mod/posts/{post}/frobnicate", {"reason": "x"}),
    ("/api/v1/mod/posts/{post}/hide", {"reason": ""}),
    ("/api/v1/mod/posts/{post}/hide", {"reason": "x" * 1001}),
    ("/api/v1/mod/posts/{post}/hide", {"reason": ["a list"]}),
    ("/api/v1/mod/posts/{post}/warn", {}),
    ("/api/v1/mod/posts/{post}/delete", None),
    ("/api/v1/threads/{thread}/moderation/frobnicate", {}),
    ("/api/v1/threads/{thread}/moderation/lock", {"reason": "x" * 1001}),
    ("/api/v1/threads/{thread}/move", {}),
    ("/api/v1/threads/{thread}/move", {"circle": "espresso"}),
    ("/api/v1/threads/{thread}/move", {"circle": "x" * 61}),
    ("/api/v1/threads/{thread}/move", {"circle": None}),
])
def test_bad_moderation_input_is_a_422(db: Session, make_client: Any, path: str, payload: Any) -> None:
    s = _scene(db)
    before = _audit_count(db)
    client = _api(make_client, db, s.host)
    url = path.format(post=s.reply.id, thread=s.thread.id)
    response = client.post(url, json=payload) if payload is not None else client.post(url)
    _json_error(response, 422)
    assert _audit_count(db) == before


def test_moving_to_a_circle_that_does_not_exist_is_a_404(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.host).post(f"/api/v1/threads/{s.thread.id}/move",
                                                   json={"circle": "nowhere"}), 404)


def test_moving_to_a_closed_circle_the_host_cannot_read_is_a_404(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.host).post(f"/api/v1/threads/{s.thread.id}/move", json={"circle": "tea"}),
                404)


def test_a_moved_thread_answers_from_its_new_circle(db: Session, make_client: Any) -> None:
    s = _scene(db)
    client = _api(make_client, db, s.host)
    assert client.post(f"/api/v1/threads/{s.thread.id}/move", json={"circle": "lab"}).status_code == 204
    assert client.get(f"/api/v1/threads/{s.thread.id}").json()["thread"]["circle"] == "lab"


def test_a_locked_thread_refuses_a_members_reply_through_the_api(db: Session, make_client: Any) -> None:
    s = _scene(db)
    assert _api(make_client, db, s.host).post(f"/api/v1/threads/{s.thread.id}/moderation/lock",
                                              json={}).status_code == 204
    _json_error(_api(make_client, db, s.member).post(f"/api/v1/threads/{s.thread.id}/posts", json={"body": "Hi"}),
                403)


@pytest.mark.parametrize("payload", [
    {"slow_mode_seconds": -1},
    {"slow_mode_seconds": 86_401},
    {"hold_first_posts": -1},
    {"hold_first_posts": 51},
    {"slow_mode_seconds": "soon"},
    {"read_only": "perhaps"},
    {"slow_mode_seconds": 10**30},
])
def test_bad_circle_rules_are_a_422(db: Session, make_client: Any, payload: dict[str, Any]) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.host).put("/api/v1/circles/espresso/rules", json=payload), 422)
    assert _fresh(db, Circle, s.circle.id).slow_mode_seconds == 0


def test_circle_rules_set_through_the_api_are_kept(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _api(make_client, db, s.host).put("/api/v1/circles/espresso/rules",
                                                 json={"read_only": True, "slow_mode_seconds": 30,
                                                       "hold_first_posts": 1})
    assert response.status_code == 204
    circle = _fresh(db, Circle, s.circle.id)
    assert (circle.read_only, circle.slow_mode_seconds, circle.hold_first_posts) == (True, 30, 1)


@pytest.mark.parametrize("slug", ["tea", "nowhere"])
def test_rules_of_a_circle_the_caller_cannot_see_answer_404(db: Session, make_client: Any, slug: str) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.host).put(f"/api/v1/circles/{slug}/rules", json={}), 404)


def test_members_read_only_circle_refuses_new_threads_but_not_replies(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _api(make_client, db, s.host).put("/api/v1/circles/espresso/rules", json={"read_only": True})
    member = _api(make_client, db, s.member)
    _json_error(member.post("/api/v1/circles/espresso/threads", json={"title": "Mine", "body": "Hi"}), 403)
    assert member.post(f"/api/v1/threads/{s.thread.id}/posts", json={"body": "Thanks"}).status_code == 201
    assert _api(make_client, db, s.host).post("/api/v1/circles/espresso/threads",
                                              json={"title": "News", "body": "Hi"}).status_code == 201


def test_slow_mode_refuses_a_members_second_reply_with_a_429(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, slow=60)
    member = _api(make_client, db, s.member)
    assert member.post(f"/api/v1/threads/{s.thread.id}/posts", json={"body": "First"}).status_code == 201
    response = member.post(f"/api/v1/threads/{s.thread.id}/posts", json={"body": "Second"})
    assert _json_error(response, 429)["detail"].startswith("Slow mode is on in this circle")
    assert 0 < int(response.headers["retry-after"]) <= 60


# Suspensions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [
    {"days": 0, "reason": "Spam"},
    {"days": 3651, "reason": "Spam"},
    {"days": "a week", "reason": "Spam"},
    {"days": 7},
    {"days": 7, "reason": "   "},
    {"days": 7, "reason": "x" * 1001},
    {},
])
def test_a_bad_suspension_is_a_422(db: Session, make_client: Any, payload: dict[str, Any]) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.admin).post("/api/v1/users/bob/suspension", json=payload), 422)
    assert _fresh(db, User, s.bob.id).suspended_until is None


def test_suspending_someone_who_does_not_exist_is_a_404(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.admin).post("/api/v1/users/nobody/suspension",
                                                    json={"days": 1, "reason": "x"}), 404)


def test_an_administrator_cannot_be_suspended_through_the_api(db: Session, make_client: Any) -> None:
    s = _scene(db)
    make_user(db, "ada", admin=True)
    _json_error(_api(make_client, db, s.admin).post("/api/v1/users/ada/suspension",
                                                    json={"days": 1, "reason": "x"}), 403)


def test_lifting_a_suspension_that_does_not_exist_is_a_404(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.admin).delete("/api/v1/users/bob/suspension"), 404)


def test_a_suspended_members_token_stops_working_at_once(db: Session, make_client: Any) -> None:
    s = _scene(db)
    bob = _api(make_client, db, s.bob)
    assert bob.get("/api/v1/me").status_code == 200
    _api(make_client, db, s.admin).post("/api/v1/users/bob/suspension", json={"days": 7, "reason": "Spam"})
    _json_error(bob.get("/api/v1/me"), 401)


def test_a_suspended_member_is_told_why_when_asking_for_a_token(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _api(make_client, db, s.admin).post("/api/v1/users/bob/suspension", json={"days": 7, "reason": "Spam everywhere"})
    response = make_client().post("/api/v1/auth/token", data={"username": "bob", "password": "correct horse battery"})
    assert "Spam everywhere" in _json_error(response, 403)["detail"]


def test_a_lifted_suspension_lets_the_member_get_a_token_again(db: Session, make_client: Any) -> None:
    s = _scene(db)
    admin = _api(make_client, db, s.admin)
    admin.post("/api/v1/users/bob/suspension", json={"days": 7, "reason": "Spam"})
    assert admin.delete("/api/v1/users/bob/suspension").status_code == 204
    response = make_client().post("/api/v1/auth/token", data={"username": "bob", "password": "correct horse battery"})
    assert response.status_code == 200


# The audit log ---------------------------------------------------------------------------------------


def _history(db: Session, make_client: Any, s: Scene) -> None:
    """Hana hides a post in espresso, Otto pins a thread in tea, the admin suspends Bob."""
    assert _api(make_client, db, s.host).post(f"/api/v1/mod/posts/{s.reply.id}/hide",
                                              json={"reason": "Advertising"}).status_code == 204
    tea_thread = make_thread(db, s.tea, s.other_host, title="Oolong")
    assert _api(make_client, db, s.other_host).post(f"/api/v1/threads/{tea_thread.id}/moderation/pin",
                                                    json={"reason": "Evergreen"}).status_code == 204
    assert _api(make_client, db, s.admin).post("/api/v1/users/bob/suspension",
                                               json={"days": 3, "reason": "Spam everywhere"}).status_code == 204


def _reasons(entries: list[dict[str, Any]]) -> list[str]:
    return [e["reason"] for e in entries if e["action"] in ("post_hidden", "thread_pinned", "user_suspended")]


def test_the_log_entry_names_the_action_actor_target_circle_and_reason(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _history(db, make_client, s)
    entries = _api(make_client, db, s.admin).get("/api/v1/mod/log?action=post_hidden").json()
    assert [(e["action"], e["actor"], e["target"], e["circle"], e["thread_id"], e["post_id"], e["reason"])
            for e in entries] == [("post_hidden", "hana", "alice", "espresso", s.thread.id, s.reply.id, "Advertising")]


def test_the_log_filters_by_circle_action_and_actor(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _history(db, make_client, s)
    admin = _api(make_client, db, s.admin)
    assert _reasons(admin.get("/api/v1/mod/log").json()) == ["Spam everywhere", "Evergreen", "Advertising"]
    assert _reasons(admin.get("/api/v1/mod/log?circle=tea").json()) == ["Evergreen"]
    assert _reasons(admin.get("/api/v1/mod/log?action=user_suspended").json()) == ["Spam everywhere"]
    assert _reasons(admin.get("/api/v1/mod/log?actor=hana").json()) == ["Advertising"]
    assert admin.get("/api/v1/mod/log?actor=hana&circle=tea").json() == []


def test_a_host_reads_only_the_log_of_their_circles(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _history(db, make_client, s)
    entries = _api(make_client, db, s.host).get("/api/v1/mod/log").json()
    assert {e["circle"] for e in entries} <= {"espresso", "lab"}
    assert _reasons(entries) == ["Advertising"]


@pytest.mark.parametrize("slug", ["tea", "nowhere"])
def test_a_host_asking_for_another_closed_circles_log_gets_404(db: Session, make_client: Any, slug: str) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.host).get(f"/api/v1/mod/log?circle={slug}"), 404)


@pytest.mark.parametrize("role", ["member", "ambassador"])
def test_members_are_refused_the_log(db: Session, make_client: Any, role: str) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.actor(role)).get("/api/v1/mod/log"), 403)


@pytest.mark.parametrize("query", ["page=abc", "page=99999999999999999999999", "page=1.5"])
def test_a_bad_log_page_is_a_422(db: Session, make_client: Any, query: str) -> None:
    s = _scene(db)
    _json_error(_api(make_client, db, s.admin).get(f"/api/v1/mod/log?{query}"), 422)


def test_an_unknown_action_filter_finds_nothing(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _history(db, make_client, s)
    assert _api(make_client, db, s.admin).get("/api/v1/mod/log?action=nonsense").json() == []


# Slow mode, held posts and flags on an opening post ------------------------------------------------------


def test_slow_mode_refuses_a_new_thread_through_the_api_with_a_429(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, slow=60)
    api = _api(make_client, db, s.member)
    assert api.post(f"/api/v1/threads/{s.thread.id}/posts", json={"body": "First"}).status_code == 201
    refused = api.post("/api/v1/circles/espresso/threads", json={"title": "Too soon", "body": "Hi"})
    body = _json_error(refused, 429)
    assert "Slow mode is on in this circle" in body["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 60
    host = _api(make_client, db, s.host)
    for title in ("News", "More news"):
        assert host.post("/api/v1/circles/espresso/threads", json={"title": title, "body": "Hi"}).status_code == 201


def test_an_approved_reply_through_the_api_tells_the_thread_author(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, hold=1)
    reply = _api(make_client, db, s.member).post(f"/api/v1/threads/{s.thread.id}/posts", json={"body": "Hello"})
    assert reply.status_code == 201
    assert [k for k, _t in _kinds(make_client, db, s.author) if k == "reply"] == []
    (held,) = _api(make_client, db, s.host).get("/api/v1/mod/queue").json()["held"]
    assert _api(make_client, db, s.host).post(f"/api/v1/mod/posts/{held}/approve", json={}).status_code == 204
    assert [k for k, _t in _kinds(make_client, db, s.author) if k == "reply"] == ["reply"]


def test_an_opening_post_hidden_by_flags_takes_its_thread_out_of_the_api_lists(db: Session, make_client: Any) -> None:
    s = _scene(db)
    opening = _all(db, select(Post).where(Post.thread_id == s.thread.id, Post.number == 1))[0]
    for user in (s.member, s.bob, s.ambassador):
        _flag(db, user, opening)

    def titles(user: User) -> list[str]:
        return [t["title"] for t in _api(make_client, db, user).get("/api/v1/circles/espresso/threads").json()]

    assert titles(s.author) == []
    assert _api(make_client, db, s.bob).get(f"/api/v1/threads/{s.thread.id}").status_code == 404
    assert _api(make_client, db, s.bob).get("/api/v1/search?q=grinder").json() == []
    assert titles(s.host) == ["Grinders"]
    assert _api(make_client, db, s.host).post(f"/api/v1/mod/posts/{opening.id}/keep", json={}).status_code == 204
    assert titles(s.author) == ["Grinders"]
    assert [h["thread_title"] for h in _api(make_client, db, s.bob).get("/api/v1/search?q=grinder").json()] == [
        "Grinders"]


# Notifications ---------------------------------------------------------------------------------------


def _kinds(make_client: Any, db: Session, user: User) -> list[tuple[str, str]]:
    return [(n["kind"], n["text"]) for n in _api(make_client, db, user).get("/api/v1/notifications").json()]


def test_the_author_of_a_post_hidden_through_the_api_is_told_why(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _api(make_client, db, s.host).post(f"/api/v1/mod/posts/{s.reply.id}/hide", json={"reason": "Advertising"})
    assert ("post_hidden", "Advertising") in _kinds(make_client, db, s.author)


def test_a_warning_through_the_api_reaches_the_author(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _api(make_client, db, s.host).post(f"/api/v1/mod/posts/{s.reply.id}/warn", json={"reason": "No ads"})
    assert ("warning", "No ads") in _kinds(make_client, db, s.author)


def test_a_member_removed_through_the_api_is_told(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _api(make_client, db, s.host).delete("/api/v1/circles/espresso/members/bob")
    assert ("removed", "Espresso") in _kinds(make_client, db, s.bob)


# Write limits across two app processes -----------------------------------------------------------------


@pytest.fixture
def two_apps(db: Session) -> Iterator[tuple[TestClient, TestClient]]:
    """Two app processes (two create_app() calls) on the same database."""
    from app.main import create_app

    with TestClient(create_app(), base_url="http://testserver") as one, \
            TestClient(create_app(), base_url="http://testserver") as two:
        yield one, two


def _token_for_both(db: Session, apps: tuple[TestClient, TestClient], user: User) -> None:
    token = accounts.create_api_token(db, user=user, name="tests")
    db.commit()
    for client in apps:
        client.headers["Authorization"] = f"Bearer {token}"


def test_the_flag_limit_holds_across_two_app_processes(db: Session, limits: Any, two_apps: Any) -> None:
    limits(flags_per_day=3)
    s = _scene(db)
    targets = [make_reply(db, s.thread, s.author, f"Watches {n}") for n in range(4)]
    _token_for_both(db, two_apps, s.member)
    statuses = [two_apps[n % 2].post(f"/api/v1/posts/{targets[n].id}/flags", json={"reason": "spam"}).status_code
                for n in range(3)]
    assert statuses == [201, 201, 201]
    refused = two_apps[1].post(f"/api/v1/posts/{targets[3].id}/flags", json={"reason": "spam"})
    assert _json_error(refused, 429)["detail"].startswith("You have flagged many posts today.")
    assert refused.headers["retry-after"] == str(24 * 3600)


def test_the_reply_limit_holds_across_two_app_processes(db: Session, limits: Any, two_apps: Any) -> None:
    limits(replies_per_10_minutes=3)
    s = _scene(db)
    _token_for_both(db, two_apps, s.member)
    for n in range(3):
        assert two_apps[n % 2].post(f"/api/v1/threads/{s.thread.id}/posts", json={"body": f"R{n}"}).status_code == 201
    refused = two_apps[1].post(f"/api/v1/threads/{s.thread.id}/posts", json={"body": "One too many"})
    assert _json_error(refused, 429)["detail"] == "You posted many replies in a few minutes. Please wait a little."


def test_the_thread_limit_holds_across_two_app_processes(db: Session, limits: Any, two_apps: Any) -> None:
    limits(threads_per_hour=2)
    s = _scene(db)
    _token_for_both(db, two_apps, s.member)
    for n in range(2):
        assert two_apps[n % 2].post("/api/v1/circles/espresso/threads",
                                    json={"title": f"T{n}", "body": "Hi"}).status_code == 201
    refused = two_apps[0].post("/api/v1/circles/espresso/threads", json={"title": "T3", "body": "Hi"})
    assert _json_error(refused, 429)["detail"].startswith("You started many threads in the last hour.")


def test_the_invite_limit_holds_across_two_app_processes(db: Session, limits: Any, two_apps: Any) -> None:
    limits(invites_per_day=2)
    s = _scene(db)
    _token_for_both(db, two_apps, s.host)
    for n in range(2):
        assert two_apps[n % 2].post("/api/v1/invites", json={"circle": "espresso"}).status_code == 201
    refused = two_apps[1].post("/api/v1/invites", json={"circle": "espresso"})
    assert _json_error(refused, 429)["detail"].startswith("You created many invite links today.")
