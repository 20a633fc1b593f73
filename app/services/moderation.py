"""Host and admin actions on posts, threads, circles and members. Every one is audited."""

from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col

from app import permissions
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import _
from app.models import Circle, Flag, Post, ReadState, Thread, User, UserSession, utcnow
from app.permissions import CircleAccess
from app.services import audit, badges, posts
from app.services.notifications import notify

MAX_SUSPENSION_DAYS = 3650
# The hidden_reason of a post that members' flags hid automatically.
AUTO_HIDDEN = "Hidden by members' flags, pending review"


def _reason(reason: str, *, required: bool = False) -> str:
    reason = reason.strip()
    if len(reason) > 1000:
        raise Invalid(_("The reason is limited to 1,000 characters."), reason=_("At most 1,000 characters."))
    if required and not reason:
        raise Invalid(_("Give a reason: the member will see it."), reason=_("Required."))
    return reason


def _visible_delta(post: Post, thread: Thread, delta: int) -> None:
    """Keeps the thread's counters equal to its visible posts."""
    thread.post_count += delta
    if not post.opening:
        thread.reply_count += delta


def _is_visible(post: Post) -> bool:
    return not post.hidden and post.deleted_at is None


def _resolve_flags(session: Session, *, post: Post, by: User, resolution: str) -> None:
    session.exec(
        update(Flag)
        .where(col(Flag.post_id) == post.id, col(Flag.resolved_at).is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=by.id, resolution=resolution)
    )


def hide_post(session: Session, *, post: Post, thread: Thread, access: CircleAccess, by: User, reason: str) -> Post:
    permissions.require_moderate(access)
    reason = _reason(reason, required=True)
    if _is_visible(post):
        _visible_delta(post, thread, -1)
    post.hidden = True
    post.held = False
    post.hidden_reason = reason
    if post.opening:
        thread.hidden = True
    session.add_all([post, thread])
    _resolve_flags(session, post=post, by=by, resolution="hidden")
    notify(session, user_id=post.author_id, kind="post_hidden", actor=by, circle_id=thread.circle_id,
           thread_id=thread.id, text=reason)
    audit.record(session, actor=by, action="post_hidden", target_user_id=post.author_id, circle_id=thread.circle_id,
                 thread_id=thread.id, post_id=post.id, reason=reason)
    session.commit()
    return post


def restore_post(session: Session, *, post: Post, thread: Thread, access: CircleAccess, by: User,
                 reason: str = "") -> Post:
    """Shows a hidden post again (also approves a post that was held for review)."""
    permissions.require_moderate(access)
    if post.deleted_at is not None:
        raise Invalid(_("A deleted post cannot be restored."))
    was_held = post.held
    if was_held:
        _publish_approved(session, post=post, thread=thread)
    elif post.hidden:
        _visible_delta(post, thread, +1)
    post.hidden = False
    post.held = False
    post.hidden_reason = ""
    if post.opening:
        thread.hidden = False
    session.add_all([post, thread])
    _resolve_flags(session, post=post, by=by, resolution="kept")
    audit.record(session, actor=by, action="post_approved" if was_held else "post_restored",
                 target_user_id=post.author_id, circle_id=thread.circle_id, thread_id=thread.id, post_id=post.id,
                 reason=_reason(reason))
    session.flush()
    # A held post is approved only now: its badge rules could not fire when it was written,
    # and nobody was told about it (replies, mentions) until now.
    badges.on_post(session, post=post, thread=thread)
    if was_held:
        _announce_approved(session, post=post, thread=thread, access=access)
    session.commit()
    return post


