"""Explicit builders for tests: each goes through the real services."""

import itertools
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app import permissions
from app.models import Circle, Invite, Post, Thread, User
from app.services import accounts, circles, invites, memberships, posts, threads

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def make_user(session: Session, username: str | None = None, *, admin: bool = False,
              display_name: str = "", password: str = PASSWORD) -> User:
    username = username or f"user{next(_counter)}"
    return accounts.register_user(session, username=username, email=f"{username}@example.com",
                                  password=password, display_name=display_name, is_admin=admin)


def make_admin(session: Session, username: str = "admin") -> User:
    return make_user(session, username, admin=True)


def make_circle(session: Session, slug: str | None = None, *, visibility: str = "open",
                by: User | None = None, name: str | None = None, description: str = "",
                member_invites: bool = True) -> Circle:
    slug = slug or f"circle-{next(_counter)}"
    admin = by or accounts.find_by_login(session, "root_admin") or make_user(session, "root_admin", admin=True)
    return circles.create_circle(session, by=admin, slug=slug, name=name or slug.replace("-", " ").title(),
                                 description=description, visibility=visibility, member_invites=member_invites)


def add_member(session: Session, circle: Circle, user: User, *, host: bool = False) -> None:
    """Makes `user` an active member (or host) whatever the circle's visibility."""
    admin = accounts.find_by_login(session, "root_admin") or make_user(session, "root_admin", admin=True)
    if host:
        memberships.set_host(session, circle=circle, user=user, host=True, by=admin)
        return
    membership = permissions.membership_of(session, user, circle)
    memberships._activate(session, circle=circle, user=user, membership=membership)
    session.commit()


def make_thread(session: Session, circle: Circle, author: User, *, title: str = "A thread",
                body: str = "The opening post.") -> Thread:
    return threads.create_thread(session, circle=circle, author=author, title=title, body=body)


def make_reply(session: Session, thread: Thread, author: User, body: str = "A reply.",
               reply_to: Post | None = None) -> Post:
    circle = session.get(Circle, thread.circle_id)
    assert circle is not None
    access = permissions.circle_access(session, author, circle)
    return posts.reply(session, thread=thread, access=access, author=author, body=body,
                       reply_to_id=reply_to.id if reply_to else None)


def make_invite(session: Session, by: User, circle: Circle | None = None, **options: Any) -> Invite:
    return invites.create_invite(session, by=by, circle=circle, **options)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page gives this client (its session or anonymous seed)."""
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, user: User | str, password: str = PASSWORD) -> TestClient:
    username = user if isinstance(user, str) else user.username
    token = csrf_from(client)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def post_form(client: TestClient, path: str, data: dict[str, Any] | None = None, *,
              csrf_page: str = "/", **kwargs: Any) -> Any:
    """POSTs a form with this client's CSRF token, like a browser would."""
    payload = dict(data or {})
    payload.setdefault("csrf_token", csrf_from(client, csrf_page))
    return client.post(path, data=payload, follow_redirects=False, **kwargs)
