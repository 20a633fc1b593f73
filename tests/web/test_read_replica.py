"""A read replica serves page reads; a browser that just wrote reads from the primary."""

import pytest

from app.config import get_settings
from tests.factories import login, make_circle, make_user, post_form


@pytest.fixture
def replica(monkeypatch, database_url):
    # The "replica" is the same database here: what is tested is the routing and the cookie.
    monkeypatch.setenv("CERCLE_DATABASE_READ_URL", database_url)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_pages_are_read_through_the_replica_setting(db, client, replica):
    make_user(db, "alice")
    make_circle(db, "espresso")
    login(client, "alice")
    assert client.get("/c").status_code == 200


def test_a_write_marks_the_browser_to_read_from_the_primary_for_a_few_seconds(db, client, replica):
    make_user(db, "alice")
    make_circle(db, "espresso")
    login(client, "alice")
    response = post_form(client, "/c/espresso/join")
    assert "cercle_wrote=1" in response.headers.get("set-cookie", "")
    assert "Max-Age=10" in response.headers.get("set-cookie", "")


def test_without_a_replica_no_read_your_writes_cookie_is_set(db, client):
    make_user(db, "alice")
    make_circle(db, "espresso")
    login(client, "alice")
    response = post_form(client, "/c/espresso/join")
    assert "cercle_wrote" not in response.headers.get("set-cookie", "")
