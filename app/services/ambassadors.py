"""The ambassador program: grants with a reason, revocations, the whole history kept."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app import permissions
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import _
from app.models import AmbassadorGrant, Membership, Post, Reaction, User, utcnow
from app.services import audit
from app.services.notifications import notify


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise Invalid(_("Say why, in 1 to 1,000 characters."), reason=_("1 to 1,000 characters."))
    return reason


def _hosted_circle_ids(session: Session, user: User) -> list[int]:
    # A one-column SQLModel select: exec() already yields the ids.
    return list(session.exec(permissions.moderated_circle_ids(user)).all())


def require_can_manage(session: Session, *, by: User, member: User) -> None:
    """Admins manage anyone; a host manages members of the circles they host."""
    if by.is_admin:
        return
    hosted = _hosted_circle_ids(session, by)
    if not hosted:
        raise Forbidden(_("Only administrators and hosts may do this."))
    shared = session.exec(
        select(Membership.id).where(Membership.user_id == member.id, col(Membership.circle_id).in_(hosted),
                                    Membership.state == "active")
    ).first()  # type: ignore[call-overload]
    if shared is None:
        raise Forbidden(_("You can only recognise members of the circles you host."))


def current_grant(session: Session, user_id: int) -> AmbassadorGrant | None:
    return session.exec(
        select(AmbassadorGrant).where(AmbassadorGrant.user_id == user_id, col(AmbassadorGrant.revoked_at).is_(None))
    ).scalars().first()  # type: ignore[call-overload]


def grant(session: Session, *, member: User, by: User, reason: str) -> AmbassadorGrant:
    reason = _check_reason(reason)
    if member.is_deleted:
        raise NotFound()
    require_can_manage(session, by=by, member=member)
    if current_grant(session, member.id) is not None:  # type: ignore[arg-type]
        raise Invalid(_("%(name)s is already an ambassador.", name=member.name))
    now = utcnow()
    row = AmbassadorGrant(user_id=member.id, granted_by_id=by.id, reason=reason, granted_at=now)  # type: ignore[arg-type]
    session.add(row)
    member.ambassador_since = now
    session.add(member)
    notify(session, user_id=member.id, kind="ambassador_granted", actor=by)  # type: ignore[arg-type]
    audit.record(session, actor=by, action="ambassador_granted", target_user_id=member.id, reason=reason)
    session.commit()
    return row


def revoke(session: Session, *, member: User, by: User, reason: str) -> AmbassadorGrant:
    reason = _check_reason(reason)
    require_can_manage(session, by=by, member=member)
    row = current_grant(session, member.id)  # type: ignore[arg-type]
    if row is None:
        raise NotFound()
    row.revoked_at = utcnow()
    row.revoked_by_id = by.id
    row.revoke_reason = reason
    session.add(row)
    member.ambassador_since = None
    session.add(member)
    audit.record(session, actor=by, action="ambassador_revoked", target_user_id=member.id, reason=reason)
    session.commit()
    return row


@dataclass
class AmbassadorRow:
    user: User
    since: object
    posts_30d: int
    reactions_30d: int


def current(session: Session) -> list[AmbassadorRow]:
    """Current ambassadors with their activity of the last 30 days (two grouped queries)."""
    users = session.exec(
        select(User).where(col(User.ambassador_since).is_not(None), col(User.deleted_at).is_(None))
        .order_by(col(User.ambassador_since))
    ).scalars().all()  # type: ignore[call-overload]
    ids = [u.id for u in users]
    since = utcnow() - timedelta(days=30)
    posts: dict[int, int] = dict(session.exec(
        select(Post.author_id, func.count()).where(col(Post.author_id).in_(ids), col(Post.created_at) >= since,
                                                    col(Post.deleted_at).is_(None))
        .group_by(col(Post.author_id))
    ).all()) if ids else {}  # type: ignore[call-overload]
    reactions: dict[int, int] = dict(session.exec(
        select(Post.author_id, func.count()).join(Reaction, col(Reaction.post_id) == Post.id)
        .where(col(Post.author_id).in_(ids), col(Reaction.created_at) >= since)
        .group_by(col(Post.author_id))
    ).all()) if ids else {}  # type: ignore[call-overload]
    return [AmbassadorRow(user=u, since=u.ambassador_since, posts_30d=posts.get(u.id, 0),
                          reactions_30d=reactions.get(u.id, 0)) for u in users]


def history(session: Session, *, limit: int = 200) -> list[tuple[AmbassadorGrant, User, User, User | None]]:
    """Every grant, newest first, with who granted and who revoked."""
    granter, revoker = aliased(User), aliased(User)
    return list(session.exec(
        select(AmbassadorGrant, User, granter, revoker)  # type: ignore[call-overload]
        .join(User, col(User.id) == AmbassadorGrant.user_id)
        .join(granter, granter.id == AmbassadorGrant.granted_by_id)
        .join(revoker, revoker.id == AmbassadorGrant.revoked_by_id, isouter=True)
        .order_by(col(AmbassadorGrant.granted_at).desc())
        .limit(limit)
    ).all())
