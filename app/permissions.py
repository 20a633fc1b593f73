"""THE rules of who may see and do what. `require_*` raise; `visible_*` filter queries.

Everything inside a closed or secret circle answers a non-member exactly as a missing
object would: `NotFound`, never `Forbidden`, so nothing reveals that it exists.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, bindparam, false, or_, true
from sqlmodel import Session, col, select

from app.errors import Forbidden, NotFound, SignInRequired
from app.i18n import _
from app.models import Circle, Membership, Post, Thread, User


@dataclass(frozen=True)
class CircleAccess:
    """What one viewer may do in one circle, decided once per request."""

    circle: Circle
    viewer: User | None
    membership: Membership | None

    @property
    def is_admin(self) -> bool:
        return bool(self.viewer and self.viewer.is_admin)

    @property
    def is_member(self) -> bool:
        return self.membership is not None and self.membership.state == "active"

    @property
    def is_pending(self) -> bool:
        return self.membership is not None and self.membership.state == "pending"

    @property
    def is_host(self) -> bool:
        return self.is_member and self.membership is not None and self.membership.role == "host"

    @property
    def can_see_card(self) -> bool:
        return self.circle.visibility != "secret" or self.is_member or self.is_admin

    @property
    def can_read(self) -> bool:
        if self.viewer is None:
            return False
        if self.is_admin or self.is_member:
            return True
        return self.circle.visibility == "open"

    @property
    def can_post(self) -> bool:
        return self.circle.archived_at is None and (self.is_member or self.is_admin)

    @property
    def can_moderate(self) -> bool:
        return self.is_admin or self.is_host

    @property
    def is_ambassador(self) -> bool:
        return bool(self.viewer and self.viewer.is_ambassador)

    @property
    def can_approve_requests(self) -> bool:
        # Ambassadors welcome newcomers into the closed circles they belong to.
        ambassador = self.is_ambassador and self.is_member and self.circle.visibility == "closed"
        return self.can_moderate or ambassador

    @property
    def can_join_directly(self) -> bool:
        return (
            self.viewer is not None
            and self.circle.visibility == "open"
            and self.circle.archived_at is None
            and not self.is_member
            and not self._removed
        )

    @property
    def can_request(self) -> bool:
        return (
            self.viewer is not None
            and self.circle.visibility == "closed"
            and self.circle.archived_at is None
            and not self.is_member
            and not self.is_pending
            and not self._removed
        )

    @property
    def _removed(self) -> bool:
        return self.membership is not None and self.membership.state == "removed"

    @property
    def can_invite(self) -> bool:
        if self.circle.archived_at is not None:
            return False
        if self.can_moderate:
            return True
        if self.circle.visibility == "secret":
            return False
        if self.is_ambassador and self.is_member and self.circle.visibility == "closed":
            return True
        return self.is_member and self.circle.member_invites

    @property
    def can_see_members(self) -> bool:
        return self.can_read


# Asked on every page of a circle: built once, the ids come as bound parameters.
_MEMBERSHIP = select(Membership).where(
    Membership.user_id == bindparam("user_id"), Membership.circle_id == bindparam("circle_id")
)


def membership_of(session: Session, user: User | None, circle: Circle) -> Membership | None:
    if user is None:
        return None
    return session.exec(_MEMBERSHIP, params={"user_id": user.id, "circle_id": circle.id}).first()


def circle_access(session: Session, viewer: User | None, circle: Circle) -> CircleAccess:
    return CircleAccess(circle=circle, viewer=viewer, membership=membership_of(session, viewer, circle))


def require_signed_in(viewer: User | None) -> User:
    if viewer is None:
        raise SignInRequired(_("Please sign in to continue."))
    return viewer


def require_card(access: CircleAccess) -> CircleAccess:
    if not access.can_see_card:
        raise NotFound()
    return access


def require_read(access: CircleAccess) -> CircleAccess:
    if not access.can_read:
        raise NotFound()
    return access


def require_post(access: CircleAccess) -> CircleAccess:
    require_read(access)
    if not access.can_post:
        if access.circle.archived_at is not None:
            raise Forbidden(_("This circle is archived: nothing new can be posted."))
        raise Forbidden(_("Join this circle to take part."))
    return access


def require_moderate(access: CircleAccess) -> CircleAccess:
    if not access.can_moderate:
        # A member learns they may not; a non-member learns nothing.
        if access.can_read:
            raise Forbidden(_("Only the circle's hosts may do this."))
        raise NotFound()
    return access


def require_admin(viewer: User | None) -> User:
    user = require_signed_in(viewer)
    if not user.is_admin:
        raise Forbidden(_("Only administrators may do this."))
    return user


def require_kpis(session: Session, viewer: User | None, circle: Circle | None) -> User:
    """KPIs: admins see every circle and the whole site; hosts only the circles they host."""
    user = require_signed_in(viewer)
    if user.is_admin:
        return user
    if circle is None:
        raise Forbidden(_("Only administrators may see the site-wide KPIs."))
    require_moderate(circle_access(session, user, circle))
    return user


# Query filters -----------------------------------------------------------------------------


def _active_circle_ids(viewer: User):  # type: ignore[no-untyped-def]
    return select(Membership.circle_id).where(
        Membership.user_id == viewer.id, Membership.state == "active"
    )


def listed_circles_filter(viewer: User | None) -> ColumnElement[bool]:
    """Circles whose card a viewer may see: open and closed ones, plus their secret ones."""
    if viewer is not None and viewer.is_admin:
        return true()
    public = col(Circle.visibility).in_(("open", "closed"))
    if viewer is None:
        return public
    return or_(public, col(Circle.id).in_(_active_circle_ids(viewer)))


def readable_circles_filter(viewer: User | None) -> ColumnElement[bool]:
    """Circles whose content a viewer may read: open ones (signed in) and their own."""
    if viewer is None:
        return false()
    if viewer.is_admin:
        return true()
    return or_(Circle.visibility == "open", col(Circle.id).in_(_active_circle_ids(viewer)))


def readable_circle_ids(viewer: User | None):  # type: ignore[no-untyped-def]
    return select(Circle.id).where(readable_circles_filter(viewer))


def moderated_circle_ids(viewer: User):  # type: ignore[no-untyped-def]
    return select(Membership.circle_id).where(
        Membership.user_id == viewer.id, Membership.state == "active", Membership.role == "host"
    )


def visible_threads_filter(viewer: User | None) -> ColumnElement[bool]:
    """Threads a viewer may see in lists: in readable circles, hidden ones for moderators only."""
    if viewer is None:
        return false()
    if viewer.is_admin:
        return true()
    readable = col(Thread.circle_id).in_(readable_circle_ids(viewer))
    return and_(
        readable,
        or_(col(Thread.hidden).is_(False), col(Thread.circle_id).in_(moderated_circle_ids(viewer))),
    )


def visible_posts_filter(viewer: User | None) -> ColumnElement[bool]:
    """Posts a viewer may find (search, profiles): not deleted, not hidden, in visible threads."""
    if viewer is None:
        return false()
    base = and_(col(Post.deleted_at).is_(None), visible_threads_filter(viewer))
    if viewer.is_admin:
        return base
    return and_(
        base,
        or_(col(Post.hidden).is_(False), col(Thread.circle_id).in_(moderated_circle_ids(viewer))),
    )
