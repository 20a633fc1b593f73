"""Posts: reply, edit (revisions kept), delete (soft), react, and read marks."""

import secrets

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from app import permissions
from app.analytics import rollup
from app.db import open_session
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import _
from app.models import Post, PostRevision, Reaction, ReadState, Thread, User, utcnow
from app.models.conversations import REACTION_KINDS
from app.permissions import CircleAccess
from app.services import badges, mentions, posting_rules
from app.services.notifications import notify
from app.services.threads import open_thread, validate_body
from app.text import render_markdown


def reply(
    session: Session, *, thread: Thread, access: CircleAccess, author: User, body: str,
    reply_to_id: int | None = None,
) -> Post:
    """Writes a reply. The thread's row lock, which hands out the post number, is the last write
    before the commit: replies to one thread take turns for a few statements, not for the whole
    request. Everything that needs no number (checks, Markdown, recipients, the post
    row, the rollup, notifications) comes first; badges come after the commit."""
    permissions.require_post(access)
    if thread.locked and not access.can_moderate:
        raise Forbidden(_("This thread is locked: no new replies."))
    validate_body(body)
    parent = None
    if reply_to_id is not None:
        parent = session.get(Post, reply_to_id)
        if parent is None or parent.thread_id != thread.id or parent.deleted_at is not None:
            raise Invalid(_("The post you answer is not in this thread."))
    held = posting_rules.check_reply(session, access=access, author=author)
    recipients = {} if held else _recipients(session, access=access, body=body, thread=thread, author=author,
                                               parent=parent)
    now = utcnow()
    post = Post(
        thread_id=thread.id,  # type: ignore[arg-type]
        # Provisional, and never committed: the real number is taken below. Random, so that two
        # replies being written to one thread do not wait on each other in the unique index.
        number=-1 - secrets.randbelow(2**31 - 2),
        author_id=author.id,  # type: ignore[arg-type]
        body_md=body,
        body_html=render_markdown(body),
        reply_to_id=parent.id if parent else None,
        created_at=now,
        held=held,
        hidden=held,
    )
    session.add(post)
    session.flush()
    for user_id, kind in recipients.items():
        notify(session, user_id=user_id, kind=kind, actor=author,
               circle_id=thread.circle_id, thread_id=thread.id, post_id=post.id)
    # One atomic UPDATE hands out the post number: concurrent replies never collide, and numbers
    # stay gapless (a transaction that fails after it rolls its number back with it).
    # The counters count visible posts only: a held reply adds to them when approved.
    visible = 0 if held else 1
    counters = session.exec(
        update(Thread)
        .where(col(Thread.id) == thread.id)
        .values(
            last_number=Thread.last_number + 1,
            post_count=Thread.post_count + visible,
            reply_count=Thread.reply_count + visible,
            last_post_at=now if not held else Thread.last_post_at,
        )
        .returning(Thread.last_number, Thread.post_count, Thread.reply_count, Thread.last_post_at)
        .execution_options(synchronize_session=False)
    ).one()
    post.number = counters[0]
    session.flush()
    _upsert_read(session, user_id=author.id, thread_id=thread.id, number=post.number)  # type: ignore[arg-type]
    session.commit()
    # The thread as the UPDATE left it, without reading it again.
    for name, value in zip(("last_number", "post_count", "reply_count", "last_post_at"), counters, strict=True):
        set_committed_value(thread, name, value)
    if not held:
        # In a transaction of their own: the rules read many rows, and need the post's number.
        badges.on_post(session, post=post, thread=thread)
        session.commit()
    return post


def _recipients(session: Session, *, access: CircleAccess, body: str, thread: Thread, author: User,
                parent: Post | None, opening: bool = False) -> dict[int, str]:
    """{user id: notification kind} for a published post: the mentioned, the thread's author, the
    answered post's author — only those who may read the circle."""
    told = mentions.mentioned_readers(session, access=access, body=body, author=author)
    recipients = dict.fromkeys(sorted(told), "mention")
    if opening:
        return recipients
    for user_id in sorted({thread.author_id, parent.author_id if parent else thread.author_id} - told):
        if user_id == author.id:
            continue
        recipient = session.get(User, user_id)
        if recipient is None or recipient.is_deleted:
            continue
        if permissions.circle_access(session, recipient, access.circle).can_read:
            recipients[user_id] = "reply"
    return recipients


def announce(session: Session, *, access: CircleAccess, post: Post, thread: Thread, author: User,
             parent: Post | None = None) -> None:
    """Tells the people a published post concerns (see `_recipients`). A held post calls this when
    approved; a reply finds its recipients before it is written."""
    recipients = _recipients(session, access=access, body=post.body_md, thread=thread, author=author,
                             parent=parent, opening=post.opening)
    for user_id, kind in recipients.items():
        notify(session, user_id=user_id, kind=kind, actor=author,
               circle_id=thread.circle_id, thread_id=thread.id, post_id=post.id)


