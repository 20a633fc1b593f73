"""Badges, awards, ambassador grants and the pulse as JSON (same services and permissions)."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.deps import AdminUser, CurrentUser, SessionDep
from app.errors import Forbidden
from app.i18n import _
from app.services import ambassadors, badges, circles, profiles, pulse

router = APIRouter(tags=["api: recognition"])


class BadgeOut(BaseModel):
    slug: str
    name: str
    description: str
    tier: str
    icon: str
    automatic: bool
    holders: int | None = None


class BadgeIn(BaseModel):
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=300)
    tier: str = "bronze"
    icon: str = "star"


class AwardIn(BaseModel):
    username: str = Field(max_length=40)
    reason: str = Field(max_length=1000)
    circle: str | None = Field(default=None, max_length=60)


class AwardOut(BaseModel):
    id: int
    badge: str
    username: str
    reason: str
    awarded_by: str | None = Field(
        description="Username of the person who awarded the badge; null when it was earned automatically.")
    created_at: datetime
    revoked: bool


class ReasonIn(BaseModel):
    reason: str = Field(max_length=1000)


class GrantOut(BaseModel):
    username: str
    granted_at: datetime
    reason: str | None
    revoked_at: datetime | None


class PulseIn(BaseModel):
    score: int = Field(ge=0, le=10)
    comment: str = Field(default="", max_length=1000)


class PulseStateOut(BaseModel):
    ask: bool


class PulseAnswerOut(BaseModel):
    username: str
    score: int
    comment: str
    created_at: datetime


def _badge_out(badge: badges.Badge, holders: int | None = None) -> BadgeOut:
    return BadgeOut(slug=badge.slug, name=badge.name, description=badge.description, tier=badge.tier,
                    icon=badge.icon, automatic=badge.automatic, holders=holders)


@router.get("/badges", response_model=list[BadgeOut])
def list_badges(session: SessionDep, user: CurrentUser) -> list[BadgeOut]:
    badges.ensure_catalog(session)
    return [_badge_out(b, n) for b, n in badges.all_badges(session)]


@router.post("/badges", response_model=BadgeOut, status_code=201)
def create_badge(session: SessionDep, admin: AdminUser, body: BadgeIn) -> BadgeOut:
    return _badge_out(badges.create_badge(session, by=admin, name=body.name, description=body.description,
                                          tier=body.tier, icon=body.icon))


@router.get("/badges/{slug}/awards", response_model=list[AwardOut])
def badge_awards(session: SessionDep, user: CurrentUser, slug: str) -> list[AwardOut]:
    badge = badges.get_badge(session, slug)
    return [AwardOut(id=a.id, badge=badge.slug, username=u.username, reason=a.reason,  # type: ignore[arg-type]
                     awarded_by=g.username if g else None, created_at=a.created_at, revoked=False)
            for a, u, g in badges.holders(session, badge=badge)]


@router.post("/badges/{slug}/awards", response_model=AwardOut, status_code=201)
def award(session: SessionDep, user: CurrentUser, slug: str, body: AwardIn) -> AwardOut:
    badge = badges.get_badge(session, slug)
    member = profiles.get_user(session, body.username)
    scope = circles.get_by_slug(session, body.circle) if body.circle else None
    row = badges.award_manual(session, badge=badge, user=member, by=user, reason=body.reason, circle=scope)
    return AwardOut(id=row.id, badge=badge.slug, username=member.username, reason=row.reason,  # type: ignore[arg-type]
                    awarded_by=user.username, created_at=row.created_at, revoked=False)


@router.post("/awards/{award_id}/revoke", status_code=204)
def revoke_award(session: SessionDep, user: CurrentUser, award_id: int, body: ReasonIn) -> None:
    badges.revoke_award(session, award_id=award_id, by=user, reason=body.reason)


@router.get("/users/{username}/badges", response_model=list[AwardOut])
def user_badges(session: SessionDep, user: CurrentUser, username: str) -> list[AwardOut]:
    member = profiles.get_user(session, username)
    return [AwardOut(id=a.id, badge=b.slug, username=member.username, reason=a.reason,  # type: ignore[arg-type]
                     awarded_by=g.username if g else None, created_at=a.created_at, revoked=False)
            for a, b, g in badges.badges_with_givers(session, user=member)]


@router.post("/users/{username}/ambassador", response_model=GrantOut, status_code=201)
def grant_ambassador(session: SessionDep, user: CurrentUser, username: str, body: ReasonIn) -> GrantOut:
    member = profiles.get_user(session, username)
    row = ambassadors.grant(session, member=member, by=user, reason=body.reason)
    return GrantOut(username=member.username, granted_at=row.granted_at, reason=row.reason, revoked_at=None)


@router.post("/users/{username}/ambassador/revoke", response_model=GrantOut)
def revoke_ambassador(session: SessionDep, user: CurrentUser, username: str, body: ReasonIn) -> GrantOut:
    member = profiles.get_user(session, username)
    row = ambassadors.revoke(session, member=member, by=user, reason=body.reason)
    return GrantOut(username=member.username, granted_at=row.granted_at, reason=row.reason, revoked_at=row.revoked_at)


@router.get("/ambassadors", response_model=list[GrantOut])
def ambassador_history(session: SessionDep, user: CurrentUser) -> list[GrantOut]:
    """The program's history. Grant reasons are for admins and hosts only."""
    from app import permissions

    staff = user.is_admin or session.exec(permissions.moderated_circle_ids(user)).first() is not None  # type: ignore[call-overload]
    if not staff:
        raise Forbidden(_("Only administrators and hosts may do this."))
    return [GrantOut(username=m.username, granted_at=g.granted_at, reason=g.reason, revoked_at=g.revoked_at)
            for g, m, _granter, _revoker in ambassadors.history(session)]


@router.get("/pulse", response_model=PulseStateOut)
def pulse_state(session: SessionDep, user: CurrentUser) -> PulseStateOut:
    return PulseStateOut(ask=pulse.should_ask(session, user=user))


@router.post("/pulse", status_code=201, response_model=PulseStateOut)
def answer_pulse(session: SessionDep, user: CurrentUser, body: PulseIn) -> PulseStateOut:
    pulse.answer(session, user=user, score=body.score, comment=body.comment)
    return PulseStateOut(ask=False)


@router.post("/pulse/dismiss", status_code=204)
def dismiss_pulse(session: SessionDep, user: CurrentUser) -> None:
    pulse.dismiss(session, user=user)


@router.get("/pulse/answers", response_model=list[PulseAnswerOut])
def pulse_answers(session: SessionDep, admin: AdminUser) -> list[PulseAnswerOut]:
    return [PulseAnswerOut(username=u.username, score=p.score, comment=p.comment, created_at=p.created_at)
            for p, u in pulse.answers(session)]
