"""The review queue, the audit log, and moderators' actions on posts, threads, circles, members."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app import permissions
from app.deps import AdminUser, CurrentUser, SessionDep
from app.errors import DomainError, Forbidden, Invalid, NotFound, RateLimited
from app.i18n import _
from app.models import Post, Thread
from app.permissions import CircleAccess
from app.routers.circles import _settings_page as circle_settings_page
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
    return _queue_page(request, session, user)


def _queue_page(request: Request, session: SessionDep, user: CurrentUser, *, status_code: int = 200,
                **extra: object) -> Response:
    context: dict[str, object] = {
        "flagged": flags.flagged_posts(session, viewer=user),
        "held": flags.held_posts(session, viewer=user),
        "requests": flags.pending_requests(session, viewer=user),
        "reason_labels": flags.REASON_LABELS,
    }
    context.update(extra)
    return render(request, "moderation/queue.html", context, session=session, status_code=status_code)


def _thread_page(request: Request, session: SessionDep, thread: Thread, access: CircleAccess, *, page: int,
                 error: DomainError, **extra: object) -> Response:
    """The thread page again, with the message and what was typed: a refused form loses nothing."""
    view = threads.thread_page(session, thread=thread, access=access, page=page)
    context: dict[str, object] = {"view": view, "values": {}, "errors": {}, "page_error": error.message}
    context.update(extra)
    return _with_retry_after(render(request, "threads/page.html", context, session=session,
                                    status_code=error.status_code), error)


def _with_retry_after(response: Response, error: DomainError) -> Response:
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


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
        # The form comes back where it was sent from (the thread or the queue), still holding the reason.
        session.rollback()
        sent = {"post_id": post.id, "action": action, "reason": reason, "error": error.message}
        if target.startswith("/t/"):
            return _thread_page(request, session, thread, access, page=threads.page_of_number(post.number),
                                error=error, mod_form=sent)
        return _queue_page(request, session, user, status_code=error.status_code, page_error=error.message,
                           mod_form=sent)
    return redirect_with_flash(target, message)


@router.post("/p/{post_id}/flag")
def flag(request: Request, session: SessionDep, user: CurrentUser, post_id: int, reason: FormStr = "",
         text: FormStr = "") -> Response:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    back = f"/t/{thread.id}?page={threads.page_of_number(post.number)}#p{post.number}"
    try:
        flags.flag_post(session, post=post, thread=thread, access=access, user=user, reason=reason, text=text)
    except (Invalid, RateLimited, Forbidden) as error:
        # 422 for a bad form, 429 over the daily limit: the form comes back open with what was typed.
        session.rollback()
        sent = {"post_id": post.id, "reason": reason, "text": text, "error": error.message}
        if is_htmx(request):
            return _with_retry_after(render(request, "moderation/_flag_form.html", {"post": post, "flag_form": sent},
                                            session=session, status_code=error.status_code), error)
        return _thread_page(request, session, thread, access, page=threads.page_of_number(post.number),
                            error=error, flag_form=sent)
    if is_htmx(request):
        return render(request, "moderation/_flag_result.html", {"post": post}, session=session)
    return redirect_with_flash(back, _("Thank you: the hosts will look at this post."))


@router.post("/t/{thread_id}/{action}")
def act_on_thread(request: Request, session: SessionDep, user: CurrentUser, thread_id: int, action: str,
                  reason: FormStr = "", circle: FormStr = "") -> Response:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    permissions.require_moderate(access)
    actions = {"lock": ("locked", True), "unlock": ("locked", False), "pin": ("pinned", True),
               "unpin": ("pinned", False)}
    try:
        if action in actions:
            flag_name, value = actions[action]
            moderation.set_thread_flag(session, thread=thread, access=access, by=user, flag=flag_name, value=value,
                                       reason=reason)
            return redirect_with_flash(f"/t/{thread.id}", _("Done."))
        if action != "move":
            raise Invalid(_("Unknown action."))
        try:
            target = circles.get_by_slug(session, circle.strip())
            moderation.move_thread(session, thread=thread, access=access, by=user, target=target, reason=reason)
        except NotFound:
            # A missing circle and one the host may not read answer alike (no existence leak).
            raise Invalid(_("No circle you host has this address."), circle=_("Not found.")) from None
        return redirect_with_flash(f"/t/{thread.id}", _("The thread is now in %(circle)s.", circle=target.name))
    except (Invalid, Forbidden) as error:
        session.rollback()
        sent = {"action": action, "circle": circle, "reason": reason, "error": error.message}
        return _thread_page(request, session, thread, access, page=1, error=error, thread_form=sent)


@router.post("/c/{slug}/rules")
def circle_rules(request: Request, session: SessionDep, user: CurrentUser, slug: str, read_only: FormStr = "",
                 slow_mode_seconds: FormStr = "0", hold_first_posts: FormStr = "0") -> Response:
    circle = circles.get_by_slug(session, slug)
    # Checked before the numbers are read: a non-member's bad form answers like a missing circle.
    access = permissions.require_moderate(permissions.require_card(permissions.circle_access(session, user, circle)))
    try:
        numbers = {name: _int(value, name) for name, value in (("slow_mode_seconds", slow_mode_seconds),
                                                               ("hold_first_posts", hold_first_posts))}
        moderation.set_circle_rules(session, access=access, by=user, read_only=bool(read_only),
                                    slow_mode_seconds=numbers["slow_mode_seconds"],
                                    hold_first_posts=numbers["hold_first_posts"])
    except Invalid as error:
        session.rollback()
        sent = {"read_only": bool(read_only), "slow_mode_seconds": slow_mode_seconds,
                "hold_first_posts": hold_first_posts}
        return circle_settings_page(request, session, access, user, status_code=error.status_code,
                                    rules_values=sent, rules_errors=error.fields, rules_error=error.message)
    return redirect_with_flash(f"/c/{slug}/settings#rules", _("The circle's rules are saved."))


def _int(value: str, field: str) -> int:
    try:
        return int(value.strip() or "0")
    except ValueError:
        raise Invalid(_("Enter a whole number."), **{field: _("Enter a whole number.")}) from None


@router.post("/c/{slug}/members/{user_id}/allow-back")
def allow_back(session: SessionDep, user: CurrentUser, slug: str, user_id: int) -> Response:
    circle = circles.get_by_slug(session, slug)
    memberships.allow_back(session, circle=circle, user_id=user_id, by=user)
    return redirect_with_flash(f"/c/{slug}/members", _("They may join again."))


@router.post("/u/{username}/suspend")
def suspend(request: Request, session: SessionDep, admin: AdminUser, username: str, days: FormStr = "7",
            reason: FormStr = "") -> Response:
    member = profiles.get_user(session, username)
    try:
        moderation.suspend(session, user=member, by=admin, days=_int(days, "days"), reason=reason)
    except (Invalid, Forbidden) as error:
        session.rollback()
        sent = {"days": days, "reason": reason, "error": error.message, "errors": error.fields}
        return render(request, "users/profile.html",
                      {"profile": profiles.profile(session, username=member.username, viewer=admin),
                       "suspend_form": sent}, session=session, status_code=error.status_code)
    return redirect_with_flash(f"/u/{member.username}", _("%(name)s is suspended.", name=member.name))


@router.post("/u/{username}/unsuspend")
def unsuspend(session: SessionDep, admin: AdminUser, username: str) -> Response:
    member = profiles.get_user(session, username)
    moderation.unsuspend(session, user=member, by=admin)
    return redirect_with_flash(f"/u/{member.username}", _("The suspension is lifted."))
