"""Circles, memberships, join requests and invites as JSON."""

from fastapi import APIRouter

from app import permissions
from app.deps import CurrentUser, OptionalUser, SessionDep
from app.errors import Invalid
from app.i18n import _
from app.models import Membership, User
from app.permissions import CircleAccess
from app.routers.api.schemas import (
    CircleIn,
    CircleOut,
    CircleUpdate,
    InviteIn,
    InviteOut,
    JoinRequestIn,
    MembershipOut,
    ThreadIn,
    ThreadOut,
)
from app.services import circles, invites, memberships, threads

router = APIRouter(tags=["api: circles"])


def _access(session: SessionDep, slug: str, viewer: User | None) -> CircleAccess:
    circle = circles.get_by_slug(session, slug)
    return permissions.require_card(permissions.circle_access(session, viewer, circle))


def _membership_out(m: Membership, username: str, slug: str) -> MembershipOut:
    return MembershipOut(id=m.id, username=username, circle=slug, role=m.role, state=m.state,  # type: ignore[arg-type]
                         joined_at=m.joined_at, request_message=m.request_message)


@router.get("/circles", response_model=list[CircleOut])
def list_circles(session: SessionDep, user: OptionalUser) -> list[CircleOut]:
    return [CircleOut.of(e.circle, e.state, e.role) for e in circles.directory(session, viewer=user)]


@router.post("/circles", response_model=CircleOut, status_code=201)
def create_circle(session: SessionDep, user: CurrentUser, body: CircleIn) -> CircleOut:
    circle = circles.create_circle(session, by=user, slug=body.slug, name=body.name, description=body.description,
                                   visibility=body.visibility, member_invites=body.member_invites)
    return CircleOut.of(circle)


@router.get("/circles/{slug}", response_model=CircleOut)
def get_circle(session: SessionDep, user: OptionalUser, slug: str) -> CircleOut:
    access = _access(session, slug, user)
    m = access.membership
    return CircleOut.of(access.circle, m.state if m else None, m.role if m else None)


@router.patch("/circles/{slug}", response_model=CircleOut)
def update_circle(session: SessionDep, user: CurrentUser, slug: str, body: CircleUpdate) -> CircleOut:
    # Even an empty PATCH answers a non-member as for a missing circle (it returns the circle).
    access = permissions.require_moderate(_access(session, slug, user))
    circle = access.circle
    if body.archived is not None:
        circles.set_archived(session, circle=circle, by=user, archived=body.archived)
    if any(v is not None for v in (body.name, body.description, body.visibility, body.member_invites)):
        circles.update_circle(
            session, circle=circle, by=user,
            name=body.name if body.name is not None else circle.name,
            description=body.description if body.description is not None else circle.description_md,
            visibility=body.visibility or circle.visibility,
            member_invites=body.member_invites if body.member_invites is not None else circle.member_invites,
        )
    return CircleOut.of(circle)


@router.get("/circles/{slug}/threads", response_model=list[ThreadOut])
def circle_threads(session: SessionDep, user: CurrentUser, slug: str, page: int = 1) -> list[ThreadOut]:
    access = permissions.require_read(_access(session, slug, user))
    rows, _pages = threads.circle_threads(session, access=access, page=page)
    return [ThreadOut.of(r.thread, slug, r.author, r.unread) for r in rows]


@router.post("/circles/{slug}/threads", response_model=ThreadOut, status_code=201)
def create_thread(session: SessionDep, user: CurrentUser, slug: str, body: ThreadIn) -> ThreadOut:
    access = permissions.require_read(_access(session, slug, user))
    thread = threads.create_thread(session, circle=access.circle, author=user, title=body.title, body=body.body)
    return ThreadOut.of(thread, slug, user, 0)


@router.get("/circles/{slug}/members", response_model=list[MembershipOut])
def circle_members(session: SessionDep, user: CurrentUser, slug: str, page: int = 1) -> list[MembershipOut]:
    access = permissions.require_read(_access(session, slug, user))
    return [_membership_out(m, u.username, slug) for m, u in memberships.members(session, circle=access.circle, page=page)]


@router.post("/circles/{slug}/join", response_model=MembershipOut)
def join(session: SessionDep, user: CurrentUser, slug: str) -> MembershipOut:
    access = _access(session, slug, user)
    return _membership_out(memberships.join(session, circle=access.circle, user=user), user.username, slug)


