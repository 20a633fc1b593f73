"""A connection pool with every connection taken answers a clean, retryable 503, never a 500.

SQLAlchemy raises `sqlalchemy.exc.TimeoutError` (not an `OperationalError`) when no pooled
connection frees up within `pool_timeout`; a real, one-connection pool is exhausted here.
"""

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from app import db as app_db
from tests.factories import login, make_user


@pytest.fixture
def tiny_pool(db, database_url, monkeypatch) -> Iterator[Engine]:
    """The app's engine swapped for a one-connection pool that gives up after 0.1 s."""
    db.commit()
    engine = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    monkeypatch.setattr(app_db, "get_read_engine", lambda: engine)
    yield engine
    monkeypatch.undo()
    engine.dispose()


def test_pool_timeout_answers_503_with_retry_after_for_pages_and_api_and_recovers(client, db, tiny_pool):
    make_user(db, "alice")
    db.commit()
    login(client, "alice")
    assert client.get("/api/v1/me").status_code == 200

    held = tiny_pool.connect()  # the pool's only connection, busy elsewhere
    try:
        api = client.get("/api/v1/me")
        page = client.get("/c")
    finally:
        held.close()

    assert api.status_code == 503, api.text[:300]
    assert api.headers["Retry-After"] == "5"
    assert "briefly unavailable" in api.json()["detail"]
    assert page.status_code == 503, page.text[:300]
    assert page.headers["Retry-After"] == "5"
    assert "briefly unavailable" in page.text
    assert client.get("/api/v1/me").status_code == 200
