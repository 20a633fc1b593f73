"""JSON shapes of the API. Only what a member may see goes out."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models import Circle, Invite, Notification, Post, Thread, User


class UserOut(BaseModel):
    username: str
    display_name: str
    bio_html: str
    is_admin: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(username=user.username, display_name=user.name, bio_html=user.bio_html,
                   is_admin=user.is_admin, created_at=user.created_at)


class MeOut(UserOut):
    email: str | None
    language: str | None

    @classmethod
    def of_me(cls, user: User) -> "MeOut":
        return cls(**UserOut.of(user).model_dump(), email=user.email, language=user.language)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class CircleOut(BaseModel):
    slug: str
    name: str
    description_html: str
    visibility: str
    member_count: int
    archived: bool
    membership: str | None = None
    role: str | None = None

    @classmethod
    def of(cls, circle: Circle, state: str | None = None, role: str | None = None) -> "CircleOut":
        return cls(slug=circle.slug, name=circle.name, description_html=circle.description_html,
                   visibility=circle.visibility, member_count=circle.member_count,
                   archived=circle.archived_at is not None, membership=state, role=role)


class CircleIn(BaseModel):
    slug: str = Field(max_length=60)
    name: str = Field(max_length=80)
    description: str = Field(default="", max_length=2000)
    visibility: str = "open"
    member_invites: bool = True


class CircleUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    visibility: str | None = None
    member_invites: bool | None = None
    archived: bool | None = None


class MembershipOut(BaseModel):
    id: int
    username: str
    circle: str
    role: str
    state: str
    joined_at: datetime | None
    request_message: str = ""


class JoinRequestIn(BaseModel):
    message: str = Field(default="", max_length=1000)


class ThreadOut(BaseModel):
    id: int
    circle: str
    title: str
    author: str | None
    created_at: datetime
    last_post_at: datetime
    reply_count: int
    pinned: bool
    locked: bool
    unread: int | None = None

    @classmethod
    def of(cls, thread: Thread, circle_slug: str, author: User | None, unread: int | None = None) -> "ThreadOut":
        return cls(id=thread.id, circle=circle_slug, title=thread.title,  # type: ignore[arg-type]
                   author=None if author is None or author.is_deleted else author.username,
                   created_at=thread.created_at, last_post_at=thread.last_post_at,
                   reply_count=thread.reply_count, pinned=thread.pinned, locked=thread.locked, unread=unread)


class ThreadIn(BaseModel):
    title: str = Field(max_length=200)
    body: str = Field(max_length=50_000)


class PostOut(BaseModel):
    id: int
    thread_id: int
    number: int
    author: str | None
    body_md: str | None
    body_html: str | None
    opening: bool
    reply_to: int | None
    created_at: datetime
    edited_at: datetime | None
    hidden: bool
    deleted: bool
    reactions: dict[str, int] = {}
    my_reactions: list[str] = []

    @classmethod
    def of(cls, post: Post, author: User | None, reactions: dict[str, int] | None = None,
           mine: set[str] | None = None) -> "PostOut":
        gone = post.deleted_at is not None
        return cls(id=post.id, thread_id=post.thread_id, number=post.number,  # type: ignore[arg-type]
                   author=None if author is None or author.is_deleted else author.username,
                   body_md=None if gone else post.body_md, body_html=None if gone else post.body_html,
                   opening=post.opening, reply_to=post.reply_to_id, created_at=post.created_at,
                   edited_at=post.edited_at, hidden=post.hidden, deleted=gone,
                   reactions=reactions or {}, my_reactions=sorted(mine or set()))


class PostIn(BaseModel):
    body: str = Field(max_length=50_000)
    reply_to: int | None = None


class PostEdit(BaseModel):
    body: str = Field(max_length=50_000)


class ReactionOut(BaseModel):
    post_id: int
    kind: str
    on: bool
    counts: dict[str, int]


class ThreadPageOut(BaseModel):
    thread: ThreadOut
    posts: list[PostOut]
    page: int
    pages: int
    first_unread: int | None


class NotificationOut(BaseModel):
    id: int
    kind: str
    actor: str | None
    circle: str | None
    thread_id: int | None
    post_id: int | None
    text: str
    created_at: datetime
    read: bool

    @classmethod
    def of(cls, n: Notification, actor: User | None, circle: Circle | None) -> "NotificationOut":
        return cls(id=n.id, kind=n.kind, actor=actor.username if actor and not actor.is_deleted else None,  # type: ignore[arg-type]
                   circle=circle.slug if circle else None, thread_id=n.thread_id, post_id=n.post_id,
                   text=n.text, created_at=n.created_at, read=n.read_at is not None)


class SearchHitOut(BaseModel):
    post_id: int
    thread_id: int
    thread_title: str
    circle: str
    author: str | None
    snippet_html: str
    created_at: datetime


class InviteIn(BaseModel):
    circle: str | None = None
    expires_in_days: int | None = Field(default=14, ge=1, le=365)
    max_uses: int | None = Field(default=None, ge=1, le=10_000)
    note: str = Field(default="", max_length=1000)


class InviteOut(BaseModel):
    id: int
    code: str
    url: str
    circle: str | None
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked: bool
    note: str

    @classmethod
    def of(cls, invite: Invite, url: str, circle_slug: str | None) -> "InviteOut":
        return cls(id=invite.id, code=invite.code, url=url, circle=circle_slug,  # type: ignore[arg-type]
                   expires_at=invite.expires_at, max_uses=invite.max_uses, uses=invite.uses,
                   revoked=invite.revoked_at is not None, note=invite.note)


class ProfileOut(BaseModel):
    user: UserOut
    circles: list[str]
    recent_posts: list[PostOut]


class ApiTokenIn(BaseModel):
    name: str = Field(max_length=60)


class ApiTokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


class NewApiTokenOut(BaseModel):
    token: str


class ErrorOut(BaseModel):
    """Every refusal: a message, and per-field messages when a form field is at fault."""

    detail: str
    errors: dict[str, str] | None = None


class FieldErrorOut(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """A request the API could not read (a missing field, a wrong type)."""

    detail: list[FieldErrorOut]


# The answers any API operation may give besides its own: documented in the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Refused"},
    401: {"model": ErrorOut, "description": "Not signed in, or the token is not valid"},
    403: {"model": ErrorOut, "description": "Not allowed"},
    404: {"model": ErrorOut, "description": "Nothing here, or not visible to the caller"},
    409: {"model": ErrorOut, "description": "Conflict"},
    422: {"model": ErrorOut | ValidationErrorOut, "description": "Invalid input"},
    429: {"model": ErrorOut, "description": "Too many requests; see Retry-After"},
    503: {"model": ErrorOut, "description": "Briefly unavailable; see Retry-After"},
}
