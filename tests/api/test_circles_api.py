"""The JSON API for circles, memberships, requests, members and invites."""

from typing import Any

import pytest
from sqlmodel import Session, select

from app.models import Circle, Invite, Membership, Notification, User
from app.services import accounts
from tests.factories import add_member, make_admin, make_circle, make_invite, make_thread, make_user


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


def _membership(db: Session, circle: Circle, user: User) -> Membership | None:
    rows = _all(db, select(Membership).where(Membership.circle_id == circle.id, Membership.user_id == user.id))
    return rows[0] if rows else None


def _member_count(db: Session, circle: Circle) -> int:
    (count,) = _all(db, select(Circle.member_count).where(Circle.id == circle.id))
    return count


def _assert_json_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "detail" in response.json()


# Auth --------------------------------------------------------------------------------------


def test_a_bearer_token_signs_in_to_the_api(db, make_client):
    alice = make_user(db, "alice")
    response = _api(make_client, db, alice).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_a_wrong_bearer_token_is_refused_with_401(db, make_client):
    client = make_client()
    client.headers["Authorization"] = "Bearer cercle_not-a-real-token"
    response = client.get("/api/v1/circles")
    _assert_json_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_the_password_flow_hands_out_a_working_token(db, make_client):
    make_user(db, "alice")
    client = _api(make_client, db)
    response = client.post("/api/v1/auth/token", data={"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 200
    token = response.json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    assert client.get("/api/v1/me").json()["username"] == "alice"


def test_writing_without_a_token_is_refused_with_401(db, make_client):
    make_circle(db, "espresso")
    _assert_json_error(_api(make_client, db).post("/api/v1/circles/espresso/join"), 401)


# Listing and reading circles ---------------------------------------------------------------


def test_listing_circles_shows_open_and_closed_but_not_secret_ones(db, make_client):
    make_circle(db, "espresso")
    make_circle(db, "roasters", visibility="closed")
    make_circle(db, "inner", visibility="secret")
    for client in (_api(make_client, db), _api(make_client, db, make_user(db, "outsider"))):
        response = client.get("/api/v1/circles")
        assert response.status_code == 200
        assert sorted(c["slug"] for c in response.json()) == ["espresso", "roasters"]


def test_listing_circles_shows_my_secret_circle_and_my_membership(db, make_client):
    circle = make_circle(db, "inner", visibility="secret")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    (entry,) = _api(make_client, db, alice).get("/api/v1/circles").json()
    assert (entry["slug"], entry["membership"], entry["role"], entry["member_count"]) == ("inner", "active", "member", 1)


def test_getting_a_closed_circle_gives_its_public_card(db, make_client):
    make_circle(db, "roasters", visibility="closed", name="Home roasters", description="We *roast*.")
    response = _api(make_client, db, make_user(db, "outsider")).get("/api/v1/circles/roasters")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["visibility"], body["membership"]) == ("Home roasters", "closed", None)
    assert body["description_html"] == "<p>We <em>roast</em>.</p>\n"


def test_a_secret_circle_is_not_found_for_a_non_member(db, make_client):
    make_circle(db, "inner", visibility="secret")
    outsider = _api(make_client, db, make_user(db, "outsider"))
    secret = outsider.get("/api/v1/circles/inner")
    missing = outsider.get("/api/v1/circles/nowhere")
    _assert_json_error(secret, 404)
    assert secret.json() == missing.json()


# Creating circles --------------------------------------------------------------------------


def test_an_admin_creates_a_circle(db, make_client):
    admin = make_admin(db)
    response = _api(make_client, db, admin).post("/api/v1/circles", json={
        "slug": "latte-art", "name": "Latte art", "description": "Hearts and **tulips**", "visibility": "closed"})
    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["visibility"], body["member_count"]) == ("latte-art", "closed", 0)
    assert "<strong>tulips</strong>" in body["description_html"]
    assert _all(db, select(Circle.slug)) == ["latte-art"]


def test_a_member_cannot_create_a_circle(db, make_client):
    response = _api(make_client, db, make_user(db, "alice")).post(
        "/api/v1/circles", json={"slug": "mine", "name": "Mine"})
    _assert_json_error(response, 403)
    assert _all(db, select(Circle)) == []


