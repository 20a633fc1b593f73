"""Joining, asking, approving, leaving and removing: membership with its history."""

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app import permissions
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.i18n import _
from app.models import Circle, Invite, Membership, User, utcnow
from app.services import audit
from app.services.notifications import notify

PAGE_SIZE = 50


def refresh_member_count(session: Session, circle_id: int) -> None:
    # The circle row is locked first, so the count below (a new statement, a new snapshot under
    # PostgreSQL's READ COMMITTED) sees every join committed before it. Counted inside the
    # UPDATE alone, two joins in the same instant each miss the other's row: the second UPDATE
    # waits for the first's lock but keeps its older snapshot. NO KEY: memberships' foreign keys
    # hold KEY SHARE locks on the row, which this must not wait for (nor deadlock with).
    session.exec(select(Circle.id).where(col(Circle.id) == circle_id).with_for_update(key_share=True))
    active = (
        select(func.count())
        .where(Membership.circle_id == circle_id, Membership.state == "active")
        .scalar_subquery()
    )
    session.exec(update(Circle).where(col(Circle.id) == circle_id).values(member_count=active))


def _activate(
    session: Session,
    *,
    circle: Circle,
    user: User,
    membership: Membership | None,
    role: str = "member",
    invite: Invite | None = None,
    decided_by: User | None = None,
) -> Membership:
    now = utcnow()
    if membership is None:
        membership = Membership(user_id=user.id, circle_id=circle.id, requested_at=now)  # type: ignore[arg-type]
    membership.state = "active"
    membership.role = role if membership.role != "host" else "host"
    membership.joined_at = now
    membership.left_at = None
    membership.decided_by_id = decided_by.id if decided_by else None
    if invite is not None:
        membership.invite_id = invite.id
        membership.invited_by_id = invite.created_by_id
    session.add(membership)
    session.flush()
    refresh_member_count(session, circle.id)  # type: ignore[arg-type]
    return membership


def join(session: Session, *, circle: Circle, user: User) -> Membership:
    access = permissions.require_card(permissions.circle_access(session, user, circle))
    if access.is_member:
        return access.membership  # type: ignore[return-value]
    if not access.can_join_directly:
        if access._removed:
            raise Forbidden(_("A host removed you from this circle; ask them to let you back in."))
        raise Forbidden(_("This circle is not open: ask to join it."))
    try:
        membership = _activate(session, circle=circle, user=user, membership=access.membership)
        session.commit()
    except IntegrityError:
        # The same person's second request (a double click) joined in the same instant.
        session.rollback()
        joined = permissions.membership_of(session, user, circle)
        if joined is None or joined.state != "active":
            raise
        return joined
    return membership


def request_to_join(session: Session, *, circle: Circle, user: User, message: str = "") -> Membership:
    access = permissions.require_card(permissions.circle_access(session, user, circle))
    if access.is_member or access.is_pending:
        return access.membership  # type: ignore[return-value]
    if len(message) > 1000:
        raise Invalid(_("The message is limited to 1,000 characters."), message=_("At most 1,000 characters."))
    if not access.can_request:
        if access._removed:
            raise Forbidden(_("A host removed you from this circle; ask them to let you back in."))
        raise Forbidden(_("You cannot ask to join this circle."))
    membership = access.membership or Membership(user_id=user.id, circle_id=circle.id)  # type: ignore[arg-type]
    membership.state = "pending"
    membership.requested_at = utcnow()
    membership.request_message = message.strip()
    membership.decided_by_id = None
    session.add(membership)
    try:
        session.flush()
    except IntegrityError:
        # The same person's other request (a double click, two tabs) made the row in the same
        # instant: one request, one notification; this one is "already requested".
        session.rollback()
        asked = permissions.membership_of(session, user, circle)
        if asked is None or asked.state not in ("pending", "active"):
            raise
        return asked
    for host_id in host_ids(session, circle_id=circle.id):  # type: ignore[arg-type]
        notify(session, user_id=host_id, kind="join_request", actor=user, circle_id=circle.id)
    session.commit()
    return membership


def cancel_request(session: Session, *, circle: Circle, user: User) -> None:
    membership = permissions.membership_of(session, user, circle)
    if membership is None or membership.state != "pending":
        raise NotFound()
    session.delete(membership)
    session.commit()


def pending_requests(session: Session, *, circle: Circle) -> list[tuple[Membership, User]]:
    statement = (
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.circle_id == circle.id, Membership.state == "pending")
        .order_by(col(Membership.requested_at))
    )
    return list(session.exec(statement).all())


def _pending(session: Session, *, circle: Circle, membership_id: int) -> Membership:
    membership = session.get(Membership, membership_id)
    if membership is None or membership.circle_id != circle.id:
        raise NotFound()
    if membership.state != "pending":
        raise Conflict(_("This request was already handled."))
    return membership


