"""Password reset through a real (local) SMTP server, and the `cercle reset-link` command."""

import email
import email.policy
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from app.cli import app as cli_app
from app.config import get_settings
from tests.factories import PASSWORD, csrf_from, login, make_user

NEW_PASSWORD = "a fresh start 2026"
LINK_RE = re.compile(r"https?://\S+/reset/[\w-]+")
SENT = "If an account matches, we have sent it a link to choose a new password."


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on a free local port, with the app's SMTP settings pointing at it."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    saved = {name: os.environ.get(name) for name in ("CERCLE_SMTP_HOST", "CERCLE_SMTP_PORT")}
    os.environ["CERCLE_SMTP_HOST"] = "127.0.0.1"
    os.environ["CERCLE_SMTP_PORT"] = str(controller.port)
    get_settings.cache_clear()
    try:
        yield box
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        controller.stop()


def ask_for_reset(client, login_name: str):
    return client.post(
        "/forgot", data={"login": login_name, "csrf_token": csrf_from(client, "/forgot")}, follow_redirects=False
    )


def reset_path(message: EmailMessage) -> str:
    body = message.get_content()
    [link] = LINK_RE.findall(body)
    return urlsplit(link).path


def choose_password(client, path: str, password: str = NEW_PASSWORD):
    return client.post(
        path, data={"password": password, "csrf_token": csrf_from(client, "/forgot")}, follow_redirects=False
    )


def can_sign_in(client, username: str, password: str) -> bool:
    data = {"username": username, "password": password, "csrf_token": csrf_from(client)}
    return client.post("/login", data=data, follow_redirects=False).status_code == 303


def test_forgot_password_mails_a_link_that_sets_a_new_password(client, make_client, db, mailbox):
    make_user(db, "alice")
    response = ask_for_reset(client, "alice")
    assert response.status_code == 200
    assert SENT in response.text
    [message] = mailbox.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Reset your password"
    path = reset_path(message)
    assert client.get(path).status_code == 200
    response = choose_password(client, path)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert can_sign_in(make_client(), "alice", NEW_PASSWORD)
    assert not can_sign_in(make_client(), "alice", PASSWORD)


def test_forgot_password_accepts_the_email_address(client, db, mailbox):
    make_user(db, "alice")
    ask_for_reset(client, "alice@example.com")
    [message] = mailbox.messages
    assert message["To"] == "alice@example.com"


def test_reset_link_works_only_once(client, make_client, db, mailbox):
    make_user(db, "alice")
    ask_for_reset(client, "alice")
    path = reset_path(mailbox.messages[0])
    assert choose_password(client, path).status_code == 303
    assert client.get(path).status_code == 404
    assert choose_password(client, path, "someone else's choice").status_code == 404
    assert can_sign_in(make_client(), "alice", NEW_PASSWORD)


def test_reset_refuses_a_too_short_password_and_keeps_the_link_usable(client, db, mailbox):
    make_user(db, "alice")
    ask_for_reset(client, "alice")
    path = reset_path(mailbox.messages[0])
    response = choose_password(client, path, "short")
    assert response.status_code == 422
    assert "At least 10 characters." in response.text
    assert choose_password(client, path).status_code == 303


def test_reset_signs_out_every_session(client, make_client, db, mailbox):
    make_user(db, "alice")
    signed_in = login(make_client(), "alice")
    ask_for_reset(client, "alice")
    choose_password(client, reset_path(mailbox.messages[0]))
    response = signed_in.get("/settings", follow_redirects=False)
    assert response.status_code == 303


def test_forgot_password_for_an_unknown_user_looks_the_same_and_sends_nothing(client, db, mailbox):
    make_user(db, "alice")
    unknown = ask_for_reset(client, "nobody")
    assert unknown.status_code == 200
    assert SENT in unknown.text
    assert mailbox.messages == []
    known = ask_for_reset(client, "alice")
    assert known.status_code == unknown.status_code
    assert len(mailbox.messages) == 1


def test_unknown_reset_token_is_a_404(client, db):
    assert client.get("/reset/not-a-real-token").status_code == 404


def test_cli_reset_link_prints_a_working_link(client, make_client, db):
    make_user(db, "alice")
    result = CliRunner().invoke(cli_app, ["reset-link", "alice"])
    assert result.exit_code == 0, result.output
    [link] = LINK_RE.findall(result.stdout)
    path = urlsplit(link).path
    assert client.get(path).status_code == 200
    assert choose_password(client, path).status_code == 303
    assert can_sign_in(make_client(), "alice", NEW_PASSWORD)


def test_cli_reset_link_for_an_unknown_user_fails(db):
    result = CliRunner().invoke(cli_app, ["reset-link", "nobody"])
    assert result.exit_code == 1
    assert LINK_RE.findall(result.stdout) == []
