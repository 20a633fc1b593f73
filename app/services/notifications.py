"""Notifications: created by other services, listed only while their content stays visible."""

from sqlalchemy import update
from sqlmodel import Session, col, func, or_, select

from app import permissions
from app.models import Circle, Notification, Post, Thread, User, utcnow

PAGE_SIZE = 30


def notify(
    session: Session,
    *,
    user_id: int,
    kind: str,
    actor: User | None = None,
    circle_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    text: str = "",
) -> None:
    if actor is not None and actor.id == user_id:
        return
    session.add(
        Notification(
            user_id=user_id,
            kind=kind,
            actor_id=actor.id if actor else None,
            circle_id=circle_id,
            thread_id=thread_id,
            post_id=post_id,
            text=text[:1000],
        )
    )


def _visible(viewer: User):  # type: ignore[no-untyped-def]
    # A notification about a circle, thread or post the viewer cannot read (any more) is not shown.
    readable = permissions.readable_circle_ids(viewer)
    hidden_threads = select(Thread.id).where(
        col(Thread.hidden).is_(True), col(Thread.circle_id).not_in(permissions.moderated_circle_ids(viewer))
    ) if not viewer.is_admin else select(Thread.id).where(False)
    hidden_posts = select(Post.id).where(
        or_(col(Post.deleted_at).is_not(None), col(Post.hidden).is_(True))
    )
    return (
        or_(col(Notification.circle_id).is_(None), col(Notification.circle_id).in_(readable)),
        or_(col(Notification.thread_id).is_(None), col(Notification.thread_id).not_in(hidden_threads)),
        or_(col(Notification.post_id).is_(None), col(Notification.post_id).not_in(hidden_posts)),
    )


def unread_count(session: Session, *, viewer: User) -> int:
    statement = select(func.count()).where(
        Notification.user_id == viewer.id, col(Notification.read_at).is_(None), *_visible(viewer)
    )
    return session.exec(statement).one()


def list_for(
    session: Session, *, viewer: User, page: int = 1, unread_only: bool = False
) -> list[tuple[Notification, User | None, Circle | None, Thread | None]]:
    statement = (
        select(Notification, User, Circle, Thread)
        .join(User, col(User.id) == Notification.actor_id, isouter=True)
        .join(Circle, col(Circle.id) == Notification.circle_id, isouter=True)
        .join(Thread, col(Thread.id) == Notification.thread_id, isouter=True)
        .where(Notification.user_id == viewer.id, *_visible(viewer))
        .order_by(col(Notification.id).desc())
        .offset((max(page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    if unread_only:
        statement = statement.where(col(Notification.read_at).is_(None))
    return list(session.exec(statement).all())


def mark_read(session: Session, *, viewer: User, notification_id: int | None = None) -> None:
    statement = update(Notification).where(
        col(Notification.user_id) == viewer.id, col(Notification.read_at).is_(None)
    )
    if notification_id is not None:
        statement = statement.where(col(Notification.id) == notification_id)
    session.exec(statement.values(read_at=utcnow()))
    session.commit()


def mark_thread_read(session: Session, *, viewer: User, thread_id: int) -> None:
    """Reading a thread reads its notifications too."""
    session.exec(
        update(Notification)
        .where(
            col(Notification.user_id) == viewer.id,
            col(Notification.thread_id) == thread_id,
            col(Notification.read_at).is_(None),
        )
        .values(read_at=utcnow())
    )
