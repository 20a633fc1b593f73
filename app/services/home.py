"""The signed-in home page: my circles with unread counts, and their latest threads."""

from dataclasses import dataclass

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app.models import Circle, Membership, ReadState, Thread, User
from app.services.threads import ThreadRow, unread_of

LATEST_THREADS = 20


@dataclass
class CircleSummary:
    circle: Circle
    role: str
    unread_threads: int


@dataclass
class Home:
    circles: list[CircleSummary]
    latest: list[ThreadRow]


def _unread_threads_per_circle(viewer: User):  # type: ignore[no-untyped-def]
    read = aliased(ReadState)
    return (
        select(Thread.circle_id, func.count().label("unread"))
        .join(read, (read.thread_id == Thread.id) & (read.user_id == viewer.id), isouter=True)
        .join(Membership, (col(Membership.circle_id) == Thread.circle_id) & (col(Membership.user_id) == viewer.id))
        .where(
            col(Membership.state) == "active",
            col(Thread.hidden).is_(False),
            # Threads older than the membership are history, not news.
            col(Thread.last_post_at) > Membership.joined_at,
            col(Thread.last_number) > func.coalesce(read.last_read_number, 0),
        )
        .group_by(col(Thread.circle_id))
        .subquery()
    )


def home_for(session: Session, *, viewer: User) -> Home:
    unread = _unread_threads_per_circle(viewer)
    circles = session.exec(
        select(Circle, Membership.role, func.coalesce(unread.c.unread, 0))
        .join(Membership, col(Membership.circle_id) == Circle.id)
        .join(unread, unread.c.circle_id == Circle.id, isouter=True)
        .where(Membership.user_id == viewer.id, Membership.state == "active")
        .order_by(col(Circle.name))
    ).all()
    read = aliased(ReadState)
    latest = session.exec(
        select(Thread, User, Circle, read.last_read_number)
        .join(User, col(User.id) == Thread.author_id)
        .join(Circle, col(Circle.id) == Thread.circle_id)
        .join(Membership, (col(Membership.circle_id) == Thread.circle_id) & (col(Membership.user_id) == viewer.id))
        .join(read, (read.thread_id == Thread.id) & (read.user_id == viewer.id), isouter=True)
        .where(Membership.state == "active", col(Thread.hidden).is_(False))
        .order_by(col(Thread.last_post_at).desc())
        .limit(LATEST_THREADS)
    ).all()
    return Home(
        circles=[CircleSummary(circle=c, role=role, unread_threads=n) for c, role, n in circles],
        latest=[ThreadRow(thread=t, author=u, unread=unread_of(t, lr), circle=c) for t, u, c, lr in latest],
    )