@pytest.mark.parametrize("body", [
    {},
    {"slug": "ok"},
    {"slug": "Not A Slug!", "name": "Bad"},
    {"slug": "-dash", "name": "Bad"},
    {"slug": "ok", "name": ""},
    {"slug": "ok", "name": "n" * 81},
    {"slug": "ok", "name": "Ok", "visibility": "private"},
    {"slug": "ok", "name": "Ok", "description": "d" * 2001},
    {"slug": "ok", "name": "Ok", "member_invites": "perhaps"},
    {"slug": ["ok"], "name": "Ok"},
])
def test_bad_circle_input_is_refused_with_422_json(db, make_client, body):
    response = _api(make_client, db, make_admin(db)).post("/api/v1/circles", json=body)
    _assert_json_error(response, 422)
    assert _all(db, select(Circle)) == []


def test_a_taken_slug_is_refused_with_422_and_the_field_named(db, make_client):
    admin = make_admin(db)
    make_circle(db, "espresso", by=admin)
    response = _api(make_client, db, admin).post("/api/v1/circles", json={"slug": "espresso", "name": "Again"})
    _assert_json_error(response, 422)
    assert "slug" in response.json()["errors"]


def test_a_body_that_is_not_json_is_refused_with_422(db, make_client):
    client = _api(make_client, db, make_admin(db))
    response = client.post("/api/v1/circles", content=b"{not json", headers={"Content-Type": "application/json"})
    _assert_json_error(response, 422)


# Joining, asking, approving, leaving -------------------------------------------------------


def test_joining_an_open_circle(db, make_client):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    response = _api(make_client, db, alice).post("/api/v1/circles/espresso/join")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["username"]) == ("active", "alice")
    assert _member_count(db, circle) == 1


def test_a_closed_circle_cannot_be_joined_directly(db, make_client):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    _assert_json_error(_api(make_client, db, alice).post("/api/v1/circles/roasters/join"), 403)
    assert _membership(db, circle, alice) is None


def test_a_secret_circle_cannot_be_joined_or_asked_through_the_api(db, make_client):
    circle = make_circle(db, "inner", visibility="secret")
    alice = make_user(db, "alice")
    client = _api(make_client, db, alice)
    _assert_json_error(client.post("/api/v1/circles/inner/join"), 404)
    _assert_json_error(client.post("/api/v1/circles/inner/requests", json={"message": "hi"}), 404)
    assert _membership(db, circle, alice) is None


def test_asking_approving_and_the_notifications_of_a_join_request(db, make_client):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    asked = _api(make_client, db, alice).post("/api/v1/circles/roasters/requests", json={"message": "Me please"})
    assert asked.status_code == 201
    assert (asked.json()["state"], asked.json()["request_message"]) == ("pending", "Me please")
    host_api = _api(make_client, db, host)
    (pending,) = host_api.get("/api/v1/circles/roasters/requests").json()
    assert pending["username"] == "alice"
    approved = host_api.post(f"/api/v1/circles/roasters/requests/{pending['id']}/approve")
    assert approved.status_code == 200
    assert approved.json()["state"] == "active"
    assert _member_count(db, circle) == 2
    kinds = _all(db, select(Notification.kind).where(Notification.user_id == alice.id))
    assert "request_approved" in kinds


def test_declining_a_request_through_the_api(db, make_client):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    asked = _api(make_client, db, alice).post("/api/v1/circles/roasters/requests", json={})
    declined = _api(make_client, db, host).post(f"/api/v1/circles/roasters/requests/{asked.json()['id']}/decline")
    assert declined.status_code == 200
    assert declined.json()["state"] == "declined"
    (note,) = _all(db, select(Notification).where(Notification.user_id == alice.id,
                                                  Notification.kind == "request_declined"))
    assert note.circle_id is None


def test_a_request_message_that_is_too_long_is_refused_with_422(db, make_client):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    response = _api(make_client, db, alice).post("/api/v1/circles/roasters/requests", json={"message": "m" * 1001})
    _assert_json_error(response, 422)
    assert _membership(db, circle, alice) is None