@router.post("/circles/{slug}/requests", response_model=MembershipOut, status_code=201)
def ask_to_join(session: SessionDep, user: CurrentUser, slug: str, body: JoinRequestIn) -> MembershipOut:
    access = _access(session, slug, user)
    membership = memberships.request_to_join(session, circle=access.circle, user=user, message=body.message)
    return _membership_out(membership, user.username, slug)


@router.get("/circles/{slug}/requests", response_model=list[MembershipOut])
def list_requests(session: SessionDep, user: CurrentUser, slug: str) -> list[MembershipOut]:
    access = _access(session, slug, user)
    if not access.can_approve_requests:
        permissions.require_moderate(access)
    return [_membership_out(m, u.username, slug) for m, u in memberships.pending_requests(session, circle=access.circle)]


@router.post("/circles/{slug}/requests/{membership_id}/approve", response_model=MembershipOut)
def approve(session: SessionDep, user: CurrentUser, slug: str, membership_id: int) -> MembershipOut:
    access = _access(session, slug, user)
    m = memberships.approve_request(session, circle=access.circle, membership_id=membership_id, by=user)
    member = session.get(User, m.user_id)
    return _membership_out(m, member.username if member else "", slug)


@router.post("/circles/{slug}/requests/{membership_id}/decline", response_model=MembershipOut)
def decline(session: SessionDep, user: CurrentUser, slug: str, membership_id: int) -> MembershipOut:
    access = _access(session, slug, user)
    m = memberships.decline_request(session, circle=access.circle, membership_id=membership_id, by=user)
    member = session.get(User, m.user_id)
    return _membership_out(m, member.username if member else "", slug)


@router.delete("/circles/{slug}/membership", status_code=204)
def leave(session: SessionDep, user: CurrentUser, slug: str) -> None:
    access = _access(session, slug, user)
    memberships.leave(session, circle=access.circle, user=user)


@router.delete("/circles/{slug}/members/{username}", status_code=204)
def remove_member(session: SessionDep, user: CurrentUser, slug: str, username: str) -> None:
    access = _access(session, slug, user)
    permissions.require_moderate(access)
    from app.services import profiles

    member = profiles.get_user(session, username)
    memberships.remove_member(session, circle=access.circle, user_id=member.id, by=user)  # type: ignore[arg-type]


@router.put("/circles/{slug}/hosts/{username}", response_model=MembershipOut)
def add_host(session: SessionDep, user: CurrentUser, slug: str, username: str) -> MembershipOut:
    # Admins only, checked first: anyone else gets the same 403 whether the circle exists or not.
    permissions.require_admin(user)
    access = _access(session, slug, user)
    from app.services import profiles

    member = profiles.get_user(session, username)
    m = memberships.set_host(session, circle=access.circle, user=member, host=True, by=user)
    return _membership_out(m, member.username, slug)


@router.get("/invites", response_model=list[InviteOut])
def list_invites(session: SessionDep, user: CurrentUser, circle: str | None = None) -> list[InviteOut]:
    scope = permissions.require_read(_access(session, circle, user)).circle if circle else None
    return [InviteOut.of(i, invites.invite_url(i), circle) for i in invites.list_invites(session, by=user, circle=scope)]


@router.post("/invites", response_model=InviteOut, status_code=201)
def create_invite(session: SessionDep, user: CurrentUser, body: InviteIn) -> InviteOut:
    scope = permissions.require_read(_access(session, body.circle, user)).circle if body.circle else None
    invite = invites.create_invite(session, by=user, circle=scope, expires_in_days=body.expires_in_days,
                                   max_uses=body.max_uses, note=body.note)
    return InviteOut.of(invite, invites.invite_url(invite), body.circle)


@router.delete("/invites/{invite_id}", status_code=204)
def revoke_invite(session: SessionDep, user: CurrentUser, invite_id: int) -> None:
    invites.revoke_invite(session, invite_id=invite_id, by=user)


@router.post("/invites/{code}/accept", response_model=MembershipOut | None)
def accept_invite(session: SessionDep, user: CurrentUser, code: str) -> MembershipOut | None:
    invite = invites.find_usable(session, code)
    if invite is None:
        raise Invalid(_("This invite link is not valid any more."))
    membership = invites.accept_invite(session, invite=invite, user=user)
    circle = invites.invite_circle(session, invite)
    return _membership_out(membership, user.username, circle.slug) if membership and circle else None
