"""The secret in a password-reset link does not leak: not through the address bar, the history,
a Referer header, a cache or a log.

Opening the link moves the token into a short-lived HttpOnly cookie only sent to /reset and
redirects to the token-less /reset; every /reset answer says `Referrer-Policy: no-referrer`
and `Cache-Control: no-store`.
"""

import logging

from app.main import RedactResetTokens
from app.services import accounts
from tests.factories import PASSWORD, csrf_from, login, make_user

NEW_PASSWORD = "a fresh start 2026"


def _token(db, username: str = "alice") -> str:
    user = make_user(db, username)
    token = accounts.create_reset_token(db, user=user)
    db.commit()
    return token


def _choose(client, password: str = NEW_PASSWORD):
    return client.post(
        "/reset", data={"password": password, "csrf_token": csrf_from(client, "/forgot")}, follow_redirects=False
    )


def _no_leak(response) -> bool:
    return (
        response.headers.get("referrer-policy") == "no-referrer"
        and response.headers.get("cache-control") == "no-store"
    )


def test_opening_a_reset_link_moves_the_token_into_a_cookie_and_redirects_to_a_token_less_url(client, db):
    token = _token(db)
    opened = client.get(f"/reset/{token}", follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/reset"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"cercle_reset={token};")
    assert "HttpOnly" in cookie
    assert "Path=/reset" in cookie
    assert "Max-Age=3600" in cookie
    form = client.get("/reset")
    assert form.status_code == 200
    assert token not in form.text
    assert 'action="/reset"' in form.text


def test_every_reset_answer_sends_no_referrer_and_no_store(client, db):
    token = _token(db)
    answers = {
        "link": client.get(f"/reset/{token}", follow_redirects=False),
        "form": client.get("/reset"),
        "invalid form": _choose(client, "short"),
        "unknown link": client.get("/reset/not-a-real-token"),
        "done": _choose(client),
    }
    assert [what for what, answer in answers.items() if not _no_leak(answer)] == []
    assert answers["invalid form"].status_code == 422
    assert answers["unknown link"].status_code == 404
    assert client.get("/forgot").headers["referrer-policy"] == "same-origin"  # other pages keep theirs


def test_the_token_less_form_sets_the_password_and_clears_the_cookie(client, make_client, db):
    client.get(f"/reset/{_token(db)}")
    done = _choose(client)
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    assert 'cercle_reset=""' in done.headers["set-cookie"]
    assert client.get("/reset").status_code == 404
    login(make_client(), "alice", NEW_PASSWORD)
    assert make_client().post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "x"}, follow_redirects=False
    ).status_code != 303


def test_the_reset_form_without_an_opened_link_is_a_404(client, db):
    _token(db)
    assert client.get("/reset").status_code == 404
    assert _choose(client).status_code == 404


def test_a_too_short_password_keeps_the_opened_link_usable(client, db):
    client.get(f"/reset/{_token(db)}")
    refused = _choose(client, "short")
    assert refused.status_code == 422
    assert 'action="/reset"' in refused.text
    assert _choose(client).status_code == 303


def test_the_reset_token_is_not_written_to_any_log_of_ours(client, db, caplog):
    token = _token(db)
    caplog.set_level(logging.DEBUG)
    client.get(f"/reset/{token}")
    _choose(client, "short")
    _choose(client)
    ours = [record for record in caplog.records if not record.name.startswith(("httpx", "httpcore"))]
    assert [record.getMessage() for record in ours if token in record.getMessage()] == []


def test_uvicorn_access_log_lines_have_the_reset_token_redacted(app, caplog):
    assert any(isinstance(existing, RedactResetTokens) for existing in logging.getLogger("uvicorn.access").filters)
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "203.0.113.9:5000", "GET", "/reset/s3cr3t-t0ken?x=1", "1.1", 303
    )
    assert "s3cr3t-t0ken" not in caplog.text
    assert "/reset/[redacted]?x=1" in caplog.text


def test_cercle_serve_writes_no_access_log(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from app.cli import app as cli_app

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    assert CliRunner().invoke(cli_app, ["serve"]).exit_code == 0
    assert calls[0]["access_log"] is False
