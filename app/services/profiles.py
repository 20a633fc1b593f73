"""Profiles: who someone is and the activity the viewer may see."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app import permissions
from app.errors import NotFound
from app.models import Circle, Membership, Post, Thread, User

RECENT_POSTS = 20


@dataclass
class Profile:
    user: User
    circles: list[tuple[Circle, str]]
    posts: list[tuple[Post, Thread, Circle]]


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
    return Profile(user=user, circles=[(c, r) for c, r in circles], posts=[(p, t, c) for p, t, c in posts])
