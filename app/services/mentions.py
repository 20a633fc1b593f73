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
    notified = mentioned_readers(session, access=access, body=post.body_md, author=author,
                                 skip_user_ids=skip_user_ids)
    for user_id in sorted(notified):
        notify(session, user_id=user_id, kind="mention", actor=author,
               circle_id=thread.circle_id, thread_id=thread.id, post_id=post.id)
    return notified


def mentioned_readers(
    session: Session, *, access: CircleAccess, body: str, author: User, skip_user_ids: set[int] | None = None,
) -> set[int]:
    """Who a post mentions and may read it: known before the post is written (see posts.reply)."""
    names = sorted(mentioned_usernames(body))[:MAX_MENTIONS]
    if not names:
        return set()
    users = session.exec(
        select(User).where(col(User.username).in_(names), col(User.deleted_at).is_(None))
    ).all()
    readers: set[int] = set()
    for user in users:
        if user.id == author.id or user.id in (skip_user_ids or set()):
            continue
        # Never tell someone about a post they cannot open.
        if not permissions.circle_access(session, user, access.circle).can_read:
            continue
        readers.add(user.id)  # type: ignore[arg-type]
    return readers
