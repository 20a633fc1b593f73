"""CSRF: a session-bound token in the form or header, from our own origin; cookieless API calls are exempt."""

from app.middleware import SESSION_COOKIE
from app.security import csrf_token_for
from tests.factories import PASSWORD, csrf_from, login, make_user

REFUSAL = "This form has expired or came from another site."


def login_data(client, **extra):
    data = {"username": "alice", "password": PASSWORD}
    data.update(extra)
    return data


def test_post_without_csrf_token_is_refused(client, db):
    make_user(db, "alice")
    client.get("/login")
    response = client.post("/login", data=login_data(client), follow_redirects=False)
    assert response.status_code == 403
    assert REFUSAL in response.text
    assert SESSION_COOKIE not in client.cookies


def test_post_with_a_wrong_csrf_token_is_refused(client, db):
    make_user(db, "alice")
    client.get("/login")
    response = client.post("/login", data=login_data(client, csrf_token="0" * 64), follow_redirects=False)
    assert response.status_code == 403


def test_csrf_token_of_another_browser_is_refused(client, make_client, db):
    make_user(db, "alice")
    someone_elses = csrf_from(make_client())
    client.get("/login")
    response = client.post("/login", data=login_data(client, csrf_token=someone_elses), follow_redirects=False)
    assert response.status_code == 403


def test_post_with_the_right_token_is_accepted(client, db):
    make_user(db, "alice")
    response = client.post("/login", data=login_data(client, csrf_token=csrf_from(client)), follow_redirects=False)
    assert response.status_code == 303


def test_right_token_from_a_foreign_origin_is_refused(client, db):
    make_user(db, "alice")
    token = csrf_from(client)
    response = client.post(
        "/login",
        data=login_data(client, csrf_token=token),
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_right_token_from_our_own_origin_is_accepted(client, db):
    make_user(db, "alice")
    token = csrf_from(client)
    response = client.post(
        "/login",
        data=login_data(client, csrf_token=token),
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_null_origin_is_refused(client, db):
    make_user(db, "alice")
    token = csrf_from(client)
    response = client.post(
        "/login", data=login_data(client, csrf_token=token), headers={"Origin": "null"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_cross_site_fetch_metadata_is_refused(client, db):
    make_user(db, "alice")
    token = csrf_from(client)
    response = client.post(
        "/login",
        data=login_data(client, csrf_token=token),
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_csrf_token_in_the_x_csrf_token_header_is_accepted(client, db):
    make_user(db, "alice")
    token = csrf_from(client)
    response = client.post("/login", data=login_data(client), headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_csrf_token_changes_at_sign_in(client, db):
    make_user(db, "alice")
    before = csrf_from(client)
    login(client, "alice")
    after = csrf_from(client, "/settings")
    assert before != after
    assert after == csrf_token_for(client.cookies[SESSION_COOKIE])
    response = client.post("/settings/tokens", data={"name": "x", "csrf_token": before}, follow_redirects=False)
    assert response.status_code == 403


def test_signed_in_form_post_without_token_is_refused(client, db):
    make_user(db, "alice")
    login(client, "alice")
    response = client.post("/settings/tokens", data={"name": "sneaky"}, follow_redirects=False)
    assert response.status_code == 403
    assert "sneaky" not in client.get("/settings").text


def test_bearer_api_call_without_cookies_needs_no_csrf_token(make_client, db):
    from app.services import accounts

    user = make_user(db, "alice")
    token = accounts.create_api_token(db, user=user, name="script")
    script = make_client()
    response = script.post("/api/v1/me/tokens", json={"name": "second"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    assert response.json()["token"].startswith("cercle_")


def test_cookie_authenticated_api_post_without_token_is_refused(client, db):
    make_user(db, "alice")
    login(client, "alice")
    response = client.post("/api/v1/me/tokens", json={"name": "sneaky"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/json")
    assert REFUSAL in response.json()["detail"]


def test_cookie_authenticated_api_post_with_header_token_is_accepted(client, db):
    make_user(db, "alice")
    login(client, "alice")
    token = csrf_from(client, "/settings")
    response = client.post("/api/v1/me/tokens", json={"name": "mine"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 201


def test_bearer_token_does_not_lift_csrf_when_a_session_cookie_rides_along(client, db):
    from app.services import accounts

    user = make_user(db, "alice")
    token = accounts.create_api_token(db, user=user, name="script")
    login(client, "alice")
    response = client.post("/api/v1/me/tokens", json={"name": "sneaky"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_get_requests_need_no_csrf_token(client, db):
    make_user(db, "alice")
    login(client, "alice")
    assert client.get("/settings", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_anonymous_api_post_with_only_the_seed_cookie_needs_no_csrf_token(client, db):
    make_user(db, "alice")
    client.get("/login")
    assert "cercle_anon" in client.cookies
    response = client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
