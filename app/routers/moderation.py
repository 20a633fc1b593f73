"""The review queue, the audit log, and moderators' actions on posts, threads, circles, members."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app import permissions
from app.deps import AdminUser, CurrentUser, SessionDep
from app.errors import Forbidden, Invalid, RateLimited
from app.i18n import _
from app.models import Post, Thread
from app.permissions import CircleAccess
from app.services import audit_log, circles, flags, memberships, moderation, posts, profiles, threads
from app.web import is_htmx, redirect_with_flash, render

router = APIRouter(tags=["moderation"])
FormStr = Annotated[str, Form()]


def _require_some_moderation(session: SessionDep, user: CurrentUser) -> None:
    if not (user.is_admin or session.exec(permissions.moderated_circle_ids(user)).first()):  # type: ignore[call-overload]
        raise Forbidden(_("Only administrators and hosts may do this."))


@router.get("/mod")
def queue(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    _require_some_moderation(session, user)
    return render(request, "moderation/queue.html", {
        "flagged": flags.flagged_posts(session, viewer=user),
        "held": flags.held_posts(session, viewer=user),
        "requests": flags.pending_requests(session, viewer=user),
        "reason_labels": flags.REASON_LABELS,
    }, session=session)


@router.get("/mod/log")
def log(request: Request, session: SessionDep, user: CurrentUser, circle: str = "", action: str = "",
        actor: str = "", page: int = 1) -> Response:
    _require_some_moderation(session, user)
    scope = circles.get_by_slug(session, circle) if circle else None
    if scope is not None:
        # The log of a circle one does not host answers like a missing circle's (no existence leak).
        permissions.require_moderate(permissions.circle_access(session, user, scope))
    rows = audit_log.entries(session, viewer=user, circle=scope, action=action, actor=actor, page=page)
    return render(request, "moderation/log.html", {
        "rows": rows, "circle": circle, "action": action, "actor": actor, "page": page,
        "actions": audit_log.ACTIONS, "circles": audit_log.visible_circles(session, viewer=user),
    }, session=session)


def _post_for_moderation(session: SessionDep, user: CurrentUser, post_id: int) -> tuple[Post, Thread, CircleAccess]:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    permissions.require_moderate(access)
    return post, thread, access


@router.post("/mod/posts/{post_id}/{action}")
def act_on_post(request: Request, session: SessionDep, user: CurrentUser, post_id: int, action: str,
                reason: FormStr = "", next: FormStr = "/mod") -> Response:
    post, thread, access = _post_for_moderation(session, user, post_id)
    target = next if next.startswith("/") and not next.startswith("//") else "/mod"
    try:
        if action == "keep":
            moderation.keep_post(session, post=post, thread=thread, access=access, by=user)
            message = _("The flags are dismissed; the post stays.")
        elif action == "hide":
            moderation.hide_post(session, post=post, thread=thread, access=access, by=user, reason=reason)
            message = _("The post is hidden and its author is told why.")
        elif action in ("restore", "approve"):
            moderation.restore_post(session, post=post, thread=thread, access=access, by=user, reason=reason)
            message = _("The post is visible.")
        elif action == "delete":
            moderation.delete_post(session, post=post, thread=thread, access=access, by=user, reason=reason)
            message = _("The post is deleted.")
        elif action == "warn":
            moderation.warn_author(session, post=post, thread=thread, access=access, by=user, text=reason)
            message = _("The author received your private notice.")
        else:
            raise Invalid(_("Unknown action."))
    except Invalid as error:
        return redirect_with_flash(target, error.message)
    return redirect_with_flash(target, message)


@router.post("/p/{post_id}/flag")
def flag(request: Request, session: SessionDep, user: CurrentUser, post_id: int, reason: FormStr = "",
         text: FormStr = "") -> Response:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    back = f"/t/{thread.id}?page={threads.page_of_number(post.number)}#p{post.number}"
    try:
        flags.flag_post(session, post=post, thread=thread, access=access, user=user, reason=reason, text=text)
    except (Invalid, RateLimited, Forbidden) as error:
        if is_htmx(request):
            return render(request, "moderation/_flag_result.html", {"post": post, "error": error.message},
                          session=session, status_code=422)
        return redirect_with_flash(back, error.message)
    if is_htmx(request):
        return render(request, "moderation/_flag_result.html", {"post": post}, session=session)
    return redirect_with_flash(back, _("Thank you: the hosts will look at this post."))


@router.post("/t/{thread_id}/{action}")
def act_on_thread(session: SessionDep, user: CurrentUser, thread_id: int, action: str, reason: FormStr = "",
                  circle: FormStr = "") -> Response:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    actions = {"lock": ("locked", True), "unlock": ("locked", False), "pin": ("pinned", True),
               "unpin": ("pinned", False)}
    if action in actions:
        flag_name, value = actions[action]
        moderation.set_thread_flag(session, thread=thread, access=access, by=user, flag=flag_name, value=value,
                                   reason=reason)
        return redirect_with_flash(f"/t/{thread.id}", _("Done."))
    if action == "move":
        target = circles.get_by_slug(session, circle)
        try:
            moderation.move_thread(session, thread=thread, access=access, by=user, target=target, reason=reason)
        except Invalid as error:
            return redirect_with_flash(f"/t/{thread.id}", error.message)
        return redirect_with_flash(f"/t/{thread.id}", _("The thread is now in %(circle)s.", circle=target.name))
    raise Invalid(_("Unknown action."))


@router.post("/c/{slug}/rules")
def circle_rules(session: SessionDep, user: CurrentUser, slug: str, read_only: FormStr = "",
                 slow_mode_seconds: FormStr = "0", hold_first_posts: FormStr = "0") -> Response:
    circle = circles.get_by_slug(session, slug)
    # Checked before the numbers are read: a non-member's bad form answers like a missing circle.
    access = permissions.require_moderate(permissions.require_card(permissions.circle_access(session, user, circle)))
    try:
        moderation.set_circle_rules(session, access=access, by=user, read_only=bool(read_only),
                                    slow_mode_seconds=_int(slow_mode_seconds), hold_first_posts=_int(hold_first_posts))
    except Invalid as error:
        return redirect_with_flash(f"/c/{slug}/settings#rules", error.message)
    return redirect_with_flash(f"/c/{slug}/settings#rules", _("The circle's rules are saved."))


def _int(value: str) -> int:
    try:
        return int(value.strip() or "0")
    except ValueError:
        raise Invalid(_("Enter a whole number.")) from None


@router.post("/c/{slug}/members/{user_id}/allow-back")
def allow_back(session: SessionDep, user: CurrentUser, slug: str, user_id: int) -> Response:
    circle = circles.get_by_slug(session, slug)
    memberships.allow_back(session, circle=circle, user_id=user_id, by=user)
    return redirect_with_flash(f"/c/{slug}/members", _("They may join again."))


@router.post("/u/{username}/suspend")
def suspend(session: SessionDep, admin: AdminUser, username: str, days: FormStr = "7", reason: FormStr = "") -> Response:
    member = profiles.get_user(session, username)
    try:
        moderation.suspend(session, user=member, by=admin, days=_int(days), reason=reason)
    except (Invalid, Forbidden) as error:
        return redirect_with_flash(f"/u/{member.username}", error.message)
    return redirect_with_flash(f"/u/{member.username}", _("%(name)s is suspended.", name=member.name))


@router.post("/u/{username}/unsuspend")
def unsuspend(session: SessionDep, admin: AdminUser, username: str) -> Response:
    member = profiles.get_user(session, username)
    moderation.unsuspend(session, user=member, by=admin)
    return redirect_with_flash(f"/u/{member.username}", _("The suspension is lifted."))