def _publish_approved(session: Session, *, post: Post, thread: Thread) -> None:
    """An approved post counts from now, as if written now: the thread moves up with one more post,
    and a reply takes the next number, so it is unread for everyone who read past its old place."""
    now = utcnow()
    values: dict[str, object] = {"post_count": Thread.post_count + 1, "last_post_at": now}
    if post.opening:
        values["created_at"] = now
    else:
        values.update(reply_count=Thread.reply_count + 1, last_number=Thread.last_number + 1)
    number: int = session.exec(
        update(Thread).where(col(Thread.id) == thread.id).values(**values).returning(Thread.last_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.refresh(thread)
    post.created_at = now
    if not post.opening:
        post.number = number
        # The author's own post is not news to them if they had read everything before it.
        session.exec(
            update(ReadState)
            .where(col(ReadState.user_id) == post.author_id, col(ReadState.thread_id) == thread.id,
                   col(ReadState.last_read_number) >= number - 1)
            .values(last_read_number=number)
            .execution_options(synchronize_session=False)
        )


def _announce_approved(session: Session, *, post: Post, thread: Thread, access: CircleAccess) -> None:
    author = session.get(User, post.author_id)
    if author is None or author.is_deleted:
        return
    parent = session.get(Post, post.reply_to_id) if post.reply_to_id else None
    if parent is not None and parent.deleted_at is not None:
        parent = None
    posts.announce(session, access=access, post=post, thread=thread, author=author, parent=parent)


def keep_post(session: Session, *, post: Post, thread: Thread, access: CircleAccess, by: User) -> Post:
    """Dismisses the flags: the post stays (and comes back if flags had hidden it)."""
    permissions.require_moderate(access)
    if post.hidden and not post.held and post.hidden_reason == AUTO_HIDDEN:
        return restore_post(session, post=post, thread=thread, access=access, by=by, reason=_("Flags dismissed"))
    _resolve_flags(session, post=post, by=by, resolution="kept")
    audit.record(session, actor=by, action="flags_dismissed", target_user_id=post.author_id,
                 circle_id=thread.circle_id, thread_id=thread.id, post_id=post.id)
    session.commit()
    return post



def delete_post(session: Session, *, post: Post, thread: Thread, access: CircleAccess, by: User, reason: str) -> None:
    permissions.require_moderate(access)
    reason = _reason(reason, required=True)
    if post.deleted_at is not None:
        return
    if _is_visible(post):
        _visible_delta(post, thread, -1)
    post.deleted_at = utcnow()
    if post.opening:
        thread.hidden = True
    session.add_all([post, thread])
    _resolve_flags(session, post=post, by=by, resolution="deleted")
    notify(session, user_id=post.author_id, kind="post_deleted", actor=by, text=reason)
    audit.record(session, actor=by, action="post_deleted", target_user_id=post.author_id, circle_id=thread.circle_id,
                 thread_id=thread.id, post_id=post.id, reason=reason)
    session.commit()


def warn_author(session: Session, *, post: Post, thread: Thread, access: CircleAccess, by: User, text: str) -> None:
    """A private notice to the author; only they and the moderators see it."""
    permissions.require_moderate(access)
    text = _reason(text, required=True)
    notify(session, user_id=post.author_id, kind="warning", actor=by, circle_id=thread.circle_id,
           thread_id=thread.id, post_id=post.id, text=text)
    audit.record(session, actor=by, action="author_warned", target_user_id=post.author_id,
                 circle_id=thread.circle_id, thread_id=thread.id, post_id=post.id, reason=text)
    session.commit()


def set_thread_flag(session: Session, *, thread: Thread, access: CircleAccess, by: User, flag: str, value: bool,
                    reason: str = "") -> Thread:
    """Locks/unlocks or pins/unpins a thread."""
    permissions.require_moderate(access)
    if flag not in ("locked", "pinned"):
        raise Invalid(_("Unknown action."))
    setattr(thread, flag, value)
    session.add(thread)
    action = {("locked", True): "thread_locked", ("locked", False): "thread_unlocked",
              ("pinned", True): "thread_pinned", ("pinned", False): "thread_unpinned"}[(flag, value)]
    audit.record(session, actor=by, action=action, target_user_id=thread.author_id, circle_id=thread.circle_id,
                 thread_id=thread.id, reason=_reason(reason))
    session.commit()
    return thread


def move_thread(session: Session, *, thread: Thread, access: CircleAccess, by: User, target: Circle,
                reason: str = "") -> Thread:
    """Moves a thread; the mover must moderate both circles, and the target's rules apply from then on."""
    target_access = permissions.circle_access(session, by, target)
    # First: a target the mover may not read answers like a missing circle, whatever else is wrong.
    permissions.require_read(target_access)
    permissions.require_moderate(access)
    if target.id == thread.circle_id:
        raise Invalid(_("The thread is already in this circle."))
    if not target_access.can_moderate:
        raise Forbidden(_("You may only move threads to circles you host."))
    if target.archived_at is not None:
        raise Invalid(_("This circle is archived."))
    source_id = thread.circle_id
    thread.circle_id = target.id  # type: ignore[assignment]
    session.add(thread)
    audit.record(session, actor=by, action="thread_moved", target_user_id=thread.author_id, circle_id=source_id,
                 thread_id=thread.id, detail=f"→ {target.slug}", reason=_reason(reason))
    audit.record(session, actor=by, action="thread_moved", target_user_id=thread.author_id, circle_id=target.id,
                 thread_id=thread.id, detail=f"← {access.circle.slug}", reason=_reason(reason))
    session.commit()
    return thread


def set_circle_rules(session: Session, *, access: CircleAccess, by: User, read_only: bool, slow_mode_seconds: int,
                     hold_first_posts: int) -> Circle:
    permissions.require_moderate(access)
    errors: dict[str, str] = {}
    if not 0 <= slow_mode_seconds <= 86_400:
        errors["slow_mode_seconds"] = _("Between 0 and 86,400 seconds.")
    if not 0 <= hold_first_posts <= 50:
        errors["hold_first_posts"] = _("Between 0 and 50 posts.")
    if errors:
        raise Invalid(_("Please correct the highlighted fields."), **errors)
    circle = access.circle
    circle.read_only = read_only
    circle.slow_mode_seconds = slow_mode_seconds
    circle.hold_first_posts = hold_first_posts
    session.add(circle)
    audit.record(session, actor=by, action="circle_rules_changed", circle_id=circle.id,
                 detail=f"read_only={read_only} slow_mode={slow_mode_seconds}s hold_first={hold_first_posts}")
    session.commit()
    return circle


def suspend(session: Session, *, user: User, by: User, days: int, reason: str) -> User:
    """Suspends an account site-wide (admins): its sessions end at once; it sees the reason at sign-in."""
    permissions.require_admin(by)
    reason = _reason(reason, required=True)
    if not 1 <= days <= MAX_SUSPENSION_DAYS:
        raise Invalid(_("Between 1 and %(n)s days.", n=MAX_SUSPENSION_DAYS), days=_("Between 1 and %(n)s days.",
                                                                                     n=MAX_SUSPENSION_DAYS))
    if user.id == by.id or user.is_admin:
        raise Forbidden(_("Administrators cannot be suspended."))
    user.suspended_until = utcnow() + timedelta(days=days)
    user.suspended_reason = reason
    session.add(user)
    session.exec(delete(UserSession).where(col(UserSession.user_id) == user.id))
    audit.record(session, actor=by, action="user_suspended", target_user_id=user.id, detail=f"{days} days",
                 reason=reason)
    session.commit()
    return user


def unsuspend(session: Session, *, user: User, by: User) -> User:
    permissions.require_admin(by)
    if user.suspended_until is None:
        raise NotFound()
    user.suspended_until = None
    user.suspended_reason = None
    session.add(user)
    audit.record(session, actor=by, action="user_unsuspended", target_user_id=user.id)
    session.commit()
    return user


def thread_of(session: Session, post: Post) -> Thread:
    thread = session.get(Thread, post.thread_id)
    if thread is None:
        raise NotFound()
    return thread

