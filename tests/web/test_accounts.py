"""Registration, sign-in, throttling, sign-out and the session cookie."""

import os
import re
from collections.abc import Iterator

import pytest
from fastapi import Response
from fastapi.testclient import TestClient
from sqlmodel import select
from starlette.requests import Request

from app.config import get_settings
from app.main import create_app
from app.middleware import SESSION_COOKIE
from app.models import Invite, RateEvent, User
from app.routers.forms import set_session_cookie
from app.services import accounts, invites, site
from app.web import forget_site_config
from tests.factories import PASSWORD, csrf_from, login, make_admin, make_user, post_form

ALERT_RE = re.compile(r'<div class="alert" role="alert">(.*?)</div>', re.S)
FIELD_ERROR_RE = re.compile(r'<small class="field-error" id="e-(\w+)">(.*?)</small>', re.S)


def register(client: TestClient, **fields: str):
    data = {
        "username": "alice",
        "email": "alice@example.com",
        "password": PASSWORD,
        "display_name": "",
        "csrf_token": csrf_from(client, "/login"),
    }
    data.update(fields)
    return client.post("/register", data=data, follow_redirects=False)


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    data = {"username": username, "password": password, "csrf_token": csrf_from(client, "/login")}
    return client.post("/login", data=data, follow_redirects=False)


def is_signed_in(client: TestClient) -> bool:
    response = client.get("/settings", follow_redirects=False)
    if response.status_code == 200:
        return True
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    return False


def messages(html: str) -> tuple[list[str], list[tuple[str, str]]]:
    return [m.strip() for m in ALERT_RE.findall(html)], FIELD_ERROR_RE.findall(html)


def make_invite_only(db) -> None:
    site.update(db, registration="invite")
    forget_site_config()


# Registration ------------------------------------------------------------------------------


def test_registration_signs_in_and_redirects_home(client, db):
    response = register(client, display_name="Alice A.")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert is_signed_in(client)
    user = accounts.find_by_login(db, "alice")
    assert user is not None and user.email == "alice@example.com" and user.display_name == "Alice A."


def test_registration_stores_a_password_hash_not_the_password(client, db):
    register(client)
    user = accounts.find_by_login(db, "alice")
    assert user is not None
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_registration_with_invalid_username_rerenders_the_form_with_422(client, db):
    response = register(client, username="No Spaces!", email="ok@example.com", display_name="Bob")
    assert response.status_code == 422
    alerts, field_errors = messages(response.text)
    assert alerts == ["Please correct the highlighted fields."]
    assert ("username", "3 to 30 characters: lowercase letters, digits and _.") in field_errors
    assert accounts.find_by_login(db, "ok@example.com") is None


def test_registration_with_invalid_email_rerenders_the_form_with_422(client, db):
    response = register(client, email="not-an-address")
    assert response.status_code == 422
    _alerts, field_errors = messages(response.text)
    assert field_errors == [("email", "Enter a valid e-mail address.")]
    assert accounts.find_by_login(db, "alice") is None


def test_registration_with_short_password_rerenders_the_form_with_422(client, db):
    response = register(client, password="tiny-pw9")
    assert response.status_code == 422
    _alerts, field_errors = messages(response.text)
    assert field_errors == [("password", "At least 10 characters.")]
    assert accounts.find_by_login(db, "alice") is None


def test_invalid_registration_keeps_typed_values_but_not_the_password(client, db):
    response = register(
        client, username="bob_the_builder", email="bob@example.com", display_name="Bobby", password="tiny-pw9"
    )
    assert response.status_code == 422
    assert 'value="bob_the_builder"' in response.text
    assert 'value="bob@example.com"' in response.text
    assert 'value="Bobby"' in response.text
    assert "tiny-pw9" not in response.text


def test_duplicate_username_and_duplicate_email_get_the_same_message(client, db):
    make_user(db, "alice")
    same_username = register(client, username="alice", email="someone-else@example.com")
    same_email = register(client, username="another_alice", email="alice@example.com")
    assert same_username.status_code == same_email.status_code == 422
    assert messages(same_username.text) == messages(same_email.text)
    alerts, _field_errors = messages(same_email.text)
    assert alerts == ["This username or e-mail address is not available."]
    assert accounts.find_by_login(db, "another_alice") is None


