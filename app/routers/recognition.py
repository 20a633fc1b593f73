"""Badges, awards, the ambassador program and the member pulse."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app import permissions
from app.deps import AdminUser, CurrentUser, SessionDep
from app.errors import Forbidden, Invalid
from app.i18n import _
from app.icons import ICONS
from app.models.recognition import TIERS
from app.services import ambassadors, badges, circles, profiles, pulse
from app.web import is_htmx, redirect_with_flash, render

router = APIRouter(tags=["recognition"])
FormStr = Annotated[str, Form()]


@router.get("/badges")
def badges_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    badges.ensure_catalog(session)
    return render(request, "badges/index.html", {"rows": badges.all_badges(session)}, session=session)


@router.get("/badges/{slug}")
def badge_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    badge = badges.get_badge(session, slug)
    return render(request, "badges/badge.html", {"badge": badge, "holders": badges.holders(session, badge=badge)},
                  session=session)


def _admin_badges(request: Request, session: SessionDep, status_code: int = 200, **extra: object) -> Response:
    badges.ensure_catalog(session)
    context: dict[str, object] = {"rows": badges.all_badges(session), "values": {}, "errors": {},
                                  "icons": ICONS, "tiers": TIERS, "admin_tab": "badges"}
    context.update(extra)
    return render(request, "admin/badges.html", context, session=session, status_code=status_code)


@router.get("/admin/badges")
def admin_badges(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return _admin_badges(request, session)


@router.post("/admin/badges")
def create_badge(request: Request, session: SessionDep, admin: AdminUser, name: FormStr = "",
                 description: FormStr = "", tier: FormStr = "bronze", icon: FormStr = "star") -> Response:
    try:
        badge = badges.create_badge(session, by=admin, name=name, description=description, tier=tier, icon=icon)
    except Invalid as error:
        values = {"name": name, "description": description, "tier": tier, "icon": icon}
        return _admin_badges(request, session, status_code=422, values=values, errors=error.fields,
                             error=error.message)
    return redirect_with_flash("/admin/badges", _("The badge “%(name)s” is ready to award.", name=badge.name))


@router.post("/u/{username}/badges")
def award_badge(session: SessionDep, user: CurrentUser, username: str, badge: FormStr = "",
                reason: FormStr = "", circle: FormStr = "") -> Response:
    member = profiles.get_user(session, username)
    target = badges.get_badge(session, badge)
    scope = circles.get_by_slug(session, circle) if circle else None
    try:
        badges.award_manual(session, badge=target, user=member, by=user, reason=reason, circle=scope)
    except Invalid as error:
        return redirect_with_flash(f"/u/{member.username}#recognise", error.message)
    return redirect_with_flash(f"/u/{member.username}", _("%(name)s received the badge “%(badge)s”.",
                                                          name=member.name, badge=target.name))


@router.post("/awards/{award_id}/revoke")
def revoke_award(session: SessionDep, user: CurrentUser, award_id: int, reason: FormStr = "") -> Response:
    award = badges.revoke_award(session, award_id=award_id, by=user, reason=reason)
    member = session.get(profiles.User, award.user_id)
    return redirect_with_flash(f"/u/{member.username if member else ''}", _("The badge is taken back."))


@router.post("/u/{username}/ambassador")
def grant_ambassador(session: SessionDep, user: CurrentUser, username: str, reason: FormStr = "",
                     next: FormStr = "") -> Response:
    member = profiles.get_user(session, username)
    target = next if next.startswith("/admin/") else f"/u/{member.username}"
    try:
        ambassadors.grant(session, member=member, by=user, reason=reason)
    except Invalid as error:
        return redirect_with_flash(target, error.message)
    return redirect_with_flash(target, _("%(name)s is now an ambassador.", name=member.name))


@router.post("/u/{username}/ambassador/revoke")
def revoke_ambassador(session: SessionDep, user: CurrentUser, username: str, reason: FormStr = "") -> Response:
    member = profiles.get_user(session, username)
    try:
        ambassadors.revoke(session, member=member, by=user, reason=reason)
    except Invalid as error:
        return redirect_with_flash(f"/u/{member.username}", error.message)
    return redirect_with_flash(f"/u/{member.username}", _("%(name)s is no longer an ambassador.", name=member.name))


@router.get("/admin/ambassadors")
def ambassadors_page(request: Request, session: SessionDep, user: CurrentUser, promote: str = "") -> Response:
    if not (user.is_admin or session.exec(permissions.moderated_circle_ids(user)).first()):  # type: ignore[call-overload]
        raise Forbidden(_("Only administrators and hosts may do this."))
    from app.services.recognition_candidates import LISTED, candidates_for

    return render(request, "admin/ambassadors.html", {
        "current": ambassadors.current(session),
        "history": ambassadors.history(session),
        "candidates": candidates_for(session, viewer=user),
        "candidates_listed": LISTED,
        "promote": promote,
        "admin_tab": "ambassadors",
    }, session=session)


@router.post("/pulse")
def answer_pulse(request: Request, session: SessionDep, user: CurrentUser, score: FormStr = "",
                 comment: FormStr = "") -> Response:
    try:
        pulse.answer(session, user=user, score=score, comment=comment)
    except Invalid as error:
        if is_htmx(request):
            return render(request, "recognition/_pulse.html", {"pulse_error": error.message, "ask_pulse": True,
                                                               "values": {"score": score, "comment": comment}},
                          session=session, status_code=422)
        return redirect_with_flash("/", error.message)
    if is_htmx(request):
        return render(request, "recognition/_pulse.html", {"pulse_thanks": True}, session=session)
    return redirect_with_flash("/", _("Thank you for your answer!"))


@router.post("/pulse/dismiss")
def dismiss_pulse(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    pulse.dismiss(session, user=user)
    if is_htmx(request):
        return render(request, "recognition/_pulse.html", {}, session=session)
    return redirect_with_flash("/", _("We will not ask again for a while."))


@router.get("/admin/pulse")
def pulse_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return render(request, "admin/pulse.html", {"answers": pulse.answers(session), "trend": pulse.trend(session),
                                                "admin_tab": "pulse"}, session=session)
