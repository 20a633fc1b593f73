"""Search, notifications, profiles and invite links."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from app import permissions
from app.deps import CurrentUser, OptionalUser, SessionDep
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import _
from app.services import circles, invites, notifications, profiles, search
from app.web import redirect, redirect_with_flash, render

router = APIRouter(tags=["community"])


@router.get("/search")
def search_page(request: Request, session: SessionDep, user: CurrentUser, q: str = "", circle: str = "",
                page: int = 1) -> Response:
    scope = None
    if circle:
        scope = circles.get_by_slug(session, circle)
        permissions.require_read(permissions.circle_access(session, user, scope))
    hits = search.search(session, viewer=user, q=q, circle=scope, page=page)
    readable = [entry for entry in circles.directory(session, viewer=user) if entry.state == "active"
                or (entry.circle.visibility == "open")]
    return render(request, "search/page.html",
                  {"q": q, "hits": hits, "scope": scope, "page": page, "circles": readable},
                  session=session, fragment="search/_results.html")


@router.get("/notifications")
def notifications_page(request: Request, session: SessionDep, user: CurrentUser, page: int = 1) -> Response:
    rows = notifications.list_for(session, viewer=user, page=page)
    return render(request, "notifications/page.html", {"rows": rows, "page": page}, session=session)


@router.get("/notifications/count", include_in_schema=False)
def notifications_count(session: SessionDep, user: OptionalUser) -> Response:
    count = notifications.unread_count(session, viewer=user) if user else 0
    label = _("%(n)s unread", n=count)
    html = f'<span class="badge-count" title="{escape(label)}">{count}</span>' if count else ""
    return HTMLResponse(html)


@router.post("/notifications/read")
def read_all(session: SessionDep, user: CurrentUser) -> Response:
    notifications.mark_read(session, viewer=user)
    return redirect_with_flash("/notifications", _("All notifications are marked as read."))


@router.post("/notifications/{notification_id}/read")
def read_one(session: SessionDep, user: CurrentUser, notification_id: int) -> Response:
    notifications.mark_read(session, viewer=user, notification_id=notification_id)
    return redirect("/notifications")


@router.get("/u/{username}")
def profile_page(request: Request, session: SessionDep, user: OptionalUser, username: str) -> Response:
    if user is None:
        from app.errors import SignInRequired

        raise SignInRequired(_("Please sign in to continue."))
    found = profiles.profile(session, username=username, viewer=user)
    return render(request, "users/profile.html", {"profile": found}, session=session)


@router.get("/invite/{code}")
def invite_page(request: Request, session: SessionDep, user: OptionalUser, code: str) -> Response:
    invite = invites.find_usable(session, code)
    circle = invites.invite_circle(session, invite) if invite else None
    if invite is None:
        return render(request, "invites/invalid.html", session=session, status_code=404)
    if user is None:
        return redirect(f"/register?invite={code}")
    return render(request, "invites/accept.html", {"invite": invite, "circle": circle}, session=session)


@router.post("/invite/{code}/accept")
def accept_invite(session: SessionDep, user: CurrentUser, code: str) -> Response:
    invite = invites.find_usable(session, code)
    if invite is None:
        raise NotFound()
    invites.accept_invite(session, invite=invite, user=user)
    circle = invites.invite_circle(session, invite)
    if circle is None:
        return redirect("/")
    return redirect_with_flash(f"/c/{circle.slug}", _("Welcome to %(circle)s!", circle=circle.name))


@router.get("/invites")
def site_invites(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    rows = invites.list_invites(session, by=user, circle=None)
    return render(request, "invites/site.html", {"invites": rows, "values": {}, "errors": {}}, session=session)


@router.post("/invites")
def create_site_invite(request: Request, session: SessionDep, user: CurrentUser,
                       expires_in_days: Annotated[str, Form()] = "14", max_uses: Annotated[str, Form()] = "",
                       note: Annotated[str, Form()] = "") -> Response:
    try:
        invite = invites.create_invite(
            session, by=user, circle=None,
            expires_in_days=int(expires_in_days) if expires_in_days.strip().isdigit() else None,
            max_uses=int(max_uses) if max_uses.strip().isdigit() else None, note=note,
        )
    except (Invalid, Forbidden) as error:
        rows = invites.list_invites(session, by=user, circle=None)
        return render(request, "invites/site.html",
                      {"invites": rows, "values": {"expires_in_days": expires_in_days, "max_uses": max_uses,
                                                   "note": note},
                       "errors": error.fields, "error": error.message},
                      session=session, status_code=error.status_code)
    return redirect_with_flash("/invites", _("Invite link ready: %(url)s", url=invites.invite_url(invite)))


@router.post("/invites/{invite_id}/revoke")
def revoke_invite(request: Request, session: SessionDep, user: CurrentUser, invite_id: int) -> Response:
    invite = invites.revoke_invite(session, invite_id=invite_id, by=user)
    circle = invites.invite_circle(session, invite)
    target = f"/c/{circle.slug}/settings#invites" if circle else "/invites"
    return redirect_with_flash(target, _("The invite link is revoked."))