def test_duplicate_username_check_ignores_case(client, db):
    make_user(db, "alice")
    response = register(client, username="ALICE", email="other@example.com")
    assert response.status_code == 422
    assert len(db.exec(select(User)).all()) == 1


def test_invite_only_site_hides_the_registration_form(client, db):
    make_invite_only(db)
    response = client.get("/register")
    assert response.status_code == 200
    assert "Registration is by invitation only" in response.text
    assert 'action="/register"' not in response.text


def test_invite_only_site_refuses_registration_without_an_invite(client, db):
    make_invite_only(db)
    response = register(client)
    assert response.status_code == 403
    assert accounts.find_by_login(db, "alice") is None
    assert not is_signed_in(client)


def test_invite_only_site_refuses_registration_with_an_unknown_invite(client, db):
    make_invite_only(db)
    response = register(client, invite="no-such-code")
    assert response.status_code == 422
    assert "Registration is by invitation only" in response.text
    assert accounts.find_by_login(db, "alice") is None


def test_registration_with_an_unknown_invite_says_the_link_is_not_valid(client, db):
    response = register(client, invite="no-such-code")
    assert response.status_code == 422
    alerts, _field_errors = messages(response.text)
    assert alerts == ["This invite link is not valid any more."]
    assert accounts.find_by_login(db, "alice") is None


def test_invite_only_site_accepts_registration_with_a_site_invite(client, db):
    make_invite_only(db)
    admin = make_admin(db)
    invite = invites.create_invite(db, by=admin, circle=None)
    form = client.get(f"/register?invite={invite.code}")
    assert f'name="invite" value="{invite.code}"' in form.text
    response = register(client, invite=invite.code)
    assert response.status_code == 303
    assert is_signed_in(client)
    user = accounts.find_by_login(db, "alice")
    assert user is not None
    assert user.invited_by_id == admin.id
    assert user.invite_id == invite.id
    db.expire_all()
    assert db.get(Invite, invite.id).uses == 1


def test_used_up_site_invite_refuses_a_second_registration(client, make_client, db):
    make_invite_only(db)
    admin = make_admin(db)
    invite = invites.create_invite(db, by=admin, circle=None, max_uses=1)
    assert register(client, invite=invite.code).status_code == 303
    second = register(make_client(), username="bob", email="bob@example.com", invite=invite.code)
    assert second.status_code == 422
    assert accounts.find_by_login(db, "bob") is None


# Sign in -----------------------------------------------------------------------------------


def test_sign_in_by_username(client, db):
    make_user(db, "alice")
    response = sign_in(client, "alice")
    assert response.status_code == 303
    assert is_signed_in(client)


def test_sign_in_by_email(client, db):
    make_user(db, "alice")
    response = sign_in(client, "Alice@Example.com")
    assert response.status_code == 303
    assert is_signed_in(client)


def test_sign_in_follows_a_local_next_but_not_a_foreign_one(client, make_client, db):
    make_user(db, "alice")
    data = {"username": "alice", "password": PASSWORD, "next": "/settings", "csrf_token": csrf_from(client)}
    assert client.post("/login", data=data, follow_redirects=False).headers["location"] == "/settings"
    other = make_client()
    data = {"username": "alice", "password": PASSWORD, "next": "https://evil.example/", "csrf_token": csrf_from(other)}
    location = other.post("/login", data=data, follow_redirects=False).headers["location"]
    assert "evil.example" not in location


def test_sign_in_with_wrong_password_is_refused_with_422(client, db):
    make_user(db, "alice")
    response = sign_in(client, "alice", "not the password")
    assert response.status_code == 422
    assert "Wrong username or password." in response.text
    assert 'value="alice"' in response.text
    assert not is_signed_in(client)


def test_sign_in_gives_the_same_answer_for_an_unknown_user(client, make_client, db):
    make_user(db, "alice")
    wrong_password = sign_in(client, "alice", "not the password")
    unknown_user = sign_in(make_client(), "nobody", "not the password")
    assert unknown_user.status_code == wrong_password.status_code == 422
    assert messages(unknown_user.text) == messages(wrong_password.text)
    assert "Wrong username or password." in unknown_user.text


