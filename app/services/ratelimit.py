"""Counters in the database, so limits hold across every app process.

Counting then recording is a race unless two requests for one key take turns: each would
count the same rows, and both pass. On SQLite every writing transaction already takes the
write lock up front (`BEGIN IMMEDIATE`, see app.db). On PostgreSQL `count_recent` takes a
transaction-level advisory lock on the key, held until the caller commits or rolls back, so
the next request for that key counts after the previous one's row is committed.
"""

from datetime import timedelta

from sqlalchemy import delete, text
from sqlmodel import Session, func, select

from app.errors import RateLimited
from app.models import RateEvent, utcnow


def _take_turn(session: Session, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"rate:{key}"})


def count_recent(session: Session, key: str, *, within: timedelta) -> int:
    _take_turn(session, key)
    since = utcnow() - within
    statement = select(func.count()).where(RateEvent.key == key, RateEvent.created_at >= since)
    return session.exec(statement).one()


def record(session: Session, key: str) -> None:
    session.add(RateEvent(key=key))


def clear(session: Session, key: str) -> None:
    session.exec(delete(RateEvent).where(RateEvent.key == key))  # type: ignore[arg-type]


def prune(session: Session, *, older_than: timedelta) -> None:
    cutoff = utcnow() - older_than
    session.exec(delete(RateEvent).where(RateEvent.created_at < cutoff))  # type: ignore[arg-type]


def hit(session: Session, key: str, *, limit: int, within: timedelta, message: str) -> None:
    """Counts one more event for `key`, or refuses with `message` when `limit` is reached (0: no limit)."""
    if limit <= 0:
        return
    if count_recent(session, key, within=within) >= limit:
        raise RateLimited(message, retry_after=int(within.total_seconds()))
    record(session, key)
