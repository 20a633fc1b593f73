"""Invite links to the site or a circle, and registration through them."""

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app import permissions
from app.config import get_settings
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import _
from app.models import Circle, Invite, Membership, User, utcnow
from app.security import new_token
from app.services import accounts, memberships, ratelimit
from app.services.notifications import notify

MAX_USES_LIMIT = 10_000
MAX_DAYS = 365


def _is_usable(invite: Invite, now: datetime) -> bool:
    return (
        invite.revoked_at is None
        and (invite.expires_at is None or invite.expires_at > now)
        and (invite.max_uses is None or invite.uses < invite.max_uses)
    )


def find_usable(session: Session, code: str | None) -> Invite | None:
    if not code or len(code) > 64:
        return None
    invite = session.exec(select(Invite).where(Invite.code == code)).first()
    if invite is None or not _is_usable(invite, utcnow()):
        return None
    if invite.circle_id is not None:
        circle = session.get(Circle, invite.circle_id)
        if circle is None or circle.archived_at is not None:
            return None
    return invite


def invite_circle(session: Session, invite: Invite) -> Circle | None:
    return session.get(Circle, invite.circle_id) if invite.circle_id else None


def create_invite(
    session: Session,
    *,
    by: User,
    circle: Circle | None,
    expires_in_days: int | None = 14,
    max_uses: int | None = None,
    note: str = "",
) -> Invite:
    if circle is None:
        # Site invites let someone create an account; on an invite-only site that is staff work.
        if not (by.is_admin or memberships_host_anywhere(session, by)):
            raise Forbidden(_("Only administrators and hosts may invite people to the site."))
    else:
        access = permissions.require_read(permissions.circle_access(session, by, circle))
        if not access.can_invite:
            raise Forbidden(_("You may not invite people to this circle."))
    errors: dict[str, str] = {}
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        errors["expires_in_days"] = _("Between 1 and %(n)s days.", n=MAX_DAYS)
    if max_uses is not None and not 1 <= max_uses <= MAX_USES_LIMIT:
        errors["max_uses"] = _("Between 1 and %(n)s uses.", n=MAX_USES_LIMIT)
    if len(note) > 1000:
        errors["note"] = _("At most 1,000 characters.")
    if errors:
        raise Invalid(_("Please correct the highlighted fields."), **errors)
    ratelimit.hit(session, f"invite:{by.id}", limit=get_settings().invites_per_day, within=timedelta(days=1),
                  message=_("You created many invite links today. Try again tomorrow."))
    invite = Invite(
        code=new_token()[:32],
        circle_id=circle.id if circle else None,
        created_by_id=by.id,  # type: ignore[arg-type]
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
        max_uses=max_uses,
        note=note.strip(),
    )
    session.add(invite)
    session.commit()
    return invite


def memberships_host_anywhere(session: Session, user: User) -> bool:
    statement = select(Membership.id).where(
        Membership.user_id == user.id, Membership.state == "active", Membership.role == "host"
    )
    return session.exec(statement).first() is not None


def list_invites(session: Session, *, by: User, circle: Circle | None) -> list[Invite]:
    """The invites `by` may manage: their own, and all of a circle they moderate."""
    statement = select(Invite).order_by(col(Invite.id).desc())
    if circle is not None:
        statement = statement.where(Invite.circle_id == circle.id)
        access = permissions.circle_access(session, by, circle)
        if not access.can_moderate:
            statement = statement.where(Invite.created_by_id == by.id)
    else:
        statement = statement.where(col(Invite.circle_id).is_(None))
        if not by.is_admin:
            statement = statement.where(Invite.created_by_id == by.id)
    return list(session.exec(statement.limit(100)).all())


def revoke_invite(session: Session, *, invite_id: int, by: User) -> Invite:
    invite = session.get(Invite, invite_id)
    if invite is None:
        raise NotFound()
    allowed = invite.created_by_id == by.id or by.is_admin
    if not allowed and invite.circle_id is not None:
        circle = session.get(Circle, invite.circle_id)
        allowed = circle is not None and permissions.circle_access(session, by, circle).can_moderate
    if not allowed:
        raise NotFound()
    invite.revoked_at = invite.revoked_at or utcnow()
    session.add(invite)
    session.commit()
    return invite


def _count_use(session: Session, invite: Invite) -> None:
    # One conditional UPDATE: two people racing for the last use cannot both get it.
    statement = update(Invite).where(col(Invite.id) == invite.id)
    if invite.max_uses is not None:
        statement = statement.where(col(Invite.uses) < invite.max_uses)
    result = session.exec(statement.values(uses=Invite.uses + 1))
    if result.rowcount != 1:
        raise Invalid(_("This invite link has been used up."))


def accept_invite(session: Session, *, invite: Invite, user: User) -> Membership | None:
    """Brings a signed-in user into the invite's circle (no-op for a site invite)."""
    if invite.circle_id is None:
        return None
    circle = session.get(Circle, invite.circle_id)
    if circle is None:
        raise NotFound()
    membership = permissions.membership_of(session, user, circle)
    if membership is not None and membership.state == "active":
        return membership
    _count_use(session, invite)
    # An invite is a host's or member's decision: it also lifts a previous removal.
    membership = memberships._activate(
        session, circle=circle, user=user, membership=membership, invite=invite
    )
    notify(session, user_id=invite.created_by_id, kind="invite_accepted", actor=user, circle_id=circle.id)
    session.commit()
    return membership


def register_with_invite(
    session: Session,
    *,
    username: str,
    email: str,
    password: str,
    display_name: str,
    invite_code: str | None,
    open_registration: bool,
    language: str | None,
    ip: str,
) -> User:
    invite = find_usable(session, invite_code)
    if invite_code and invite is None:
        raise Invalid(_("This invite link is not valid any more."))
    if invite is None and not open_registration:
        raise Forbidden(_("Registration is by invitation only."))
    user = accounts.register_user(
        session, username=username, email=email, password=password,
        display_name=display_name, language=language, ip=ip, commit=False,
    )
    if invite is not None:
        user.invited_by_id = invite.created_by_id
        user.invite_id = invite.id
        session.add(user)
        if invite.circle_id is None:
            _count_use(session, invite)
            notify(session, user_id=invite.created_by_id, kind="invite_accepted", actor=user)
            session.commit()
        else:
            session.flush()
            accept_invite(session, invite=invite, user=user)
    else:
        session.commit()
    return user


def landing_url(session: Session, *, user: User) -> str:
    """Where a newly registered person lands: the circle they were invited to, or home."""
    if user.invite_id:
        invite = session.get(Invite, user.invite_id)
        if invite and invite.circle_id:
            circle = session.get(Circle, invite.circle_id)
            if circle:
                return f"/c/{circle.slug}"
    return "/"


def invite_url(invite: Invite) -> str:
    from app.config import get_settings

    return f"{get_settings().base_url.rstrip('/')}/invite/{invite.code}"
