"""A member's own data: download all of it, or delete the account (GDPR articles 15, 17, 20)."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from app.analytics import rollup
from app.errors import Invalid
from app.i18n import _
from app.models import (
    AmbassadorGrant,
    ApiToken,
    Badge,
    BadgeAward,
    Circle,
    Flag,
    Invite,
    Membership,
    Notification,
    PasswordReset,
    Post,
    PostRevision,
    Pulse,
    Reaction,
    Thread,
    User,
    UserSession,
    utcnow,
)
from app.security import verify_password
from app.services import memberships


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def export(session: Session, *, user: User) -> dict[str, Any]:
    """Everything Cercle holds about this member, as JSON-ready data."""

    def rows(statement: Any) -> list[Any]:
        return list(session.exec(statement).all())

    memberships_rows = rows(
        select(Membership, Circle.slug).join(Circle, col(Circle.id) == Membership.circle_id)
        .where(Membership.user_id == user.id)
    )
    post_rows = rows(
        select(Post, Thread.title).join(Thread, col(Thread.id) == Post.thread_id)
        .where(Post.author_id == user.id).order_by(col(Post.id))
    )
    return {
        "format": "cercle-personal-data",
        "exported_at": _iso(utcnow()),
        "account": {
            "username": user.username, "email": user.email, "display_name": user.display_name,
            "bio": user.bio_md, "language": user.language, "created_at": _iso(user.created_at),
            "is_admin": user.is_admin, "ambassador_since": _iso(user.ambassador_since),
        },
        "memberships": [
            {"circle": slug, "role": m.role, "state": m.state, "requested_at": _iso(m.requested_at),
             "joined_at": _iso(m.joined_at), "left_at": _iso(m.left_at), "request_message": m.request_message}
            for m, slug in memberships_rows
        ],
        "posts": [
            {"id": p.id, "thread": title, "thread_id": p.thread_id, "opening": p.opening, "body": p.body_md,
             "created_at": _iso(p.created_at), "edited_at": _iso(p.edited_at), "deleted": p.deleted_at is not None}
            for p, title in post_rows
        ],
        "reactions": [
            {"post_id": r.post_id, "kind": r.kind, "created_at": _iso(r.created_at)}
            for r in session.exec(select(Reaction).where(Reaction.user_id == user.id)).scalars()  # type: ignore[call-overload]
        ],
        "badges": [
            {"badge": slug, "reason": a.reason, "created_at": _iso(a.created_at), "revoked_at": _iso(a.revoked_at)}
            for a, slug in rows(select(BadgeAward, Badge.slug).join(Badge, col(Badge.id) == BadgeAward.badge_id)
                                .where(BadgeAward.user_id == user.id))
        ],
        "ambassador_grants": [
            {"granted_at": _iso(g.granted_at), "revoked_at": _iso(g.revoked_at)}
            for g in session.exec(select(AmbassadorGrant).where(AmbassadorGrant.user_id == user.id)).scalars()  # type: ignore[call-overload]
        ],
        "pulse_answers": [
            {"score": p.score, "comment": p.comment, "created_at": _iso(p.created_at)}
            for p in session.exec(select(Pulse).where(Pulse.user_id == user.id)).scalars()  # type: ignore[call-overload]
        ],
        "flags": [
            {"post_id": f.post_id, "reason": f.reason, "text": f.text, "created_at": _iso(f.created_at)}
            for f in session.exec(select(Flag).where(Flag.user_id == user.id)).scalars()  # type: ignore[call-overload]
        ],
        "invites_created": [
            {"code": i.code, "created_at": _iso(i.created_at), "uses": i.uses}
            for i in session.exec(select(Invite).where(Invite.created_by_id == user.id)).scalars()  # type: ignore[call-overload]
        ],
        "sessions": [
            {"created_at": _iso(s.created_at), "last_seen_at": _iso(s.last_seen_at), "user_agent": s.user_agent,
             "ip": s.ip}
            for s in session.exec(select(UserSession).where(UserSession.user_id == user.id)).scalars()  # type: ignore[call-overload]
        ],
        "notifications": [
            {"kind": n.kind, "text": n.text, "created_at": _iso(n.created_at), "read": n.read_at is not None}
            for n in session.exec(select(Notification).where(Notification.user_id == user.id)).scalars()  # type: ignore[call-overload]
        ],
    }


def delete_account(session: Session, *, user: User, password: str, erase_posts: bool) -> None:
    """Erases the personal data; posts stay as "former member" unless the member asks to erase them."""
    ok, _new_hash = verify_password(password, user.password_hash)
    if not ok:
        raise Invalid(_("Your password is not right."), password=_("Your password is not right."))
    now = utcnow()
    user_id = user.id
    for membership in session.exec(
        select(Membership).where(Membership.user_id == user_id, Membership.state.in_(("active", "pending")))  # type: ignore[attr-defined]
    ).scalars():
        membership.state = "left"
        membership.left_at = now
        membership.role = "member"
        membership.request_message = ""
        session.add(membership)
        session.flush()
        memberships.refresh_member_count(session, membership.circle_id)
    session.exec(update(AmbassadorGrant).where(col(AmbassadorGrant.user_id) == user_id,
                                               col(AmbassadorGrant.revoked_at).is_(None)).values(revoked_at=now))
    for table in (UserSession, ApiToken, PasswordReset, Notification):
        session.exec(delete(table).where(table.user_id == user_id))  # type: ignore[attr-defined]
    session.exec(update(Pulse).where(col(Pulse.user_id) == user_id).values(comment=""))
    session.exec(update(Flag).where(col(Flag.user_id) == user_id).values(text=""))
    session.exec(update(Invite).where(col(Invite.created_by_id) == user_id, col(Invite.revoked_at).is_(None))
                 .values(revoked_at=now))
    if erase_posts:
        post_ids = select(Post.id).where(Post.author_id == user_id)
        session.exec(delete(PostRevision).where(col(PostRevision.post_id).in_(post_ids)))
        session.exec(update(Post).where(col(Post.author_id) == user_id, col(Post.deleted_at).is_(None))
                     .values(deleted_at=now, body_md="", body_html=""))
        _refresh_counters_of_threads_by(session, user_id)  # type: ignore[arg-type]
        # Bulk UPDATEs bypass the ORM hook that keeps the KPI rollup exact.
        rollup.refresh(session, author_id=user_id)
    user.username = f"former_{user_id}"
    user.email = None
    user.display_name = ""
    user.bio_md = ""
    user.bio_html = ""
    user.password_hash = None
    user.language = None
    user.ambassador_since = None
    user.deleted_at = now
    session.add(user)
    session.commit()


def _refresh_counters_of_threads_by(session: Session, user_id: int) -> None:
    """Thread counters follow the visible posts after the member's posts are erased."""
    from sqlalchemy import func

    thread_ids = select(Post.thread_id).where(Post.author_id == user_id).distinct()
    visible = (col(Post.deleted_at).is_(None)) & (col(Post.hidden).is_(False))
    posts_in = select(func.count()).where(col(Post.thread_id) == Thread.id, visible).scalar_subquery()
    replies_in = select(func.count()).where(col(Post.thread_id) == Thread.id, visible,
                                            col(Post.opening).is_(False)).scalar_subquery()
    session.exec(update(Thread).where(col(Thread.id).in_(thread_ids))
                 .values(post_count=posts_in, reply_count=replies_in))
    # A thread whose opening post is erased disappears from lists, as when its author deletes it.
    opening_gone = select(Post.thread_id).where(Post.author_id == user_id, col(Post.opening).is_(True))
    session.exec(update(Thread).where(col(Thread.id).in_(opening_gone)).values(hidden=True))
