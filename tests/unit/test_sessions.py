"""The per-request session's end: a connection lost meanwhile must not fail the request."""

from sqlalchemy import text
from sqlmodel import Session

from app import db as app_db


def test_closing_a_session_whose_connection_was_lost_raises_nothing_and_discards_it(db: Session) -> None:
    session = app_db.open_session(readonly=True)
    session.execute(text("SELECT 1"))
    lost = session.connection().connection.dbapi_connection
    assert lost is not None
    lost.close()  # what a database restart does to it, seen from the app

    app_db.close_session(session)

    with app_db.open_session() as fresh:
        assert fresh.execute(text("SELECT 1")).scalar_one() == 1
        assert fresh.connection().connection.dbapi_connection is not lost
