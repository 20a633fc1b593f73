"""Site administration: settings, circles and their hosts."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.deps import AdminUser, SessionDep
from app.errors import Invalid, NotFound
from app.i18n import _
from app.models import User
from app.services import circles, memberships, profiles, site
from app.web import forget_site_config, redirect_with_flash, render

router = APIRouter(tags=["admin"])
FormStr = Annotated[str, Form()]


@router.get("/admin")
def admin_home(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return render(request, "admin/site.html", {"values": {}, "errors": {}, "admin_tab": "site"}, session=session)


@router.post("/admin/site")
def save_site(
    request: Request, session: SessionDep, admin: AdminUser,
    name: FormStr = "", description: FormStr = "", accent_colour: FormStr = "",
    logo_url: FormStr = "", registration: FormStr = "",
) -> Response:
    values = {"name": name, "description": description, "accent_colour": accent_colour,
              "logo_url": logo_url, "registration": registration}
    try:
        site.update(session, **values)
    except Invalid as error:
        return render(request, "admin/site.html",
                      {"values": values, "errors": error.fields, "error": error.message, "admin_tab": "site"},
                      session=session, status_code=422)
    forget_site_config()
    return redirect_with_flash("/admin", _("The site settings are saved."))


def _circles_page(request: Request, session: SessionDep, admin: User, status_code: int = 200, **extra: object) -> Response:
    context: dict[str, object] = {
        "entries": circles.directory(session, viewer=admin, include_archived=True),
        "values": {}, "errors": {}, "admin_tab": "circles",
    }
    context.update(extra)
    return render(request, "admin/circles.html", context, session=session, status_code=status_code)


@router.get("/admin/circles")
def admin_circles(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return _circles_page(request, session, admin)


@router.post("/admin/circles")
def create_circle(
    request: Request, session: SessionDep, admin: AdminUser,
    slug: FormStr = "", name: FormStr = "", description: FormStr = "",
    visibility: FormStr = "open", member_invites: FormStr = "",
) -> Response:
    try:
        circle = circles.create_circle(session, by=admin, slug=slug, name=name, description=description,
                                       visibility=visibility, member_invites=bool(member_invites))
    except Invalid as error:
        values = {"slug": slug, "name": name, "description": description, "visibility": visibility}
        return _circles_page(request, session, admin, status_code=422, values=values,
                             errors=error.fields, error=error.message)
    return redirect_with_flash(f"/c/{circle.slug}/settings", _("The circle is created. Now choose its hosts."))


@router.post("/c/{slug}/archive")
def archive_circle(session: SessionDep, admin: AdminUser, slug: str, archived: FormStr = "1") -> Response:
    circle = circles.get_by_slug(session, slug)
    circles.set_archived(session, circle=circle, by=admin, archived=archived == "1")
    message = _("The circle is archived.") if archived == "1" else _("The circle is active again.")
    return redirect_with_flash("/admin/circles", message)


@router.post("/c/{slug}/hosts")
def add_host(session: SessionDep, admin: AdminUser, slug: str, username: FormStr = "") -> Response:
    circle = circles.get_by_slug(session, slug)
    try:
        user = profiles.get_user(session, username.strip().lstrip("@"))
    except NotFound:
        return redirect_with_flash(f"/c/{slug}/settings#hosts", _("No member is called %(name)s.", name=username))
    memberships.set_host(session, circle=circle, user=user, host=True, by=admin)
    return redirect_with_flash(f"/c/{slug}/settings#hosts", _("%(name)s now hosts this circle.", name=user.name))


@router.post("/c/{slug}/hosts/{user_id}/remove")
def remove_host(session: SessionDep, admin: AdminUser, slug: str, user_id: int) -> Response:
    circle = circles.get_by_slug(session, slug)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    memberships.set_host(session, circle=circle, user=user, host=False, by=admin)
    return redirect_with_flash(f"/c/{slug}/settings#hosts", _("%(name)s no longer hosts this circle.", name=user.name))
