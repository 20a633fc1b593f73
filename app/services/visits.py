"""Visits: one row per user, UTC day and circle (or the site), written at most once a day.

The KPIs count presence from these rows. The site visit is remembered on the session row;
circle visits are remembered in a small per-process cache (safe to lose: the insert
ignores duplicates).
"""

from collections import OrderedDict

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from app.analytics import rollup
from app.db import open_session
from app.models import UserSession, Visit
from app.models.base import utctoday
from app.services import badges

_recorded: OrderedDict[tuple[int, str, int], None] = OrderedDict()
_CACHE_SIZE = 50_000


def _insert_ignore(session: Session, *, user_id: int, day_iso: str, circle_id: int | None) -> None:
    from datetime import date

    values = {
        "user_id": user_id,
        "day": date.fromisoformat(day_iso),
        "circle_id": circle_id,
        "scope": circle_id or 0,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Visit).values(**values).on_conflict_do_nothing()
    session.exec(statement)  # type: ignore[call-overload]
    # A Core insert bypasses the ORM hook that keeps the KPI rollup exact.
    rollup.refresh(session, cells={user_id: {values["day"]}})


def record_site_visit(session: Session, *, user_session: UserSession) -> None:
    today = utctoday()
    if user_session.visit_day == today:
        return
    # A separate short write transaction: the request's own may be read-only. That one ends
    # first: on SQLite a POST's BEGIN IMMEDIATE holds the write lock the writer needs.
    session.commit()
    with open_session() as writer:
        _insert_ignore(writer, user_id=user_session.user_id, day_iso=today.isoformat(), circle_id=None)
        row = writer.get(UserSession, user_session.id)
        if row is not None:
            row.visit_day = today
            writer.add(row)
        badges.on_daily_visit(writer, user_id=user_session.user_id)
        writer.commit()
    set_committed_value(user_session, "visit_day", today)


def record_circle_visit(*, user_id: int, circle_id: int) -> None:
    key = (user_id, utctoday().isoformat(), circle_id)
    if key in _recorded:
        return
    with open_session() as writer:
        _insert_ignore(writer, user_id=user_id, day_iso=key[1], circle_id=circle_id)
        writer.commit()
    _recorded[key] = None
    if len(_recorded) > _CACHE_SIZE:
        _recorded.popitem(last=False)
