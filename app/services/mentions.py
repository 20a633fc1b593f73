"""@mentions: notify the mentioned people who may read the circle."""

from sqlmodel import Session, col, select

from app import permissions
from app.models import Post, Thread, User
from app.permissions import CircleAccess
from app.services.notifications import notify
from app.text import mentioned_usernames

MAX_MENTIONS = 20


def notify_mentions(
    session: Session, *, access: CircleAccess, post: Post, thread: Thread, author: User,
    skip_user_ids: set[int] | None = None,
) -> set[int]:
    names = sorted(mentioned_usernames(post.body_md))[:MAX_MENTIONS]
    if not names:
        return set()
    users = session.exec(
        select(User).where(col(User.username).in_(names), col(User.deleted_at).is_(None))
    ).all()
    notified: set[int] = set()
    for user in users:
        if user.id == author.id or user.id in (skip_user_ids or set()):
            continue
        # Never tell someone about a post they cannot open.
        if not permissions.circle_access(session, user, access.circle).can_read:
            continue
        notify(session, user_id=user.id, kind="mention", actor=author,  # type: ignore[arg-type]
               circle_id=thread.circle_id, thread_id=thread.id, post_id=post.id)
        notified.add(user.id)  # type: ignore[arg-type]
    return notified
