"""Flags: members point a host to a post; enough of them hide it until someone reviews it."""

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app import permissions
from app.config import get_settings
from app.errors import Forbidden, Invalid
from app.i18n import _, lazy
from app.models import Circle, Flag, Membership, Post, Thread, User
from app.models.moderation import FLAG_REASONS
from app.permissions import CircleAccess
from app.services import audit, ratelimit
from app.services.moderation import AUTO_HIDDEN

REASON_LABELS = {
    "off_topic": lazy("Off-topic"),
    "inappropriate": lazy("Inappropriate"),
    "spam": lazy("Spam"),
    "other": lazy("Other"),
}


def threshold(session: Session) -> int:
    from app.services.site import load

    return load(session).flag_threshold


def flag_post(session: Session, *, post: Post, thread: Thread, access: CircleAccess, user: User, reason: str,
              text: str = "") -> Flag:
    if not access.is_member and not access.is_admin:
        raise Forbidden(_("Join this circle to take part."))
    if post.author_id == user.id:
        raise Invalid(_("You cannot flag your own post."))
    if reason not in FLAG_REASONS:
        raise Invalid(_("Choose a reason."), reason=_("Choose a reason."))
    text = text.strip()
    if reason == "other" and not text:
        raise Invalid(_("Tell the hosts what is wrong."), text=_("Required for “other”."))
    if len(text) > 1000:
        raise Invalid(_("At most 1,000 characters."), text=_("At most 1,000 characters."))
    existing = session.exec(
        select(Flag).where(Flag.post_id == post.id, Flag.user_id == user.id)
    ).scalars().first()  # type: ignore[call-overload]
    if existing is not None:
        raise Invalid(_("You already flagged this post."))
    flag = Flag(post_id=post.id, user_id=user.id, reason=reason, text=text)  # type: ignore[arg-type]
    ratelimit.hit(session, f"flag:{user.id}", limit=get_settings().flags_per_day, within=timedelta(days=1),
                  message=_("You have flagged many posts today. The hosts will look at them; try again tomorrow."))
    session.add(flag)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Invalid(_("You already flagged this post.")) from None
    open_flags = session.exec(
        select(func.count(func.distinct(Flag.user_id))).where(Flag.post_id == post.id, col(Flag.resolved_at).is_(None))
    ).scalar_one()  # type: ignore[call-overload]
    if open_flags >= threshold(session) and not post.hidden and post.deleted_at is None:
        post.hidden = True
        post.hidden_reason = AUTO_HIDDEN
        thread.post_count -= 1
        if not post.opening:
            thread.reply_count -= 1
        else:
            # As when a host hides it (and as Discourse unlists the topic): a hidden opening post
            # takes its thread out of every list and search for non-moderators until restored.
            thread.hidden = True
        session.add_all([post, thread])
        audit.record(session, actor=None, action="post_auto_hidden", target_user_id=post.author_id,
                     circle_id=thread.circle_id, thread_id=thread.id, post_id=post.id,
                     detail=f"{open_flags} flags")
    session.commit()
    return flag


@dataclass
class FlaggedPost:
    post: Post
    thread: Thread
    circle: Circle
    author: User
    count: int
    reasons: list[tuple[str, str]] = field(default_factory=list)


def _moderated_filter(viewer: User):  # type: ignore[no-untyped-def]
    if viewer.is_admin:
        return col(Thread.id).is_not(None)
    return col(Thread.circle_id).in_(permissions.moderated_circle_ids(viewer))


def flagged_posts(session: Session, *, viewer: User) -> list[FlaggedPost]:
    """Posts with unresolved flags in the circles the viewer moderates (two queries)."""
    counts = (
        select(Flag.post_id, func.count().label("n"))
        .where(col(Flag.resolved_at).is_(None))
        .group_by(col(Flag.post_id))
        .subquery()
    )
    rows = session.exec(
        select(Post, Thread, Circle, User, counts.c.n)  # type: ignore[call-overload]
        .join(counts, counts.c.post_id == Post.id)
        .join(Thread, col(Thread.id) == Post.thread_id)
        .join(Circle, col(Circle.id) == Thread.circle_id)
        .join(User, col(User.id) == Post.author_id)
        # A post its author deleted has nothing left to review (and no moderator can open it).
        .where(col(Post.deleted_at).is_(None), _moderated_filter(viewer))
        .order_by(counts.c.n.desc(), col(Post.id))
        .limit(100)
    ).all()
    items = [FlaggedPost(post=p, thread=t, circle=c, author=u, count=n) for p, t, c, u, n in rows]
    by_id = {item.post.id: item for item in items}
    if by_id:
        for post_id, reason, text in session.exec(
            select(Flag.post_id, Flag.reason, Flag.text)  # type: ignore[call-overload]
            .where(col(Flag.post_id).in_(list(by_id)), col(Flag.resolved_at).is_(None))
            .order_by(col(Flag.id))
        ).all():
            by_id[post_id].reasons.append((reason, text))
    return items


def held_posts(session: Session, *, viewer: User) -> list[tuple[Post, Thread, Circle, User]]:
    return list(session.exec(
        select(Post, Thread, Circle, User)  # type: ignore[call-overload]
        .join(Thread, col(Thread.id) == Post.thread_id)
        .join(Circle, col(Circle.id) == Thread.circle_id)
        .join(User, col(User.id) == Post.author_id)
        .where(col(Post.held).is_(True), col(Post.deleted_at).is_(None), _moderated_filter(viewer))
        .order_by(col(Post.id))
        .limit(100)
    ).all())


def pending_requests(session: Session, *, viewer: User) -> list[tuple[Membership, User, Circle]]:
    circle_filter = (
        col(Circle.id).is_not(None) if viewer.is_admin
        else col(Circle.id).in_(permissions.moderated_circle_ids(viewer))
    )
    return list(session.exec(
        select(Membership, User, Circle)  # type: ignore[call-overload]
        .join(User, col(User.id) == Membership.user_id)
        .join(Circle, col(Circle.id) == Membership.circle_id)
        .where(Membership.state == "pending", circle_filter)
        .order_by(col(Membership.requested_at))
        .limit(100)
    ).all())
