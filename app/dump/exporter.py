"""`export`: the whole community as a dump, grouped by type in the format's order.

Ids are the database's own. Absent optional values are left out of the line (false flags,
empty texts, nulls), so exporting an imported dump gives the same lines again.
"""

import json
from collections.abc import Callable, Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.dump.format import HEADER_TYPE, TYPES, VERSION, iso
from app.models import (
    AmbassadorGrant,
    Badge,
    BadgeAward,
    Circle,
    Invite,
    Membership,
    Post,
    Pulse,
    Reaction,
    Thread,
    User,
    Visit,
)
from app.services import site

Progress = Callable[[str, int], None]
CHUNK = 5_000


def export(session: Session, out_stream: IO[str], progress: Progress | None = None) -> dict[str, int]:
    """Writes every record of the database to `out_stream`; returns the number per type."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        # One snapshot for every query: a dump taken while the forum runs is consistent.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    counts = dict.fromkeys(TYPES, 0)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    write = out_stream.write
    write(dumps({"type": HEADER_TYPE, "version": VERSION}) + "\n")
    written = 1
    for kind, records in _records(session):
        if progress is not None:
            progress(kind, written)
        for record in records:
            write(dumps(record) + "\n")
            counts[kind] += 1
            written += 1
            if progress is not None and written % 20_000 == 0:
                progress(kind, written)
    return {name: count for name, count in counts.items() if count}


def _rows(session: Session, statement: Any) -> Iterator[Any]:
    yield from session.execute(statement.execution_options(yield_per=CHUNK))


def _optional(record: dict[str, Any], **values: Any) -> dict[str, Any]:
    for key, value in values.items():
        if value is not None and value != "" and value is not False:
            record[key] = value
    return record


def _records(session: Session) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    config = site.load(session)
    yield (
        "site",
        iter(
            [
                _optional({"type": "site", "name": config.name}, description=config.description)
                | {"registration": config.registration}
            ]
        ),
    )
    yield "user", _users(session)
    yield (
        "circle",
        (
            _optional({"type": "circle", "id": c.id, "slug": c.slug, "name": c.name}, description=c.description_md)
            | {"visibility": c.visibility, "created_at": iso(c.created_at), "created_by": c.created_by_id}
            for (c,) in _rows(session, select(Circle).order_by(col(Circle.id)))
        ),
    )
    yield (
        "invite",
        (
            _optional({"type": "invite", "id": i.id}, circle=i.circle_id)
            | _optional(
                {"created_by": i.created_by_id, "created_at": iso(i.created_at)},
                expires_at=iso(i.expires_at),
                max_uses=i.max_uses,
            )
            for (i,) in _rows(session, select(Invite).order_by(col(Invite.id)))
        ),
    )
    yield "membership", _memberships(session)
    yield (
        "thread",
        (
            _optional(
                {
                    "type": "thread",
                    "id": t.id,
                    "circle": t.circle_id,
                    "author": t.author_id,
                    "title": t.title,
                    "created_at": iso(t.created_at),
                },
                pinned=t.pinned,
                locked=t.locked,
                hidden=t.hidden,
            )
            for (t,) in _rows(session, select(Thread).order_by(col(Thread.id)))
        ),
    )
    yield "post", _posts(session)
    yield (
        "reaction",
        (
            {"type": "reaction", "post": post_id, "user": user_id, "kind": kind, "created_at": iso(created_at)}
            for post_id, user_id, kind, created_at in _rows(
                session,
                select(
                    col(Reaction.post_id), col(Reaction.user_id), col(Reaction.kind), col(Reaction.created_at)
                ).order_by(col(Reaction.id)),
            )
        ),
    )
    yield (
        "visit",
        (
            _optional({"type": "visit", "user": user_id, "day": day.isoformat()}, circle=circle_id)
            for user_id, day, circle_id in _rows(
                session, select(col(Visit.user_id), col(Visit.day), col(Visit.circle_id)).order_by(col(Visit.id))
            )
        ),
    )
    yield (
        "badge",
        (
            {
                "type": "badge",
                "id": b.id,
                "slug": b.slug,
                "name": b.name,
                "description": b.description,
                "tier": b.tier,
                "automatic": b.automatic,
            }
            for (b,) in _rows(session, select(Badge).order_by(col(Badge.id)))
        ),
    )
    # The format has no revocation for awards: a revoked badge is not carried over.
    yield (
        "badge_award",
        (
            _optional(
                {"type": "badge_award", "badge": a.badge_id, "user": a.user_id},
                awarded_by=a.awarded_by_id,
                reason=a.reason,
            )
            | {"created_at": iso(a.created_at)}
            for (a,) in _rows(
                session, select(BadgeAward).where(col(BadgeAward.revoked_at).is_(None)).order_by(col(BadgeAward.id))
            )
        ),
    )
    yield (
        "ambassador_grant",
        (
            _optional({"type": "ambassador_grant", "user": g.user_id, "granted_by": g.granted_by_id}, reason=g.reason)
            | _optional({"granted_at": iso(g.granted_at)}, revoked_at=iso(g.revoked_at), revoked_by=g.revoked_by_id)
            for (g,) in _rows(session, select(AmbassadorGrant).order_by(col(AmbassadorGrant.id)))
        ),
    )
    yield (
        "pulse",
        (
            _optional({"type": "pulse", "user": p.user_id, "score": p.score}, comment=p.comment)
            | {"created_at": iso(p.created_at)}
            for (p,) in _rows(session, select(Pulse).order_by(col(Pulse.id)))
        ),
    )


def _users(session: Session) -> Iterator[dict[str, Any]]:
    for (u,) in _rows(session, select(User).order_by(col(User.id))):
        record = _optional(
            {"type": "user", "id": u.id, "username": u.username, "email": u.email}, display_name=u.display_name
        )
        record["created_at"] = iso(u.created_at)
        record["is_admin"] = u.is_admin
        yield _optional(
            record,
            password_hash=u.password_hash,
            bio=u.bio_md,
            invited_by=u.invited_by_id,
            invite=u.invite_id,
            deleted_at=iso(u.deleted_at),
        )


def _memberships(session: Session) -> Iterator[dict[str, Any]]:
    """Approved memberships, current or ended; pending and declined requests have no place in a dump."""
    statement = select(Membership).where(col(Membership.joined_at).is_not(None)).order_by(col(Membership.id))
    for (m,) in _rows(session, statement):
        left_at = None if m.state == "active" else m.left_at
        if m.state != "active" and left_at is None:
            continue
        yield _optional(
            {
                "type": "membership",
                "user": m.user_id,
                "circle": m.circle_id,
                "role": m.role,
                "joined_at": iso(m.joined_at),
            },
            left_at=iso(left_at),
            invite=m.invite_id,
        )


def _posts(session: Session) -> Iterator[dict[str, Any]]:
    statement = select(
        col(Post.id),
        col(Post.thread_id),
        col(Post.author_id),
        col(Post.body_md),
        col(Post.created_at),
        col(Post.opening),
        col(Post.reply_to_id),
        col(Post.edited_at),
        col(Post.hidden),
        col(Post.deleted_at),
    ).order_by(col(Post.id))
    for post_id, thread_id, author_id, body, created_at, opening, reply_to, edited_at, hidden, deleted_at in _rows(
        session, statement
    ):
        yield _optional(
            {
                "type": "post",
                "id": post_id,
                "thread": thread_id,
                "author": author_id,
                "body": body,
                "created_at": iso(created_at),
                "opening": opening,
            },
            reply_to=reply_to,
            edited_at=iso(edited_at),
            hidden=hidden or deleted_at is not None,
        )