def test_a_member_may_not_list_or_approve_requests(db, make_client):
    circle = make_circle(db, "roasters", visibility="closed")
    member, alice = make_user(db, "member"), make_user(db, "alice")
    add_member(db, circle, member)
    asked = _api(make_client, db, alice).post("/api/v1/circles/roasters/requests", json={})
    member_api = _api(make_client, db, member)
    _assert_json_error(member_api.get("/api/v1/circles/roasters/requests"), 403)
    _assert_json_error(member_api.post(f"/api/v1/circles/roasters/requests/{asked.json()['id']}/approve"), 403)
    outsider_api = _api(make_client, db, make_user(db, "outsider"))
    _assert_json_error(outsider_api.get("/api/v1/circles/roasters/requests"), 404)
    assert _membership(db, circle, alice).state == "pending"  # type: ignore[union-attr]


def test_deciding_a_request_twice_is_a_conflict(db, make_client):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    asked = _api(make_client, db, alice).post("/api/v1/circles/roasters/requests", json={})
    host_api = _api(make_client, db, host)
    host_api.post(f"/api/v1/circles/roasters/requests/{asked.json()['id']}/approve")
    _assert_json_error(host_api.post(f"/api/v1/circles/roasters/requests/{asked.json()['id']}/decline"), 409)


def test_leaving_a_circle_through_the_api(db, make_client):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    client = _api(make_client, db, alice)
    assert client.delete("/api/v1/circles/espresso/membership").status_code == 204
    membership = _membership(db, circle, alice)
    assert membership is not None and membership.state == "left" and membership.left_at is not None
    _assert_json_error(client.delete("/api/v1/circles/espresso/membership"), 404)


def test_a_host_removes_a_member_who_cannot_rejoin(db, make_client):
    circle = make_circle(db, "espresso")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    add_member(db, circle, alice)
    assert _api(make_client, db, host).delete("/api/v1/circles/espresso/members/alice").status_code == 204
    assert _membership(db, circle, alice).state == "removed"  # type: ignore[union-attr]
    _assert_json_error(_api(make_client, db, alice).post("/api/v1/circles/espresso/join"), 403)


def test_a_member_cannot_remove_another(db, make_client):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    _assert_json_error(_api(make_client, db, alice).delete("/api/v1/circles/espresso/members/bob"), 403)


# Members and threads of a circle -----------------------------------------------------------


def test_members_of_a_circle_are_listed_to_its_readers(db, make_client):
    circle = make_circle(db, "espresso")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    add_member(db, circle, alice)
    members = _api(make_client, db, alice).get("/api/v1/circles/espresso/members").json()
    assert [(m["username"], m["role"]) for m in members] == [("host", "host"), ("alice", "member")]


@pytest.mark.parametrize("visibility", ["closed", "secret"])
def test_members_and_threads_of_a_closed_or_secret_circle_are_not_found_for_outsiders(db, make_client, visibility):
    circle = make_circle(db, "private", visibility=visibility)
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    make_thread(db, circle, alice)
    outsider = _api(make_client, db, make_user(db, "outsider"))
    for path in ("/api/v1/circles/private/members", "/api/v1/circles/private/threads"):
        _assert_json_error(outsider.get(path), 404)
    _assert_json_error(outsider.post("/api/v1/circles/private/threads", json={"title": "x", "body": "y"}), 404)


def test_the_threads_of_a_circle_with_unread_counts(db, make_client):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    make_thread(db, circle, alice, title="First")
    (row,) = _api(make_client, db, bob).get("/api/v1/circles/espresso/threads").json()
    assert (row["title"], row["author"], row["reply_count"], row["unread"]) == ("First", "alice", 0, 1)


def test_starting_a_thread_through_the_api(db, make_client):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    response = _api(make_client, db, alice).post("/api/v1/circles/espresso/threads",
                                                 json={"title": "Dialing in", "body": "Grind *finer*"})
    assert response.status_code == 201
    assert (response.json()["title"], response.json()["circle"]) == ("Dialing in", "espresso")


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "", "body": "x"}, "title"),
    ({"title": "   ", "body": "x"}, "title"),
    ({"title": "t", "body": ""}, "body"),
    ({"title": "t" * 201, "body": "x"}, None),
    ({"title": "t", "body": "b" * 50_001}, None),
    ({"body": "x"}, None),
    ({"title": 12, "body": "x"}, None),
])
def test_bad_thread_input_is_refused_with_422_json(db, make_client, body, field):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    response = _api(make_client, db, alice).post("/api/v1/circles/espresso/threads", json=body)
    _assert_json_error(response, 422)
    if field:
        assert field in response.json()["errors"]


