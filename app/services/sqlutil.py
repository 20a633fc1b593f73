"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from typing import Any

from sqlalchemy import Date, cast, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session


def utc_date(column: Any, session: Session) -> Any:
    """The UTC calendar date of a timestamp column, as SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def insert_for(session: Session) -> Any:
    """The dialect's INSERT (with ON CONFLICT support)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
