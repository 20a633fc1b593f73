"""Counters in the database, so limits hold across every app process."""

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, func, select

from app.models import RateEvent, utcnow


def count_recent(session: Session, key: str, *, within: timedelta) -> int:
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