def test_a_non_member_of_an_open_circle_cannot_start_a_thread(db, make_client):
    make_circle(db, "espresso")
    response = _api(make_client, db, make_user(db, "passer")).post(
        "/api/v1/circles/espresso/threads", json={"title": "t", "body": "b"})
    _assert_json_error(response, 403)


# Invites -----------------------------------------------------------------------------------


def test_a_member_creates_an_invite_and_someone_accepts_it(db, make_client):
    circle = make_circle(db, "roasters", visibility="closed")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    created = _api(make_client, db, alice).post("/api/v1/invites", json={"circle": "roasters", "max_uses": 1})
    assert created.status_code == 201
    invite = created.json()
    assert (invite["circle"], invite["uses"], invite["max_uses"]) == ("roasters", 0, 1)
    assert invite["url"].endswith(f"/invite/{invite['code']}")
    accepted = _api(make_client, db, bob).post(f"/api/v1/invites/{invite['code']}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "active"
    membership = _membership(db, circle, bob)
    assert membership is not None and membership.invited_by_id == alice.id
    carol = _api(make_client, db, make_user(db, "carol"))
    _assert_json_error(carol.post(f"/api/v1/invites/{invite['code']}/accept"), 422)


def test_an_invite_is_refused_when_member_invites_are_off(db, make_client):
    circle = make_circle(db, "roasters", visibility="closed", member_invites=False)
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _assert_json_error(_api(make_client, db, alice).post("/api/v1/invites", json={"circle": "roasters"}), 403)


def test_an_outsider_cannot_invite_to_a_secret_circle(db, make_client):
    make_circle(db, "inner", visibility="secret")
    outsider = _api(make_client, db, make_user(db, "outsider"))
    _assert_json_error(outsider.post("/api/v1/invites", json={"circle": "inner"}), 404)


@pytest.mark.parametrize("body", [{"circle": "roasters", "max_uses": 0}, {"circle": "roasters", "expires_in_days": 0},
                                  {"circle": "roasters", "expires_in_days": 1000}, {"circle": "roasters", "note": "n" * 1001},
                                  {"circle": "roasters", "max_uses": "lots"}])
def test_bad_invite_input_is_refused_with_422(db, make_client, body):
    circle = make_circle(db, "roasters")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _assert_json_error(_api(make_client, db, alice).post("/api/v1/invites", json=body), 422)
    assert _all(db, select(Invite)) == []


def test_a_site_invite_needs_an_admin_or_a_host(db, make_client):
    circle = make_circle(db, "espresso")
    alice, host = make_user(db, "alice"), make_user(db, "host")
    add_member(db, circle, alice)
    add_member(db, circle, host, host=True)
    _assert_json_error(_api(make_client, db, alice).post("/api/v1/invites", json={}), 403)
    created = _api(make_client, db, host).post("/api/v1/invites", json={})
    assert created.status_code == 201
    assert created.json()["circle"] is None


def test_revoking_an_invite_through_the_api(db, make_client):
    circle = make_circle(db, "roasters")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle)
    client = _api(make_client, db, host)
    assert client.delete(f"/api/v1/invites/{invite.id}").status_code == 204
    (listed,) = client.get("/api/v1/invites", params={"circle": "roasters"}).json()
    assert listed["revoked"] is True
    _assert_json_error(_api(make_client, db, make_user(db, "bob")).post(f"/api/v1/invites/{invite.code}/accept"), 422)


# Never a 500 ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/v1/circles/espresso/threads?page=abc",
    "/api/v1/circles/espresso/threads?page=99999999999999999999",
    "/api/v1/circles/espresso/members?page=-5",
    "/api/v1/circles/espresso/members?page=99999999999999999999",
    "/api/v1/circles/" + "x" * 300,
    "/api/v1/circles/%00",
])
def test_odd_circle_requests_never_cause_a_server_error(db, make_client, path):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    response = _api(make_client, db, alice).get(path)
    assert response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")
