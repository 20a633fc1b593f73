"""A member's settings: password, sessions and personal API tokens."""

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from app.models import utcnow
from tests.factories import PASSWORD, csrf_from, login, make_user, post_form

NEW_PASSWORD = "a brand new passphrase"
END_SESSION_RE = re.compile(r'action="/settings/sessions/(\d+)/end"')
REVOKE_TOKEN_RE = re.compile(r'action="/settings/tokens/(\d+)/revoke"')
NEW_TOKEN_RE = re.compile(r'<code class="token">(cercle_[^<]+)</code>')


def browser(make_client, user_agent: str) -> TestClient:
    client = make_client()
    client.headers["user-agent"] = user_agent
    return client


def is_signed_in(client: TestClient) -> bool:
    response = client.get("/settings", follow_redirects=False)
    if response.status_code == 200:
        return True
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    return False


def settings_post(client: TestClient, path: str, data: dict[str, str] | None = None):
    return post_form(client, path, data, csrf_page="/settings")


def test_settings_page_needs_a_signed_in_user(client, db):
    response = client.get("/settings", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsettings"


# Password ----------------------------------------------------------------------------------


def test_password_change_with_wrong_current_password_is_refused_with_422(client, make_client, db):
    make_user(db, "alice")
    login(client, "alice")
    response = settings_post(
        client, "/settings/password", {"current_password": "not my password", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 422
    assert "Your current password is not right." in response.text
    assert NEW_PASSWORD not in response.text
    assert login(make_client(), "alice", PASSWORD)


def test_password_change_with_too_short_new_password_is_refused_with_422(client, db):
    make_user(db, "alice")
    login(client, "alice")
    response = settings_post(client, "/settings/password", {"current_password": PASSWORD, "new_password": "short"})
    assert response.status_code == 422
    assert "At least 10 characters." in response.text


def test_password_change_signs_out_other_sessions_but_not_this_one(make_client, db):
    make_user(db, "alice")
    here = login(browser(make_client, "Here"), "alice")
    elsewhere = login(browser(make_client, "Elsewhere"), "alice")
    response = settings_post(here, "/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 303
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)


def test_changed_password_is_the_one_that_signs_in(client, make_client, db):
    make_user(db, "alice")
    login(client, "alice")
    settings_post(client, "/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    fresh = make_client()
    data = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_from(fresh)}
    assert fresh.post("/login", data=data, follow_redirects=False).status_code == 422
    assert login(fresh, "alice", NEW_PASSWORD)


# Sessions ----------------------------------------------------------------------------------


def test_settings_lists_every_session_of_the_user(make_client, db):
    make_user(db, "alice")
    make_user(db, "bob")
    here = login(browser(make_client, "Firefox on the desk"), "alice")
    login(browser(make_client, "Phone in the pocket"), "alice")
    login(browser(make_client, "Bob's browser"), "bob")
    page = here.get("/settings").text
    assert "Firefox on the desk" in page
    assert "Phone in the pocket" in page
    assert "Bob" not in page
    assert page.count("This session") == 1
    assert len(END_SESSION_RE.findall(page)) == 1


def test_ending_another_session_signs_that_browser_out(make_client, db):
    make_user(db, "alice")
    here = login(browser(make_client, "Here"), "alice")
    elsewhere = login(browser(make_client, "Elsewhere"), "alice")
    [other_id] = END_SESSION_RE.findall(here.get("/settings").text)
    response = settings_post(here, f"/settings/sessions/{other_id}/end")
    assert response.status_code == 303
    assert not is_signed_in(elsewhere)
    assert is_signed_in(here)


def test_a_user_cannot_end_someone_elses_session(make_client, db):
    make_user(db, "alice")
    make_user(db, "mallory")
    alice = login(browser(make_client, "Alice"), "alice")
    mallory = login(browser(make_client, "Mallory"), "mallory")
    login(browser(make_client, "Alice again"), "alice")
    [alice_other_id] = END_SESSION_RE.findall(alice.get("/settings").text)
    response = settings_post(mallory, f"/settings/sessions/{alice_other_id}/end")
    assert response.status_code == 404
    assert END_SESSION_RE.findall(alice.get("/settings").text) == [alice_other_id]


def test_ending_all_other_sessions_keeps_only_this_one(make_client, db):
    make_user(db, "alice")
    here = login(browser(make_client, "Here"), "alice")
    others = [login(browser(make_client, f"Other {n}"), "alice") for n in range(2)]
    response = settings_post(here, "/settings/sessions/end-others")
    assert response.status_code == 303
    assert is_signed_in(here)
    assert not any(is_signed_in(other) for other in others)
    assert END_SESSION_RE.findall(here.get("/settings").text) == []


def test_suspended_user_cannot_use_an_existing_session(client, db):
    user = make_user(db, "alice")
    login(client, "alice")
    assert is_signed_in(client)
    user.suspended_until = utcnow() + timedelta(days=1)
    db.add(user)
    db.commit()
    assert not is_signed_in(client)


def test_session_works_again_after_the_suspension_ends(client, db):
    user = make_user(db, "alice")
    login(client, "alice")
    user.suspended_until = utcnow() - timedelta(minutes=1)
    db.add(user)
    db.commit()
    assert is_signed_in(client)


# API tokens --------------------------------------------------------------------------------


def create_token(client: TestClient, name: str = "my script") -> str:
    response = settings_post(client, "/settings/tokens", {"name": name})
    assert response.status_code == 200
    [token] = NEW_TOKEN_RE.findall(response.text)
    return token


def test_created_api_token_is_shown_once_and_works_as_bearer(client, make_client, db):
    make_user(db, "alice")
    login(client, "alice")
    token = create_token(client)
    script = make_client()
    response = script.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    page = client.get("/settings").text
    assert "my script" in page
    assert token not in page


def test_api_token_needs_a_name(client, db):
    make_user(db, "alice")
    login(client, "alice")
    response = settings_post(client, "/settings/tokens", {"name": "   "})
    assert response.status_code == 422
    assert NEW_TOKEN_RE.findall(response.text) == []


def test_revoked_api_token_stops_working(client, make_client, db):
    make_user(db, "alice")
    login(client, "alice")
    token = create_token(client)
    [token_id] = REVOKE_TOKEN_RE.findall(client.get("/settings").text)
    assert settings_post(client, f"/settings/tokens/{token_id}/revoke").status_code == 303
    response = make_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert REVOKE_TOKEN_RE.findall(client.get("/settings").text) == []


def test_a_user_cannot_revoke_someone_elses_token(make_client, db):
    make_user(db, "alice")
    make_user(db, "mallory")
    alice = login(make_client(), "alice")
    mallory = login(make_client(), "mallory")
    token = create_token(alice)
    [token_id] = REVOKE_TOKEN_RE.findall(alice.get("/settings").text)
    assert settings_post(mallory, f"/settings/tokens/{token_id}/revoke").status_code == 404
    assert make_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_suspended_user_cannot_use_an_api_token(client, make_client, db):
    user = make_user(db, "alice")
    login(client, "alice")
    token = create_token(client)
    user.suspended_until = utcnow() + timedelta(days=1)
    db.add(user)
    db.commit()
    response = make_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_first_post_of_an_idle_session_is_not_held_up_by_its_bookkeeping(client, db):
    from sqlmodel import select

    from app.middleware import SESSION_COOKIE
    from app.models import UserSession
    from app.security import csrf_token_for

    make_user(db, "alice")
    login(client, "alice")
    row = db.exec(select(UserSession)).one()
    row.last_seen_at = utcnow() - timedelta(hours=3)
    row.visit_day = None
    db.add(row)
    db.commit()
    token = csrf_token_for(client.cookies[SESSION_COOKIE])
    response = client.post("/settings/tokens", data={"name": "cron", "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 200
    db.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)
    assert row.visit_day is not None