def approve_request(session: Session, *, circle: Circle, membership_id: int, by: User) -> Membership:
    access = permissions.circle_access(session, by, circle)
    if not access.can_approve_requests:
        permissions.require_moderate(access)
    membership = _pending(session, circle=circle, membership_id=membership_id)
    user = session.get(User, membership.user_id)
    assert user is not None
    membership = _activate(session, circle=circle, user=user, membership=membership, decided_by=by)
    notify(session, user_id=user.id, kind="request_approved", actor=by, circle_id=circle.id)  # type: ignore[arg-type]
    audit.record(session, actor=by, action="request_approved", target_user_id=user.id, circle_id=circle.id)
    session.commit()
    return membership


def decline_request(session: Session, *, circle: Circle, membership_id: int, by: User) -> Membership:
    access = permissions.circle_access(session, by, circle)
    if not access.can_approve_requests:
        permissions.require_moderate(access)
    membership = _pending(session, circle=circle, membership_id=membership_id)
    membership.state = "declined"
    membership.decided_by_id = by.id
    session.add(membership)
    # The circle id is left off: after a refusal the person may not read the circle.
    notify(session, user_id=membership.user_id, kind="request_declined", actor=by,
           text=circle.name if circle.visibility != "secret" else "")
    audit.record(session, actor=by, action="request_declined", target_user_id=membership.user_id,
                 circle_id=circle.id)
    session.commit()
    return membership


def leave(session: Session, *, circle: Circle, user: User) -> None:
    membership = permissions.membership_of(session, user, circle)
    if membership is None or membership.state != "active":
        raise NotFound()
    membership.state = "left"
    membership.left_at = utcnow()
    membership.role = "member"
    session.add(membership)
    session.flush()
    refresh_member_count(session, circle.id)  # type: ignore[arg-type]
    session.commit()


def remove_member(session: Session, *, circle: Circle, user_id: int, by: User, reason: str = "") -> None:
    permissions.require_moderate(permissions.circle_access(session, by, circle))
    membership = session.exec(
        select(Membership).where(Membership.circle_id == circle.id, Membership.user_id == user_id)
    ).first()
    if membership is None or membership.state != "active":
        raise NotFound()
    if membership.role == "host" and not by.is_admin:
        raise Forbidden(_("Only an administrator may remove a host."))
    membership.state = "removed"
    membership.left_at = utcnow()
    membership.role = "member"
    membership.decided_by_id = by.id
    session.add(membership)
    session.flush()
    refresh_member_count(session, circle.id)  # type: ignore[arg-type]
    # No circle id on the notice: after a removal the circle is not theirs to open.
    notify(session, user_id=user_id, kind="removed", actor=by,
           text=circle.name if circle.visibility != "secret" else "")
    audit.record(session, actor=by, action="member_removed", target_user_id=user_id, circle_id=circle.id,
                 reason=reason)
    session.commit()


def allow_back(session: Session, *, circle: Circle, user_id: int, by: User) -> None:
    """Lifts a removal: the person may join or ask again."""
    permissions.require_moderate(permissions.circle_access(session, by, circle))
    membership = session.exec(
        select(Membership).where(Membership.circle_id == circle.id, Membership.user_id == user_id)
    ).first()
    if membership is None or membership.state != "removed":
        raise NotFound()
    membership.state = "left"
    session.add(membership)
    audit.record(session, actor=by, action="member_allowed_back", target_user_id=user_id, circle_id=circle.id)
    session.commit()


def set_host(session: Session, *, circle: Circle, user: User, host: bool, by: User) -> Membership:
    """Admins make a user host of a circle (joining them if needed) or take it back."""
    permissions.require_admin(by)
    membership = permissions.membership_of(session, user, circle)
    if host:
        if membership is None or membership.state != "active":
            membership = _activate(session, circle=circle, user=user, membership=membership, decided_by=by)
        membership.role = "host"
    else:
        if membership is None or membership.role != "host":
            raise NotFound()
        membership.role = "member"
    session.add(membership)
    audit.record(session, actor=by, action="host_added" if host else "host_removed", target_user_id=user.id,
                 circle_id=circle.id)
    session.commit()
    return membership


def host_ids(session: Session, *, circle_id: int) -> list[int]:
    statement = select(Membership.user_id).where(
        Membership.circle_id == circle_id, Membership.state == "active", Membership.role == "host"
    )
    return list(session.exec(statement).all())


def members(session: Session, *, circle: Circle, page: int = 1) -> list[tuple[Membership, User]]:
    statement = (
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.circle_id == circle.id, Membership.state == "active")
        # Hosts first: "host" sorts before "member".
        .order_by(col(Membership.role).asc(), col(User.username))
        .offset((max(page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return list(session.exec(statement).all())


def my_circle_ids(session: Session, *, user: User) -> list[int]:
    statement = select(Membership.circle_id).where(
        Membership.user_id == user.id, Membership.state == "active"
    )
    return list(session.exec(statement).all())


def host_users(session: Session, *, circle_id: int) -> list[User]:
    statement = (
        select(User)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.circle_id == circle_id, Membership.state == "active", Membership.role == "host")
        .order_by(col(User.username))
    )
    return list(session.exec(statement).all())
