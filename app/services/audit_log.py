"""Reading the audit log: admins see everything, hosts the rows of the circles they host."""

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app import permissions
from app.i18n import lazy
from app.models import Circle, ModerationAction, User

PAGE_SIZE = 50
ACTIONS = {
    "post_hidden": lazy("Post hidden"),
    "post_auto_hidden": lazy("Post hidden by flags"),
    "post_restored": lazy("Post restored"),
    "post_approved": lazy("Post approved"),
    "post_deleted": lazy("Post deleted"),
    "flags_dismissed": lazy("Flags dismissed"),
    "author_warned": lazy("Author warned"),
    "thread_locked": lazy("Thread locked"),
    "thread_unlocked": lazy("Thread unlocked"),
    "thread_pinned": lazy("Thread pinned"),
    "thread_unpinned": lazy("Thread unpinned"),
    "thread_moved": lazy("Thread moved"),
    "circle_rules_changed": lazy("Circle rules changed"),
    "member_removed": lazy("Member removed"),
    "member_allowed_back": lazy("Member allowed back"),
    "request_approved": lazy("Join request approved"),
    "request_declined": lazy("Join request declined"),
    "host_added": lazy("Host added"),
    "host_removed": lazy("Host removed"),
    "user_suspended": lazy("Account suspended"),
    "user_unsuspended": lazy("Suspension lifted"),
    "badge_created": lazy("Badge created"),
    "badge_awarded": lazy("Badge awarded"),
    "badge_revoked": lazy("Badge taken back"),
    "ambassador_granted": lazy("Ambassador appointed"),
    "ambassador_revoked": lazy("Ambassador role ended"),
}


def entries(session: Session, *, viewer: User, circle: Circle | None = None, action: str = "", actor: str = "",
            page: int = 1) -> list[tuple[ModerationAction, User | None, User | None, Circle | None]]:
    actor_user, target_user = aliased(User), aliased(User)
    statement = (
        select(ModerationAction, actor_user, target_user, Circle)
        .join(actor_user, actor_user.id == ModerationAction.actor_id, isouter=True)
        .join(target_user, target_user.id == ModerationAction.target_user_id, isouter=True)
        .join(Circle, col(Circle.id) == ModerationAction.circle_id, isouter=True)
        .order_by(col(ModerationAction.id).desc())
        .offset((max(page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    if not viewer.is_admin:
        statement = statement.where(col(ModerationAction.circle_id).in_(permissions.moderated_circle_ids(viewer)))
    if circle is not None:
        statement = statement.where(ModerationAction.circle_id == circle.id)
    if action:
        statement = statement.where(ModerationAction.action == action)
    if actor:
        statement = statement.where(actor_user.username == actor.strip().lstrip("@").lower())
    return list(session.exec(statement).all())  # type: ignore[call-overload]


def visible_circles(session: Session, *, viewer: User) -> list[Circle]:
    statement = select(Circle).order_by(col(Circle.name))
    if not viewer.is_admin:
        statement = statement.where(col(Circle.id).in_(permissions.moderated_circle_ids(viewer)))
    return list(session.exec(statement).scalars().all())  # type: ignore[call-overload]
