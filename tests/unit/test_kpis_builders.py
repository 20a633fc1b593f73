"""Row builders for the KPI tests (no tests here).

The KPI tests need exact dates, so they add model rows directly with explicit timestamps
instead of going through the services (which stamp "now"). Days are written "MM-DD" in 2026.
"""

import itertools
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from app.models import (
    AmbassadorGrant,
    Badge,
    BadgeAward,
    Circle,
    Invite,
    Membership,
    Post,
    Pulse,
    Reaction,
    Thread,
    User,
    Visit,
)

YEAR = 2026
_counter = itertools.count(1)


def day(md: str) -> date:
    """'03-05' → 2026-03-05; a full 'YYYY-MM-DD' is accepted too."""
    return date.fromisoformat(md if len(md) == 10 else f"{YEAR}-{md}")


def at(md: str, hour: int = 12, minute: int = 0) -> datetime:
    """A UTC moment on that day."""
    d = day(md)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def user(
    db: Session,
    name: str,
    *,
    created: str = "01-01",
    admin: bool = False,
    deleted: str | None = None,
    invite: Invite | None = None,
) -> User:
    row = User(
        username=name,
        email=f"{name}@example.com",
        is_admin=admin,
        created_at=at(created, 9),
        deleted_at=at(deleted, 9) if deleted else None,
        invite_id=invite.id if invite else None,
        invited_by_id=invite.created_by_id if invite else None,
    )
    db.add(row)
    db.flush()
    return row


def circle(db: Session, slug: str, *, by: User, visibility: str = "open") -> Circle:
    row = Circle(
        slug=slug,
        name=slug.title(),
        visibility=visibility,
        created_by_id=by.id,  # type: ignore[arg-type]
        created_at=at("01-01", 0),
    )
    db.add(row)
    db.flush()
    return row


def member(
    db: Session,
    who: User,
    where: Circle,
    *,
    joined: str | None = "01-02",
    left: str | None = None,
    state: str | None = None,
    role: str = "member",
    invite: Invite | None = None,
) -> Membership:
    if state is None:
        state = "left" if left else "active"
    row = Membership(
        user_id=who.id,
        circle_id=where.id,
        role=role,
        state=state,  # type: ignore[arg-type]
        requested_at=at(joined or "01-01", 8),
        joined_at=at(joined, 9) if joined else None,
        left_at=at(left, 9) if left else None,
        invite_id=invite.id if invite else None,
        invited_by_id=invite.created_by_id if invite else None,
    )
    db.add(row)
    db.flush()
    return row


def invite(db: Session, by: User, where: Circle | None = None) -> Invite:
    row = Invite(
        code=f"code{next(_counter)}",
        circle_id=where.id if where else None,  # type: ignore[arg-type]
        created_by_id=by.id,
        created_at=at("01-01", 1),
    )  # type: ignore[arg-type]
    db.add(row)
    db.flush()
    return row


def thread(db: Session, where: Circle, author: User, when: datetime, *, hidden: bool = False) -> Thread:
    """A thread and its opening post, both at `when`."""
    row = Thread(
        circle_id=where.id,
        author_id=author.id,
        title="T",
        created_at=when,  # type: ignore[arg-type]
        last_post_at=when,
        hidden=hidden,
        post_count=1,
        last_number=1,
    )
    db.add(row)
    db.flush()
    db.add(
        Post(
            thread_id=row.id,
            number=1,
            author_id=author.id,
            body_md="x",
            body_html="<p>x</p>",  # type: ignore[arg-type]
            opening=True,
            created_at=when,
        )
    )
    db.flush()
    return row


def opening(db: Session, of: Thread) -> Post:
    from sqlmodel import select

    found = db.exec(select(Post).where(Post.thread_id == of.id, Post.opening == True)).one()  # noqa: E712
    return found


def post(db: Session, of: Thread, author: User, when: datetime, *, hidden: bool = False, deleted: bool = False) -> Post:
    of.last_number += 1
    row = Post(
        thread_id=of.id,
        number=of.last_number,
        author_id=author.id,
        body_md="x",  # type: ignore[arg-type]
        body_html="<p>x</p>",
        opening=False,
        created_at=when,
        hidden=hidden,
        deleted_at=when if deleted else None,
    )
    db.add(of)
    db.add(row)
    db.flush()
    return row


def react(db: Session, on: Post, who: User, when: datetime, kind: str = "like") -> Reaction:
    row = Reaction(post_id=on.id, user_id=who.id, kind=kind, created_at=when)  # type: ignore[arg-type]
    db.add(row)
    db.flush()
    return row


def visit(db: Session, who: User, md: str, where: Circle | None = None) -> Visit:
    row = Visit(
        user_id=who.id,
        day=day(md),
        circle_id=where.id if where else None,  # type: ignore[arg-type]
        scope=where.id if where else 0,
    )
    db.add(row)
    db.flush()
    return row


def pulse(db: Session, who: User, score: int, when: datetime) -> Pulse:
    row = Pulse(user_id=who.id, score=score, created_at=when)  # type: ignore[arg-type]
    db.add(row)
    db.flush()
    return row


def badge(db: Session, slug: str = "helper") -> Badge:
    row = Badge(slug=f"{slug}{next(_counter)}", name=slug)
    db.add(row)
    db.flush()
    return row


def award(db: Session, of: Badge, who: User, when: datetime, *, revoked: datetime | None = None) -> BadgeAward:
    row = BadgeAward(badge_id=of.id, user_id=who.id, created_at=when, revoked_at=revoked)  # type: ignore[arg-type]
    db.add(row)
    db.flush()
    return row


def grant(db: Session, who: User, by: User, when: datetime, *, revoked: datetime | None = None) -> AmbassadorGrant:
    row = AmbassadorGrant(user_id=who.id, granted_by_id=by.id, granted_at=when, revoked_at=revoked)  # type: ignore[arg-type]
    db.add(row)
    db.flush()
    return row


def kpis(db: Session, start: str = "03-01", end: str = "03-10", where: Circle | None = None) -> dict[str, Any]:
    """The report for [start, end] (default: 2026-03-01 … 2026-03-10, L = 10 days)."""
    from app.analytics import report

    db.commit()
    figures = report(db, start=day(start), end=day(end), circle=where)
    db.commit()  # ends the read: SQLite would keep other connections from writing
    return figures