def test_sign_in_is_throttled_after_five_failures(client, db):
    make_user(db, "alice")
    assert get_settings().login_max_failures == 5
    for _attempt in range(5):
        assert sign_in(client, "alice", "not the password").status_code == 422
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text
    assert not is_signed_in(client)


def test_sign_in_throttle_is_shared_by_every_app_process(client, db):
    make_user(db, "alice")
    for _attempt in range(5):
        assert sign_in(client, "alice", "not the password").status_code == 422
    with TestClient(create_app(), base_url="http://testserver") as second_process:
        response = sign_in(second_process, "alice", PASSWORD)
    assert response.status_code == 429
    assert len(db.exec(select(RateEvent).where(RateEvent.key == "login:alice")).all()) == 5


def test_successful_sign_in_resets_the_failure_count(client, db):
    make_user(db, "alice")
    for _attempt in range(4):
        sign_in(client, "alice", "not the password")
    assert sign_in(client, "alice").status_code == 303
    for _attempt in range(4):
        assert sign_in(client, "alice", "not the password").status_code == 422
    assert sign_in(client, "alice").status_code == 303


def test_suspended_user_cannot_sign_in(client, db):
    from datetime import timedelta

    from app.models import utcnow

    user = make_user(db, "alice")
    user.suspended_until = utcnow() + timedelta(days=2)
    user.suspended_reason = "spam"
    db.add(user)
    db.commit()
    response = sign_in(client, "alice")
    assert response.status_code == 403
    assert "suspended" in response.text
    assert not is_signed_in(client)


# Sessions ----------------------------------------------------------------------------------


def test_sign_out_ends_the_session_on_the_server(client, make_client, db):
    make_user(db, "alice")
    login(client, "alice")
    token = client.cookies[SESSION_COOKIE]
    response = post_form(client, "/logout")
    assert response.status_code == 303
    assert not is_signed_in(client)
    replay = make_client()
    replay.cookies.set(SESSION_COOKIE, token)
    assert not is_signed_in(replay)


def test_sign_in_replaces_a_session_cookie_set_before(client, db):
    make_user(db, "alice")
    client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="testserver.local")
    sign_in(client, "alice")
    assert client.cookies[SESSION_COOKIE] != "planted-by-an-attacker"
    assert is_signed_in(client)


def test_each_sign_in_gets_a_new_session_token_and_ends_the_old_one(client, make_client, db):
    make_user(db, "alice")
    login(client, "alice")
    first = client.cookies[SESSION_COOKIE]
    login(client, "alice")
    second = client.cookies[SESSION_COOKIE]
    assert first != second
    replay = make_client()
    replay.cookies.set(SESSION_COOKIE, first)
    assert not is_signed_in(replay)
    assert is_signed_in(client)


def test_session_token_is_stored_hashed(client, db):
    from app.models import UserSession

    make_user(db, "alice")
    login(client, "alice")
    token = client.cookies[SESSION_COOKIE]
    stored = [row.token_hash for row in db.exec(select(UserSession)).all()]
    assert len(stored) == 1 and token not in stored


def test_session_cookie_is_httponly_and_samesite_lax(client, db):
    make_user(db, "alice")
    response = sign_in(client, "alice")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].split("=")[1].lower() == "lax"
    assert "secure" not in attributes  # CERCLE_BASE_URL is http:// in the tests


@pytest.fixture
def https_base_url() -> Iterator[None]:
    previous = os.environ.get("CERCLE_BASE_URL")
    os.environ["CERCLE_BASE_URL"] = "https://forum.example.com"
    get_settings.cache_clear()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CERCLE_BASE_URL", None)
        else:
            os.environ["CERCLE_BASE_URL"] = previous
        get_settings.cache_clear()


def _session_cookie_header() -> str:
    request = Request({"type": "http", "method": "POST", "headers": [], "state": {}})
    response = Response()
    set_session_cookie(request, response, "the-token")
    return next(c for c in response.headers.getlist("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))


def test_session_cookie_is_secure_when_the_site_is_https(https_base_url):
    cookie = _session_cookie_header().lower()
    assert "; secure" in cookie
    assert "; httponly" in cookie
    assert "samesite=lax" in cookie


def test_session_cookie_is_not_secure_on_plain_http():
    assert "; secure" not in _session_cookie_header().lower()