def get_post(session: Session, *, post_id: int, viewer: User | None) -> tuple[Post, Thread, CircleAccess]:
    post = session.get(Post, post_id)
    if post is None:
        if viewer is None:
            from app.errors import SignInRequired

            raise SignInRequired(_("Please sign in to continue."))
        raise NotFound()
    thread, access = open_thread(session, thread_id=post.thread_id, viewer=viewer)
    if post.deleted_at is not None or (post.hidden and not access.can_moderate and post.author_id != (viewer.id if viewer else None)):
        raise NotFound()
    return post, thread, access


def edit_post(session: Session, *, post: Post, thread: Thread, access: CircleAccess, by: User, body: str) -> Post:
    if post.author_id != by.id:
        raise Forbidden(_("You can only edit your own posts."))
    if access.circle.archived_at is not None or (thread.locked and not access.can_moderate):
        raise Forbidden(_("This thread cannot be changed any more."))
    validate_body(body)
    if body == post.body_md:
        return post
    session.add(PostRevision(post_id=post.id, body_md=post.body_md, editor_id=by.id))  # type: ignore[arg-type]
    post.body_md = body
    post.body_html = render_markdown(body)
    post.edited_at = utcnow()
    session.add(post)
    session.commit()
    return post


def revisions(session: Session, *, post: Post) -> list[PostRevision]:
    statement = select(PostRevision).where(PostRevision.post_id == post.id).order_by(col(PostRevision.id).desc())
    return list(session.exec(statement).all())


def delete_post(session: Session, *, post: Post, thread: Thread, by: User) -> None:
    """The author removes a post; an opening post takes its thread with it."""
    if post.author_id != by.id:
        raise Forbidden(_("You can only delete your own posts."))
    if post.deleted_at is not None:
        return
    post.deleted_at = utcnow()
    session.add(post)
    if post.opening:
        thread.hidden = True
        session.add(thread)
    elif not post.hidden:
        session.exec(
            update(Thread)
            .where(col(Thread.id) == thread.id)
            .values(reply_count=Thread.reply_count - 1, post_count=Thread.post_count - 1)
        )
    session.commit()


def toggle_reaction(session: Session, *, post: Post, access: CircleAccess, user: User, kind: str) -> bool:
    """Adds the reaction, or takes it back if it was there. True when it is now on."""
    if kind not in REACTION_KINDS:
        raise Invalid(_("Unknown reaction."))
    if not access.can_post:
        raise Forbidden(_("Join this circle to take part."))
    if post.author_id == user.id:
        raise Forbidden(_("You cannot react to your own post."))
    existing = session.exec(
        select(Reaction).where(Reaction.post_id == post.id, Reaction.user_id == user.id, Reaction.kind == kind)
    ).first()
    if existing is not None:
        session.delete(existing)
        session.commit()
        return False
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    session.exec(
        insert(Reaction)
        .values(post_id=post.id, user_id=user.id, kind=kind, created_at=now)
        .on_conflict_do_nothing()
    )
    # A Core insert bypasses the ORM hook that keeps the KPI rollup exact.
    rollup.refresh(session, cells={user.id: {now.date()}, post.author_id: {now.date()}})  # type: ignore[dict-item]
    if kind == "helpful":
        badges.on_helpful(session, post=post)
    session.commit()
    return True


def reaction_counts(session: Session, *, post: Post, viewer: User) -> tuple[dict[str, int], set[str]]:
    rows = session.exec(
        select(Reaction.kind, func.count()).where(Reaction.post_id == post.id).group_by(col(Reaction.kind))
    ).all()
    mine = session.exec(select(Reaction.kind).where(Reaction.post_id == post.id, Reaction.user_id == viewer.id)).all()
    return dict(rows), set(mine)


def _upsert_read(session: Session, *, user_id: int, thread_id: int, number: int) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ReadState).values(user_id=user_id, thread_id=thread_id, last_read_number=number)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "thread_id"],
        set_={"last_read_number": func.max(statement.excluded.last_read_number, ReadState.last_read_number)}
        if session.get_bind().dialect.name == "sqlite"
        else {"last_read_number": func.greatest(statement.excluded.last_read_number, ReadState.last_read_number)},
    )
    session.exec(statement)


def mark_read(*, viewer: User, thread: Thread, upto: int, previous: int | None,
              session: Session | None = None) -> None:
    """Moves the read mark forward in its own short transaction (page views are read-only).

    A caller that writes anyway (a POST) passes its `session`: on SQLite its transaction holds the
    write lock, and a second writer would wait for it until it gave up.
    """
    if previous is not None and previous >= upto:
        return
    from app.services.notifications import mark_thread_read

    if session is not None:
        _upsert_read(session, user_id=viewer.id, thread_id=thread.id, number=upto)  # type: ignore[arg-type]
        mark_thread_read(session, viewer=viewer, thread_id=thread.id)  # type: ignore[arg-type]
        session.commit()
        return
    with open_session() as writer:
        _upsert_read(writer, user_id=viewer.id, thread_id=thread.id, number=upto)  # type: ignore[arg-type]
        mark_thread_read(writer, viewer=viewer, thread_id=thread.id)  # type: ignore[arg-type]
        writer.commit()
