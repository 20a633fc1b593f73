"""Circles: create, edit, archive (admins); the directory; one circle's card and threads."""

import re
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app import permissions
from app.errors import Invalid, NotFound
from app.i18n import _
from app.models import Circle, Membership, User, utcnow
from app.models.circles import VISIBILITIES
from app.text import render_markdown

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")


# Asked on every circle page: built once (building and keying it cost more than running it).
_BY_SLUG = select(Circle).where(Circle.slug == bindparam("slug"))


def get_by_slug(session: Session, slug: str) -> Circle:
    circle = session.exec(_BY_SLUG, params={"slug": slug.lower()}).first() if len(slug) <= 60 else None
    if circle is None:
        raise NotFound()
    return circle


def get_by_id(session: Session, circle_id: int) -> Circle:
    circle = session.get(Circle, circle_id)
    if circle is None:
        raise NotFound()
    return circle


def _validate(
    session: Session, *, slug: str, name: str, description: str, visibility: str, current: Circle | None
) -> None:
    errors: dict[str, str] = {}
    if not SLUG_RE.match(slug):
        errors["slug"] = _("1 to 60 characters: lowercase letters, digits and dashes.")
    elif session.exec(
        select(Circle.id).where(Circle.slug == slug, col(Circle.id) != (current.id if current else -1))
    ).first() is not None:
        errors["slug"] = _("Another circle already uses this address.")
    if not name.strip() or len(name) > 80:
        errors["name"] = _("1 to 80 characters.")
    if len(description) > 2000:
        errors["description"] = _("At most 2,000 characters.")
    if visibility not in VISIBILITIES:
        errors["visibility"] = _("Choose open, closed or secret.")
    if errors:
        raise Invalid(_("Please correct the highlighted fields."), **errors)


def create_circle(
    session: Session,
    *,
    by: User,
    slug: str,
    name: str,
    description: str = "",
    visibility: str = "open",
    member_invites: bool = True,
) -> Circle:
    permissions.require_admin(by)
    slug = slug.strip().lower()
    _validate(session, slug=slug, name=name, description=description, visibility=visibility, current=None)
    circle = Circle(
        slug=slug,
        name=name.strip(),
        description_md=description,
        description_html=render_markdown(description),
        visibility=visibility,
        member_invites=member_invites,
        created_by_id=by.id,  # type: ignore[arg-type]
    )
    session.add(circle)
    session.commit()
    return circle


def update_circle(
    session: Session,
    *,
    circle: Circle,
    by: User,
    name: str,
    description: str,
    visibility: str,
    member_invites: bool,
) -> Circle:
    """Admins edit everything; hosts edit the name, description and member invites."""
    access = permissions.require_moderate(permissions.circle_access(session, by, circle))
    if visibility != circle.visibility:
        permissions.require_admin(access.viewer)
    _validate(session, slug=circle.slug, name=name, description=description,
              visibility=visibility, current=circle)
    circle.name = name.strip()
    circle.description_md = description
    circle.description_html = render_markdown(description)
    circle.visibility = visibility
    circle.member_invites = member_invites
    session.add(circle)
    session.commit()
    return circle


def set_archived(session: Session, *, circle: Circle, by: User, archived: bool) -> Circle:
    permissions.require_admin(by)
    circle.archived_at = (circle.archived_at or utcnow()) if archived else None
    session.add(circle)
    session.commit()
    return circle


@dataclass
class DirectoryEntry:
    circle: Circle
    state: str | None  # the viewer's membership state, if any
    role: str | None


def directory(session: Session, *, viewer: User | None, include_archived: bool = False) -> list[DirectoryEntry]:
    """Circles the viewer may see listed, with their own membership state (one query)."""
    condition = permissions.listed_circles_filter(viewer)
    if not include_archived:
        condition = condition & col(Circle.archived_at).is_(None)
    order = (col(Circle.member_count).desc(), col(Circle.name))
    if viewer is None:
        statement = select(Circle).where(condition).order_by(*order)
        return [DirectoryEntry(circle=c, state=None, role=None) for c in session.exec(statement).all()]
    # select(Circle, Membership), not select(Circle).add_columns(...): SQLModel would still
    # treat the latter as a scalar select and hand back Circle objects only.
    joined = (
        select(Circle, Membership)
        .join(
            Membership,
            (col(Membership.circle_id) == Circle.id) & (col(Membership.user_id) == viewer.id),
            isouter=True,
        )
        .where(condition)
        .order_by(*order)
    )
    return [
        DirectoryEntry(circle=circle, state=m.state if m else None, role=m.role if m else None)
        for circle, m in session.exec(joined).all()
    ]
