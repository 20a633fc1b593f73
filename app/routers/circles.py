"""Circle pages: directory, circle, membership, requests, members, settings, invites."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app import permissions
from app.deps import CurrentUser, OptionalUser, SessionDep
from app.errors import Forbidden, Invalid, RateLimited
from app.i18n import _
from app.models import User
from app.permissions import CircleAccess
from app.services import circles, invites, memberships, threads
from app.services.visits import record_circle_visit
from app.web import redirect, redirect_with_flash, render

router = APIRouter(tags=["circles"])
FormStr = Annotated[str, Form()]


def load(session: SessionDep, slug: str, viewer: User | None) -> CircleAccess:
    circle = circles.get_by_slug(session, slug)
    return permissions.require_card(permissions.circle_access(session, viewer, circle))


@router.get("/c")
def directory(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    return render(request, "circles/directory.html", {"entries": circles.directory(session, viewer=user)}, session=session)


@router.get("/c/{slug}")
def circle_page(request: Request, session: SessionDep, user: OptionalUser, slug: str, page: int = 1) -> Response:
    access = load(session, slug, user)
    if not access.can_read:
        return render(request, "circles/card.html", {"access": access}, session=session)
    assert user is not None
    record_circle_visit(user_id=user.id, circle_id=access.circle.id)  # type: ignore[arg-type]
    rows, pages = threads.circle_threads(session, access=access, page=page)
    return render(
        request, "circles/page.html",
        {"access": access, "rows": rows, "page": page, "pages": pages},
        session=session, fragment="circles/_threads.html",
    )


def _membership_button(request: Request, session: SessionDep, access: CircleAccess) -> Response:
    return render(request, "circles/card.html", {"access": access}, session=session,
                  fragment="circles/_membership.html")


@router.post("/c/{slug}/join")
def join(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    access = load(session, slug, user)
    memberships.join(session, circle=access.circle, user=user)
    access = permissions.circle_access(session, user, access.circle)
    if request.headers.get("hx-request"):
        return _membership_button(request, session, access)
    return redirect_with_flash(f"/c/{slug}", _("Welcome to %(circle)s!", circle=access.circle.name))


@router.post("/c/{slug}/request")
def ask_to_join(request: Request, session: SessionDep, user: CurrentUser, slug: str, message: FormStr = "") -> Response:
    access = load(session, slug, user)
    try:
        memberships.request_to_join(session, circle=access.circle, user=user, message=message)
    except Invalid as error:
        return render(request, "circles/card.html", {"access": access, "error": error.message, "message": message},
                      session=session, status_code=422)
    return redirect_with_flash(f"/c/{slug}", _("Your request is sent. A host will answer it soon."))


@router.post("/c/{slug}/request/cancel")
def cancel_request(session: SessionDep, user: CurrentUser, slug: str) -> Response:
    access = load(session, slug, user)
    memberships.cancel_request(session, circle=access.circle, user=user)
    return redirect_with_flash(f"/c/{slug}", _("Your request is withdrawn."))


@router.post("/c/{slug}/leave")
def leave(session: SessionDep, user: CurrentUser, slug: str) -> Response:
    access = load(session, slug, user)
    memberships.leave(session, circle=access.circle, user=user)
    target = f"/c/{slug}" if access.circle.visibility != "secret" else "/"
    return redirect_with_flash(target, _("You left %(circle)s.", circle=access.circle.name))


@router.get("/c/{slug}/members")
def members(request: Request, session: SessionDep, user: CurrentUser, slug: str, page: int = 1) -> Response:
    access = permissions.require_read(load(session, slug, user))
    rows = memberships.members(session, circle=access.circle, page=page)
    return render(request, "circles/members.html", {"access": access, "rows": rows, "page": page}, session=session)


@router.post("/c/{slug}/members/{user_id}/remove")
def remove_member(session: SessionDep, user: CurrentUser, slug: str, user_id: int) -> Response:
    access = load(session, slug, user)
    memberships.remove_member(session, circle=access.circle, user_id=user_id, by=user)
    return redirect_with_flash(f"/c/{slug}/members", _("The member is removed from the circle."))


@router.get("/c/{slug}/requests")
def requests_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    access = load(session, slug, user)
    if not access.can_approve_requests:
        permissions.require_moderate(access)
    rows = memberships.pending_requests(session, circle=access.circle)
    return render(request, "circles/requests.html", {"access": access, "rows": rows}, session=session)


@router.post("/c/{slug}/requests/{membership_id}/{decision}")
def decide_request(session: SessionDep, user: CurrentUser, slug: str, membership_id: int, decision: str) -> Response:
    access = load(session, slug, user)
    if decision == "approve":
        memberships.approve_request(session, circle=access.circle, membership_id=membership_id, by=user)
        message = _("The request is approved.")
    elif decision == "decline":
        memberships.decline_request(session, circle=access.circle, membership_id=membership_id, by=user)
        message = _("The request is declined.")
    else:
        raise Invalid(_("Unknown decision."))
    return redirect_with_flash(f"/c/{slug}/requests", message)


def _settings_page(request: Request, session: SessionDep, access: CircleAccess, user: User,
                   status_code: int = 200, **extra: object) -> Response:
    context: dict[str, object] = {
        "access": access, "values": {}, "errors": {},
        "invites": invites.list_invites(session, by=user, circle=access.circle) if access.can_invite else [],
        "hosts": memberships.host_users(session, circle_id=access.circle.id),  # type: ignore[arg-type]
    }
    context.update(extra)
    return render(request, "circles/settings.html", context, session=session, status_code=status_code)


@router.get("/c/{slug}/settings")
def settings_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    access = load(session, slug, user)
    permissions.require_read(access)
    if not (access.can_moderate or access.can_invite):
        permissions.require_moderate(access)
    return _settings_page(request, session, access, user)


@router.post("/c/{slug}/settings")
def save_settings(
    request: Request, session: SessionDep, user: CurrentUser, slug: str,
    name: FormStr = "", description: FormStr = "", visibility: FormStr = "", member_invites: FormStr = "",
) -> Response:
    access = load(session, slug, user)
    try:
        circles.update_circle(session, circle=access.circle, by=user, name=name, description=description,
                              visibility=visibility or access.circle.visibility, member_invites=bool(member_invites))
    except Invalid as error:
        session.rollback()
        return _settings_page(request, session, access, user, status_code=422,
                              values={"name": name, "description": description},
                              errors=error.fields, error=error.message)
    return redirect_with_flash(f"/c/{slug}/settings", _("The circle is saved."))


@router.post("/c/{slug}/invites")
def create_invite(
    request: Request, session: SessionDep, user: CurrentUser, slug: str,
    expires_in_days: FormStr = "14", max_uses: FormStr = "", note: FormStr = "",
) -> Response:
    access = permissions.require_read(load(session, slug, user))
    try:
        invite = invites.create_invite(
            session, by=user, circle=access.circle,
            expires_in_days=_optional_int(expires_in_days, "expires_in_days"),
            max_uses=_optional_int(max_uses, "max_uses"), note=note,
        )
    except (Invalid, Forbidden) as error:
        return _settings_page(request, session, access, user, status_code=error.status_code,
                              invite_values={"expires_in_days": expires_in_days, "max_uses": max_uses, "note": note},
                              invite_errors=error.fields, invite_error=error.message)
    return redirect_with_flash(f"/c/{slug}/settings#invites", _("Invite link ready: %(url)s", url=invites.invite_url(invite)))


def _optional_int(value: str, field: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid(_("Please correct the highlighted fields."), **{field: _("Enter a whole number.")}) from None


@router.get("/c/{slug}/new")
def new_thread_form(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    access = permissions.require_post(permissions.require_read(load(session, slug, user)))
    return render(request, "threads/new.html", {"access": access, "values": {}, "errors": {}}, session=session)


@router.post("/c/{slug}/new")
def create_thread(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                  title: FormStr = "", body: FormStr = "") -> Response:
    access = permissions.require_read(load(session, slug, user))
    try:
        thread = threads.create_thread(session, circle=access.circle, author=user, title=title, body=body)
    except (Invalid, Forbidden, RateLimited) as error:
        # Refused (bad form 422, read-only 403, slow mode or write limit 429): the text comes back.
        if isinstance(error, Forbidden) and not access.can_post:
            raise  # not a member: no form to give back
        session.rollback()
        response = render(request, "threads/new.html",
                          {"access": access, "values": {"title": title, "body": body}, "errors": error.fields,
                           "error": error.message}, session=session, status_code=error.status_code)
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    return redirect(f"/t/{thread.id}")
