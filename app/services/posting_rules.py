"""What a circle asks of a writer: rate limits, slow mode, read-only mode, first posts on hold."""

import math
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.config import get_settings
from app.errors import Forbidden, RateLimited
from app.i18n import _
from app.models import Post, Thread, User, utcnow
from app.permissions import CircleAccess
from app.services import ratelimit


def check_new_thread(session: Session, *, access: CircleAccess, author: User) -> bool:
    """Raises when the author may not start a thread now; True when it must wait for approval."""
    if access.can_moderate:
        return False
    if access.circle.read_only:
        raise Forbidden(_("This circle is read-only: hosts have closed it to new threads."))
    _check_slow_mode(session, access=access, author=author)
    ratelimit.hit(session, f"thread:{author.id}", limit=get_settings().threads_per_hour, within=timedelta(hours=1),
           message=_("You started many threads in the last hour. Please wait a little."))
    return _must_hold(session, access=access, author=author)


def check_reply(session: Session, *, access: CircleAccess, author: User) -> bool:
    """Raises when the author may not reply now; True when the reply must wait for approval."""
    if access.can_moderate:
        return False
    _check_slow_mode(session, access=access, author=author)
    ratelimit.hit(session, f"reply:{author.id}", limit=get_settings().replies_per_10_minutes, within=timedelta(minutes=10),
           message=_("You posted many replies in a few minutes. Please wait a little."))
    return _must_hold(session, access=access, author=author)


def _check_slow_mode(session: Session, *, access: CircleAccess, author: User) -> None:
    """Slow mode spaces out a member's posts in the circle, replies and new threads alike."""
    seconds = access.circle.slow_mode_seconds
    if not seconds:
        return
    last = session.exec(
        select(Post.created_at)
        .join(Thread, col(Thread.id) == Post.thread_id)
        .where(Post.author_id == author.id, Thread.circle_id == access.circle.id)
        .order_by(col(Post.created_at).desc())
        .limit(1)
    ).scalar()  # type: ignore[call-overload]
    if last is not None:
        # Rounded up: "0 seconds" would read as "now" while the post is still refused.
        wait = math.ceil(seconds - (utcnow() - last).total_seconds())
        if wait > 0:
            raise RateLimited(_("Slow mode is on in this circle: you can post again in %(n)s seconds.", n=wait),
                              retry_after=wait)


def _must_hold(session: Session, *, access: CircleAccess, author: User) -> bool:
    hold = access.circle.hold_first_posts
    if not hold:
        return False
    approved = session.exec(
        select(func.count())
        .select_from(Post)
        .join(Thread, col(Thread.id) == Post.thread_id)
        .where(Post.author_id == author.id, Thread.circle_id == access.circle.id, col(Post.held).is_(False),
               col(Post.deleted_at).is_(None))
    ).scalar_one()  # type: ignore[call-overload]
    return approved < hold
