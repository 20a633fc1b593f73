"""Ambassador candidates for the program page, as KPIS.md defines them.

The definition lives in `app.analytics.candidates`; this module only chooses the scope a
viewer may see: admins the whole site, hosts the circles they host.
"""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app import permissions
from app.models import Circle, User, utcnow

# Per scope, the most active candidates listed (a big community has thousands).
LISTED = 100


@dataclass
class Candidate:
    user: User
    active_days: int
    posts: int
    reactions: int
    circle: Circle | None


def candidates_for(session: Session, *, viewer: User) -> list[Candidate]:
    """The most active candidates (LISTED per scope) the viewer may promote, most posts first."""
    from app.analytics.candidates import candidate_rows

    today = utcnow().date()
    if viewer.is_admin:
        scopes: list[Circle | None] = [None]
    else:
        scopes = list(session.exec(
            select(Circle).where(col(Circle.id).in_(permissions.moderated_circle_ids(viewer)))
        ).all())
    seen: set[int] = set()
    found: list[Candidate] = []
    for scope in scopes:
        for user, days, posts, reactions in candidate_rows(session, end=today, circle=scope, limit=LISTED):
            if user.id not in seen:
                seen.add(user.id)  # type: ignore[arg-type]
                found.append(Candidate(user=user, active_days=days, posts=posts, reactions=reactions, circle=scope))
    return found
