"""Profiles: who someone is and the activity the viewer may see."""

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app import permissions
from app.errors import NotFound
from app.models import AmbassadorGrant, Badge, BadgeAward, Circle, Membership, Post, Thread, User
from app.services import ambassadors, badges

RECENT_POSTS = 20


@dataclass
class Recognition:
    """What the viewer may do to recognise this member (empty for ordinary members)."""

    can_manage: bool = False
    award_circles: list[Circle] = field(default_factory=list)
    manual_badges: list[Badge] = field(default_factory=list)
    grant: AmbassadorGrant | None = None


@dataclass
class Profile:
    user: User
    circles: list[tuple[Circle, str]]
    posts: list[tuple[Post, Thread, Circle]]
    badges: list[tuple[BadgeAward, Badge]] = field(default_factory=list)
    recognition: Recognition = field(default_factory=Recognition)


def get_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.lower())).first() if len(username) <= 40 else None
    if user is None or user.is_deleted:
        raise NotFound()
    return user


def profile(session: Session, *, username: str, viewer: User) -> Profile:
    user = get_user(session, username)
    circles = session.exec(
        select(Circle, Membership.role)
        .join(Membership, col(Membership.circle_id) == Circle.id)
        .where(Membership.user_id == user.id, Membership.state == "active",
               # Membership of a closed circle is part of its member list: members only.
               permissions.readable_circles_filter(viewer))
        .order_by(col(Circle.name))
    ).all()
    posts = session.exec(
        select(Post, Thread, Circle)
        .join(Thread, col(Thread.id) == Post.thread_id)
        .join(Circle, col(Circle.id) == Thread.circle_id)
        .where(Post.author_id == user.id, permissions.visible_posts_filter(viewer))
        .order_by(col(Post.created_at).desc())
        .limit(RECENT_POSTS)
    ).all()
    return Profile(
        user=user,
        circles=[(c, r) for c, r in circles],
        posts=[(p, t, c) for p, t, c in posts],
        badges=badges.badges_of(session, user=user),
        recognition=_recognition(session, user=user, viewer=viewer),
    )


def _recognition(session: Session, *, user: User, viewer: User) -> Recognition:
    if viewer.id == user.id:
        return Recognition()
    shared_hosted = list(session.exec(
        select(Circle)
        .join(Membership, col(Membership.circle_id) == Circle.id)
        .where(Membership.user_id == user.id, Membership.state == "active",
               col(Circle.id).in_(permissions.moderated_circle_ids(viewer)))
        .order_by(col(Circle.name))
    ).all())
    if not (viewer.is_admin or shared_hosted):
        return Recognition()
    manual = list(session.exec(select(Badge).where(col(Badge.automatic).is_(False)).order_by(col(Badge.name))).all())
    return Recognition(can_manage=True, award_circles=shared_hosted, manual_badges=manual,
                       grant=ambassadors.current_grant(session, user.id))  # type: ignore[arg-type]
