"""Search, notifications and profiles as JSON."""

from fastapi import APIRouter

from app import permissions
from app.deps import CurrentUser, SessionDep
from app.routers.api.schemas import NotificationOut, PostOut, ProfileOut, SearchHitOut, UserOut
from app.services import circles, notifications, profiles, search

router = APIRouter(tags=["api: community"])


@router.get("/search", response_model=list[SearchHitOut])
def search_posts(session: SessionDep, user: CurrentUser, q: str = "", circle: str | None = None,
                 page: int = 1) -> list[SearchHitOut]:
    scope = None
    if circle:
        scope = circles.get_by_slug(session, circle)
        permissions.require_read(permissions.circle_access(session, user, scope))
    return [
        SearchHitOut(post_id=h.post.id, thread_id=h.thread.id, thread_title=h.thread.title,  # type: ignore[arg-type]
                     circle=h.circle.slug, author=None if h.author.is_deleted else h.author.username,
                     snippet_html=str(h.snippet), created_at=h.post.created_at)
        for h in search.search(session, viewer=user, q=q, circle=scope, page=page)
    ]


@router.get("/notifications", response_model=list[NotificationOut])
def list_notifications(session: SessionDep, user: CurrentUser, page: int = 1,
                       unread: bool = False) -> list[NotificationOut]:
    rows = notifications.list_for(session, viewer=user, page=page, unread_only=unread)
    return [NotificationOut.of(n, actor, circle) for n, actor, circle, _thread in rows]


@router.post("/notifications/read", status_code=204)
def read_all(session: SessionDep, user: CurrentUser) -> None:
    notifications.mark_read(session, viewer=user)


@router.post("/notifications/{notification_id}/read", status_code=204)
def read_one(session: SessionDep, user: CurrentUser, notification_id: int) -> None:
    notifications.mark_read(session, viewer=user, notification_id=notification_id)


@router.get("/users/{username}", response_model=ProfileOut)
def profile(session: SessionDep, user: CurrentUser, username: str) -> ProfileOut:
    found = profiles.profile(session, username=username, viewer=user)
    return ProfileOut(
        user=UserOut.of(found.user),
        circles=[c.slug for c, _role in found.circles],
        recent_posts=[PostOut.of(p, found.user) for p, _t, _c in found.posts],
    )
