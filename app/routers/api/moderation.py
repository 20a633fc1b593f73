"""Moderation as JSON: flags, the review queue, post/thread/circle/member actions, the audit log."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app import permissions
from app.deps import AdminUser, CurrentUser, SessionDep
from app.errors import Forbidden, Invalid
from app.i18n import _
from app.services import audit_log, circles, flags, memberships, moderation, posts, profiles, threads

router = APIRouter(tags=["api: moderation"])


class FlagIn(BaseModel):
    reason: str = Field(max_length=20)
    text: str = Field(default="", max_length=1000)


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=1000)


class MoveIn(BaseModel):
    circle: str = Field(max_length=60)
    reason: str = Field(default="", max_length=1000)


class RulesIn(BaseModel):
    read_only: bool = False
    slow_mode_seconds: int = Field(default=0, ge=0, le=86_400)
    hold_first_posts: int = Field(default=0, ge=0, le=50)


class SuspendIn(BaseModel):
    days: int = Field(ge=1, le=3650)
    reason: str = Field(max_length=1000)


class QueueItemOut(BaseModel):
    post_id: int
    thread_id: int
    circle: str
    author: str | None
    flags: int
    reasons: list[str]
    hidden: bool


class QueueOut(BaseModel):
    flagged: list[QueueItemOut]
    held: list[int]
    requests: list[int]


class LogEntryOut(BaseModel):
    id: int
    action: str
    actor: str | None
    target: str | None
    circle: str | None
    thread_id: int | None
    post_id: int | None
    detail: str
    reason: str
    created_at: datetime


def _require_some_moderation(session: SessionDep, user: CurrentUser) -> None:
    if not (user.is_admin or session.exec(permissions.moderated_circle_ids(user)).first()):  # type: ignore[call-overload]
        raise Forbidden(_("Only administrators and hosts may do this."))


@router.post("/posts/{post_id}/flags", status_code=201)
def flag_post(session: SessionDep, user: CurrentUser, post_id: int, body: FlagIn) -> dict[str, bool]:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    flags.flag_post(session, post=post, thread=thread, access=access, user=user, reason=body.reason, text=body.text)
    return {"flagged": True}


@router.get("/mod/queue", response_model=QueueOut)
def queue(session: SessionDep, user: CurrentUser) -> QueueOut:
    _require_some_moderation(session, user)
    return QueueOut(
        flagged=[QueueItemOut(post_id=f.post.id, thread_id=f.thread.id, circle=f.circle.slug,  # type: ignore[arg-type]
                              author=None if f.author.is_deleted else f.author.username, flags=f.count,
                              reasons=[r for r, _t in f.reasons], hidden=f.post.hidden)
                 for f in flags.flagged_posts(session, viewer=user)],
        held=[p.id for p, _t, _c, _u in flags.held_posts(session, viewer=user)],  # type: ignore[misc]
        requests=[m.id for m, _u, _c in flags.pending_requests(session, viewer=user)],  # type: ignore[misc]
    )


@router.post("/mod/posts/{post_id}/{action}", status_code=204)
def act_on_post(session: SessionDep, user: CurrentUser, post_id: int, action: str, body: ReasonIn) -> None:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    permissions.require_moderate(access)
    if action == "keep":
        moderation.keep_post(session, post=post, thread=thread, access=access, by=user)
    elif action == "hide":
        moderation.hide_post(session, post=post, thread=thread, access=access, by=user, reason=body.reason)
    elif action in ("restore", "approve"):
        moderation.restore_post(session, post=post, thread=thread, access=access, by=user, reason=body.reason)
    elif action == "delete":
        moderation.delete_post(session, post=post, thread=thread, access=access, by=user, reason=body.reason)
    elif action == "warn":
        moderation.warn_author(session, post=post, thread=thread, access=access, by=user, text=body.reason)
    else:
        raise Invalid(_("Unknown action."))


@router.post("/threads/{thread_id}/moderation/{action}", status_code=204)
def act_on_thread(session: SessionDep, user: CurrentUser, thread_id: int, action: str, body: ReasonIn) -> None:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    actions = {"lock": ("locked", True), "unlock": ("locked", False), "pin": ("pinned", True),
               "unpin": ("pinned", False)}
    if action not in actions:
        raise Invalid(_("Unknown action."))
    flag_name, value = actions[action]
    moderation.set_thread_flag(session, thread=thread, access=access, by=user, flag=flag_name, value=value,
                               reason=body.reason)


@router.post("/threads/{thread_id}/move", status_code=204)
def move_thread(session: SessionDep, user: CurrentUser, thread_id: int, body: MoveIn) -> None:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    target = circles.get_by_slug(session, body.circle)
    moderation.move_thread(session, thread=thread, access=access, by=user, target=target, reason=body.reason)


@router.put("/circles/{slug}/rules", status_code=204)
def circle_rules(session: SessionDep, user: CurrentUser, slug: str, body: RulesIn) -> None:
    circle = circles.get_by_slug(session, slug)
    access = permissions.require_card(permissions.circle_access(session, user, circle))
    moderation.set_circle_rules(session, access=access, by=user, read_only=body.read_only,
                                slow_mode_seconds=body.slow_mode_seconds, hold_first_posts=body.hold_first_posts)


@router.post("/circles/{slug}/members/{username}/allow-back", status_code=204)
def allow_back(session: SessionDep, user: CurrentUser, slug: str, username: str) -> None:
    circle = circles.get_by_slug(session, slug)
    permissions.require_card(permissions.circle_access(session, user, circle))
    member = profiles.get_user(session, username)
    memberships.allow_back(session, circle=circle, user_id=member.id, by=user)  # type: ignore[arg-type]


@router.post("/users/{username}/suspension", status_code=204)
def suspend(session: SessionDep, admin: AdminUser, username: str, body: SuspendIn) -> None:
    member = profiles.get_user(session, username)
    moderation.suspend(session, user=member, by=admin, days=body.days, reason=body.reason)


@router.delete("/users/{username}/suspension", status_code=204)
def unsuspend(session: SessionDep, admin: AdminUser, username: str) -> None:
    member = profiles.get_user(session, username)
    moderation.unsuspend(session, user=member, by=admin)


@router.get("/mod/log", response_model=list[LogEntryOut])
def log(session: SessionDep, user: CurrentUser, circle: str = "", action: str = "", actor: str = "",
        page: int = 1) -> list[LogEntryOut]:
    _require_some_moderation(session, user)
    scope = circles.get_by_slug(session, circle) if circle else None
    if scope is not None:
        # The log of a circle one does not host answers like a missing circle's (no existence leak).
        permissions.require_moderate(permissions.circle_access(session, user, scope))
    return [
        LogEntryOut(id=a.id, action=a.action, actor=u.username if u else None,  # type: ignore[arg-type]
                    target=t.username if t else None, circle=c.slug if c else None, thread_id=a.thread_id,
                    post_id=a.post_id, detail=a.detail, reason=a.reason, created_at=a.created_at)
        for a, u, t, c in audit_log.entries(session, viewer=user, circle=scope, action=action, actor=actor, page=page)
    ]
