"""Nobody learns from outside whether an account exists; sessions are not fixed; secrets are not logged.

Sign-in, registration and the forgotten-password form answer the same for an existing and a
missing account: same status, same page, and about the same time. Timing is measured as the time
until the response is fully sent (a background task runs after that), with argon2 made costly
enough here that skipping the hash for unknown accounts would show.
"""

import logging
import re
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware import ANON_COOKIE, SESSION_COOKIE
from app.services import accounts
from tests.factories import PASSWORD, csrf_from, login, make_user, post_form

ATTEMPTS = 15
COOKIE_DOMAIN = "testserver.local"  # where the test client files the server's cookies for http://testserver
CSRF_VALUE_RE = re.compile(r'(name="csrf_token" value=|"X-CSRF-Token": )"[0-9a-f]+"')


class ResponseTimer:
    """Wraps the app: the seconds from the request to the last byte of its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - started

        await self.app(scope, receive, timed_send)


@pytest.fixture
def timed(app: Any) -> Iterator[tuple[TestClient, ResponseTimer]]:
    timer = ResponseTimer(app)
    with TestClient(timer, base_url="http://testserver") as client:
        yield client, timer


def same_page(html: str, *echoed: str) -> str:
    """The page with what the visitor typed and the CSRF token blanked out."""
    for value in echoed:
        html = html.replace(value, "ECHOED")
    return CSRF_VALUE_RE.sub(r"\1TOKEN", html)


def median_ratio(measure: Callable[[str], float], first: list[str], second: list[str]) -> tuple[float, float, float]:
    """Medians of alternated attempts (first[i], second[i], ...) after one warm-up of each."""
    measure(first[0])
    measure(second[0])
    a, b = [], []
    for x, y in zip(first[1:], second[1:], strict=True):
        a.append(measure(x))
        b.append(measure(y))
    ma, mb = statistics.median(a), statistics.median(b)
    return ma, mb, ma / mb


# Same answers --------------------------------------------------------------------------------


def test_sign_in_answers_the_same_for_a_wrong_password_and_an_unknown_account(client, db):
    make_user(db, "alice")
    token = csrf_from(client)
    pages = {}
    for login_name in ("alice", "nobody_here", "alice@example.com", "nobody@example.com"):
        response = client.post(
            "/login",
            data={"username": login_name, "password": "wrong password!", "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 422
        assert SESSION_COOKIE not in response.cookies
        pages[login_name] = same_page(response.text, login_name)
    assert "Wrong username or password." in pages["alice"]
    assert pages["alice"] == pages["nobody_here"] == pages["alice@example.com"] == pages["nobody@example.com"]
    api = [
        client.post("/api/v1/auth/token", data={"username": name, "password": "wrong password!"})
        for name in ("alice", "nobody_here")
    ]
    assert [r.status_code for r in api] == [422, 422]
    assert api[0].json() == api[1].json()


def test_a_deleted_account_answers_like_a_missing_one(client, db):
    from app.services import personal_data

    alice = make_user(db, "alice")
    personal_data.delete_account(db, user=alice, password=PASSWORD, erase_posts=False)
    token = csrf_from(client)
    pages = [
        same_page(client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token}).text, name)
        for name in (f"former_{alice.id}", "nobody_here")
    ]
    assert pages[0] == pages[1]


def test_registration_does_not_say_whether_the_username_or_the_email_is_taken(client, db):
    make_user(db, "alice")  # alice@example.com
    token = csrf_from(client, "/register")
    attempts = {
        "username taken": {"username": "alice", "email": "someone.new@example.com"},
        "email taken": {"username": "someone_new", "email": "alice@example.com"},
    }
    pages = {}
    for what, fields in attempts.items():
        response = client.post(
            "/register",
            data={**fields, "password": PASSWORD, "display_name": "", "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 422, what
        assert SESSION_COOKIE not in response.cookies
        pages[what] = same_page(response.text, fields["username"], fields["email"])
    assert "This username or e-mail address is not available." in pages["username taken"]
    assert pages["username taken"] == pages["email taken"]


def test_forgot_password_answers_the_same_for_existing_and_missing_accounts(client, db):
    make_user(db, "alice")
    token = csrf_from(client, "/forgot")
    pages = []
    for login_name in ("alice", "nobody_here", "alice@example.com", "nobody@example.com"):
        response = client.post("/forgot", data={"login": login_name, "csrf_token": token})
        assert response.status_code == 200
        pages.append(same_page(response.text, login_name))
    assert "If an account matches" in pages[0]
    assert pages[0] == pages[1] == pages[2] == pages[3]


# Similar timing ------------------------------------------------------------------------------


def test_sign_in_takes_as_long_for_an_unknown_account_as_for_a_wrong_password(db, limits, timed):
    # A real hash cost (test default is nearly free) so that a skipped check would show,
    # and no throttling: each attempt must reach the password check.
    limits(argon2_time_cost=2, argon2_memory_cost=16384, login_max_failures=10_000)
    names = [make_user(db, f"member{i:02d}").username for i in range(ATTEMPTS + 1)]
    client, timer = timed
    token = csrf_from(client)

    def attempt(login_name: str) -> float:
        response = client.post(
            "/login", data={"username": login_name, "password": "not the password", "csrf_token": token}
        )
        assert response.status_code == 422
        return timer.last

    existing, missing, ratio = median_ratio(attempt, names, [f"ghost{i:02d}" for i in range(ATTEMPTS + 1)])
    print(
        f"\nsign-in: existing account (wrong password) median {existing * 1000:.1f} ms, unknown account "
        f"{missing * 1000:.1f} ms, ratio {ratio:.2f} over {ATTEMPTS} attempts each"
    )
    assert 0.5 <= ratio <= 2.0


def test_forgot_password_takes_as_long_for_an_existing_account(db, timed, monkeypatch):
    """The mail goes out after the answer: even a slow mail server does not show in the timing."""
    from app.services import mail

    sent: list[str] = []

    def slow_smtp(*, to: str, subject: str, body: str) -> bool:
        time.sleep(0.1)
        sent.append(to)
        return True

    monkeypatch.setattr(mail, "send_mail", slow_smtp)
    # One account per attempt: each may receive at most 3 reset mails an hour.
    names = [make_user(db, f"member{i:02d}").username for i in range(ATTEMPTS + 1)]
    client, timer = timed
    token = csrf_from(client, "/forgot")

    def attempt(login_name: str) -> float:
        assert client.post("/forgot", data={"login": login_name, "csrf_token": token}).status_code == 200
        return timer.last

    existing, missing, ratio = median_ratio(attempt, names, [f"ghost{i:02d}" for i in range(ATTEMPTS + 1)])
    print(
        f"\nforgot password: existing account median {existing * 1000:.1f} ms, unknown {missing * 1000:.1f} ms, "
        f"ratio {ratio:.2f}; {len(sent)} mails sent"
    )
    assert len(sent) == ATTEMPTS + 1  # the mails did go out, in the background
    # The page takes a few milliseconds: a ratio of two such medians is noisy, so a difference
    # under 10 ms passes too. A mail sent before answering would add 100 ms and fail both.
    assert 0.5 <= ratio <= 2.0 or abs(existing - missing) < 0.010


# Session fixation ----------------------------------------------------------------------------


def test_a_session_cookie_set_before_sign_in_is_replaced(client, make_client, db):
    make_user(db, "alice")
    make_user(db, "mallory")
    # A made-up value planted in the victim's browser (for the host, as the server would set it).
    client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain=COOKIE_DOMAIN)
    login(client, "alice")
    issued = client.cookies.get(SESSION_COOKIE)
    assert issued and issued != "planted-by-an-attacker"
    attacker = make_client()
    attacker.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain=COOKIE_DOMAIN)
    assert attacker.get("/api/v1/me").status_code == 401
    # A real session of the attacker's, planted the same way: replaced at sign-in and ended.
    attacker = make_client()
    login(attacker, "mallory")
    mallory_token = attacker.cookies.get(SESSION_COOKIE)
    victim = make_client()
    victim.cookies.set(SESSION_COOKIE, mallory_token, domain=COOKIE_DOMAIN)
    anon_csrf = csrf_from(victim)  # the form of the page, as served to the victim
    response = victim.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": anon_csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    assert victim.cookies.get(SESSION_COOKIE) not in (None, mallory_token)
    assert victim.get("/api/v1/me").json()["username"] == "alice"
    assert attacker.get("/api/v1/me").status_code == 401  # the planted session is over, not alice's
    # The anonymous CSRF seed does not survive the sign-in either.
    fresh = make_client()
    seed_csrf = csrf_from(fresh)
    login(fresh, "alice")
    assert ANON_COOKIE not in fresh.cookies or not fresh.cookies.get(ANON_COOKIE)
    refused = fresh.post(
        "/settings/profile", data={"display_name": "x", "csrf_token": seed_csrf}, follow_redirects=False
    )
    assert refused.status_code == 403


# Secrets never logged ------------------------------------------------------------------------

CLIENT_LOGGERS = ("httpx", "httpx2")  # the test client's own request lines
LOGGERS = (
    "sqlalchemy.engine",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "app",
    "passlib",
    "multipart",
    "python_multipart",
    "fastapi",
    "starlette",
)


def test_no_token_or_password_reaches_any_log_record(client, make_client, db, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: the app's, SQLAlchemy's SQL, uvicorn's, httpx's
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    secrets: dict[str, str] = {}
    try:
        first_password, second_password, third_password = (
            "first secret passphrase",
            "second secret passphrase",
            "third secret passphrase",
        )
        secrets.update(
            first=first_password, second=second_password, third=third_password, wrong="a wrong guess of a password"
        )
        browser = make_client()
        response = post_form(
            browser,
            "/register",
            {"username": "alice", "email": "alice@example.com", "password": first_password, "display_name": ""},
            csrf_page="/register",
        )
        assert response.status_code == 303
        secrets["session after registration"] = browser.cookies.get(SESSION_COOKIE)
        browser.post("/logout", headers={"X-CSRF-Token": csrf_from(browser, "/settings")})
        wrong = post_form(
            make_client(), "/login", {"username": "alice", "password": secrets["wrong"]}, csrf_page="/login"
        )
        assert wrong.status_code == 422
        login(browser, "alice", first_password)
        secrets["session"] = browser.cookies.get(SESSION_COOKIE)
        page = post_form(browser, "/settings/tokens", {"name": "my script"}, csrf_page="/settings")
        token = re.search(r'<code class="token">(cercle_[^<]+)</code>', page.text)
        assert token
        secrets["api token"] = token.group(1)
        bearer = {"Authorization": f"Bearer {secrets['api token']}"}
        assert client.get("/api/v1/me", headers=bearer).status_code == 200
        granted = client.post("/api/v1/auth/token", data={"username": "alice", "password": first_password})
        secrets["password-flow token"] = granted.json()["access_token"]
        assert (
            client.get(
                "/api/v1/me/export", headers={"Authorization": f"Bearer {granted.json()['access_token']}"}
            ).status_code
            == 200
        )
        changed = post_form(
            browser,
            "/settings/password",
            {"current_password": first_password, "new_password": second_password},
            csrf_page="/settings",
        )
        assert changed.status_code == 303
        assert post_form(make_client(), "/forgot", {"login": "alice"}, csrf_page="/forgot").status_code == 200
        user = accounts.find_by_login(db, "alice")
        assert user is not None
        secrets["reset token"] = accounts.create_reset_token(db, user=user)
        reset_page = make_client()
        assert reset_page.get(f"/reset/{secrets['reset token']}").status_code == 200
        reset = reset_page.post(
            f"/reset/{secrets['reset token']}",
            data={"password": third_password, "csrf_token": csrf_from(reset_page, f"/reset/{secrets['reset token']}")},
            follow_redirects=False,
        )
        assert reset.status_code == 303, reset.text[:300]
        login(make_client(), "alice", third_password)
    finally:
        for name in LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)

    assert all(secrets.values())
    records = caplog.records
    assert any(r.name.startswith("sqlalchemy.engine") for r in records), "SQL logging was not captured"
    assert any(r.name.startswith("httpx") for r in records), "httpx logging was not captured"
    # The SQL log carries the statements' parameters: a secret stored in clear would show there.
    assert any("alice@example.com" in r.getMessage() + repr(r.args) for r in records if r.name.startswith("sqlalchemy"))
    leaks = []
    for record in records:
        text = record.getMessage() + " " + (record.exc_text or "") + " " + repr(record.args)
        for what, secret in secrets.items():
            if secret not in text:
                continue
            # The reset link is a URL the member opens: the test's own HTTP client (httpx) names the
            # URL it requests. Nothing of the server's side may.
            if (
                what == "reset token"
                and record.name in CLIENT_LOGGERS
                and record.getMessage().startswith("HTTP Request")
            ):
                continue
            leaks.append(f"{what} in {record.name}: {record.getMessage()[:200]}")
    print(f"\n{len(records)} log records checked for {len(secrets)} secrets: {len(leaks)} leaks")
    assert not leaks, leaks[:5]
