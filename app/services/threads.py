"""Threads: start one, list a circle's, open one with its page of posts."""

from dataclasses import dataclass, field

from sqlalchemy import bindparam
from sqlalchemy import func as sa_func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app import permissions
from app.errors import Invalid, NotFound, SignInRequired
from app.i18n import _
from app.models import Badge, Circle, Post, Reaction, ReadState, Thread, User, utcnow
from app.permissions import CircleAccess
from app.services import badges, mentions, posting_rules
from app.text import render_markdown

THREADS_PER_PAGE = 25
POSTS_PER_PAGE = 20
TITLE_MAX = 200
BODY_MAX = 50_000


def validate_body(body: str, field_name: str = "body") -> str:
    if not body.strip():
        raise Invalid(_("Write something first."), **{field_name: _("This cannot be empty.")})
    if len(body) > BODY_MAX:
        raise Invalid(_("A post is limited to 50,000 characters."), **{field_name: _("At most 50,000 characters.")})
    return body


def create_thread(session: Session, *, circle: Circle, author: User, title: str, body: str) -> Thread:
    access = permissions.require_post(permissions.circle_access(session, author, circle))
    title = " ".join(title.split())
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = _("Give the thread a title.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("At most 200 characters.")
    try:
        validate_body(body)
    except Invalid as error:
        errors.update(error.fields)
    if errors:
        raise Invalid(_("Please correct the highlighted fields."), **errors)
    held = posting_rules.check_new_thread(session, access=access, author=author)
    now = utcnow()
    thread = Thread(
        circle_id=circle.id,  # type: ignore[arg-type]
        author_id=author.id,  # type: ignore[arg-type]
        title=title,
        created_at=now,
        last_post_at=now,
        post_count=0 if held else 1,
        last_number=1,
        # A held opening post keeps its thread out of lists until a host approves it.
        hidden=held,
    )
    session.add(thread)
    session.flush()
    post = Post(
        thread_id=thread.id,  # type: ignore[arg-type]
        number=1,
        author_id=author.id,  # type: ignore[arg-type]
        body_md=body,
        body_html=render_markdown(body),
        opening=True,
        created_at=now,
        held=held,
        hidden=held,
    )
    session.add(post)
    session.add(ReadState(user_id=author.id, thread_id=thread.id, last_read_number=1))  # type: ignore[arg-type]
    session.flush()
    if not held:
        # A held post tells nobody and earns nothing until a host approves it (see restore_post).
        mentions.notify_mentions(session, access=access, post=post, thread=thread, author=author)
        badges.on_post(session, post=post, thread=thread)
    session.commit()
    return thread


_THREAD_AND_CIRCLE = (
    select(Thread, Circle).join(Circle, col(Circle.id) == Thread.circle_id).where(Thread.id == bindparam("thread_id"))
)


def open_thread(session: Session, *, thread_id: int, viewer: User | None) -> tuple[Thread, CircleAccess]:
    """The thread and the viewer's access, or the same answer as for a missing thread."""
    if viewer is None:
        raise SignInRequired(_("Please sign in to continue."))
    row = session.exec(_THREAD_AND_CIRCLE, params={"thread_id": thread_id}).first()
    if row is None:
        raise NotFound()
    thread, circle = row
    access = permissions.require_read(permissions.circle_access(session, viewer, circle))
    if thread.hidden and not access.can_moderate and not _waits_for_its_author(session, thread, viewer):
        raise NotFound()
    return thread, access


def _waits_for_its_author(session: Session, thread: Thread, viewer: User) -> bool:
    """A thread whose opening post waits for approval stays open to its author, who sees the notice."""
    if thread.author_id != viewer.id:
        return False
    held_opening = session.exec(
        select(Post.id).where(Post.thread_id == thread.id, col(Post.opening).is_(True), col(Post.held).is_(True),
                              col(Post.deleted_at).is_(None))
    ).first()
    return held_opening is not None


@dataclass
class ThreadRow:
    thread: Thread
    author: User
    unread: int
    circle: Circle | None = None


def _circle_statements(*, with_hidden: bool):  # type: ignore[no-untyped-def]
    """The circle page's count and page queries (moderators also see hidden threads), built once."""
    conditions = [Thread.circle_id == bindparam("circle_id")]
    if not with_hidden:
        conditions.append(col(Thread.hidden).is_(False))
    total = select(func.count()).select_from(Thread).where(*conditions)
    read = aliased(ReadState)
    page = (
        select(Thread, User, read.last_read_number)
        .join(User, col(User.id) == Thread.author_id)
        .join(read, (read.thread_id == Thread.id) & (read.user_id == bindparam("viewer_id")), isouter=True)
        .where(*conditions)
        .order_by(col(Thread.pinned).desc(), col(Thread.last_post_at).desc(), col(Thread.id).desc())
        .offset(bindparam("offset"))
        .limit(THREADS_PER_PAGE)
    )
    return total, page


_CIRCLE_QUERIES = {with_hidden: _circle_statements(with_hidden=with_hidden) for with_hidden in (False, True)}


def circle_threads(session: Session, *, access: CircleAccess, page: int = 1) -> tuple[list[ThreadRow], int]:
    """A page of a circle's threads, pinned first then by last activity, and the page count."""
    viewer = access.viewer
    assert viewer is not None
    count_query, page_query = _CIRCLE_QUERIES[access.can_moderate]
    total = session.exec(count_query, params={"circle_id": access.circle.id}).one()
    params = {"circle_id": access.circle.id, "viewer_id": viewer.id, "offset": (max(page, 1) - 1) * THREADS_PER_PAGE}
    rows = [
        ThreadRow(thread=t, author=u, unread=unread_of(t, last_read))
        for t, u, last_read in session.exec(page_query, params=params).all()
    ]
    return rows, max(1, -(-total // THREADS_PER_PAGE))


def unread_of(thread: Thread, last_read: int | None) -> int:
    """Posts after the viewer's last read one; a thread never opened counts all its posts."""
    return max(0, thread.last_number - (last_read or 0))


@dataclass
class PostView:
    post: Post
    author: User
    reply_to: Post | None = None
    reply_to_author: User | None = None
    author_badge: Badge | None = None
    reactions: dict[str, int] = field(default_factory=dict)
    mine: set[str] = field(default_factory=set)


@dataclass
class ThreadPage:
    thread: Thread
    access: CircleAccess
    posts: list[PostView]
    page: int
    pages: int
    first_unread: int | None
    last_read: int | None


def page_of_number(number: int) -> int:
    return (number - 1) // POSTS_PER_PAGE + 1


def _page_statements():  # type: ignore[no-untyped-def]
    """The thread page's queries, built once: building and keying them per request cost more
    than running them (the values come as bound parameters)."""
    parent = aliased(Post)
    parent_author = aliased(User)
    posts = (
        select(Post, User, parent, parent_author, Badge)
        .join(User, col(User.id) == Post.author_id)
        .join(Badge, col(Badge.id) == User.best_badge_id, isouter=True)
        .join(parent, parent.id == Post.reply_to_id, isouter=True)
        .join(parent_author, parent_author.id == parent.author_id, isouter=True)
        .where(Post.thread_id == bindparam("thread_id"), col(Post.number).between(bindparam("low"), bindparam("high")))
        .order_by(col(Post.number))
        # Changes no result (numbers are unique in a thread), but tells PostgreSQL how few rows come:
        # it guesses most of the thread (most posts have small numbers) and hashes the whole user table.
        .limit(POSTS_PER_PAGE)
    )
    counts = (
        select(Reaction.post_id, Reaction.kind, sa_func.count())
        .where(col(Reaction.post_id).in_(bindparam("post_ids", expanding=True)))
        .group_by(col(Reaction.post_id), col(Reaction.kind))
    )
    mine = select(Reaction.post_id, Reaction.kind).where(
        col(Reaction.post_id).in_(bindparam("post_ids", expanding=True)), Reaction.user_id == bindparam("viewer_id")
    )
    last_read = select(ReadState.last_read_number).where(
        ReadState.user_id == bindparam("viewer_id"), ReadState.thread_id == bindparam("thread_id")
    )
    return posts, counts, mine, last_read


_PAGE_POSTS, _PAGE_REACTION_COUNTS, _PAGE_MY_REACTIONS, _PAGE_LAST_READ = _page_statements()


def thread_page(session: Session, *, thread: Thread, access: CircleAccess, page: int = 1) -> ThreadPage:
    """One page of posts with authors, quoted parents and reaction counts: four queries."""
    viewer = access.viewer
    assert viewer is not None
    pages = max(1, page_of_number(max(thread.last_number, 1)))
    page = min(max(page, 1), pages)
    low, high = (page - 1) * POSTS_PER_PAGE + 1, page * POSTS_PER_PAGE
    views = [
        PostView(post=p, author=u, reply_to=rp, reply_to_author=ru, author_badge=badge)
        for p, u, rp, ru, badge in session.exec(
            _PAGE_POSTS, params={"thread_id": thread.id, "low": low, "high": high}
        ).all()
        # Hidden posts: moderators see them, their author sees a notice, others nothing.
        if not p.hidden or access.can_moderate or p.author_id == viewer.id
    ]
    post_ids = [view.post.id for view in views]
    if post_ids:
        counts = session.exec(_PAGE_REACTION_COUNTS, params={"post_ids": post_ids}).all()
        mine = session.exec(_PAGE_MY_REACTIONS, params={"post_ids": post_ids, "viewer_id": viewer.id}).all()
        by_id = {view.post.id: view for view in views}
        for post_id, kind, count in counts:
            by_id[post_id].reactions[kind] = count
        for post_id, kind in mine:
            by_id[post_id].mine.add(kind)
    last_read = session.exec(_PAGE_LAST_READ, params={"viewer_id": viewer.id, "thread_id": thread.id}).first()
    first_unread = (last_read or 0) + 1 if (last_read or 0) < thread.last_number else None
    return ThreadPage(
        thread=thread, access=access, posts=views, page=page, pages=pages,
        first_unread=first_unread, last_read=last_read,
    )
