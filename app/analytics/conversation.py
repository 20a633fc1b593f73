"""Depth of conversation: volumes of P, then how the threads opened in P were answered."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.analytics.activity import period_totals, ratio
from app.analytics.scope import (
    POST,
    THREAD,
    Scope,
    in_circle,
    post_shown,
    staff_list,
)


def volumes(scope: Scope) -> dict[str, Any]:
    """threads, posts, replies, reactions created in P, and the members' share of the posts."""
    totals = period_totals(scope)  # from the rollup: visible posts and reactions of P
    threads = scope.scalar(sa.select(sa.func.count()).select_from(threads_of_period(scope)))
    return {
        "threads": threads,
        "posts": totals["posts"],
        "replies": totals["replies"],
        "reactions": totals["reactions"],
        "member_post_share": ratio(totals["member_posts"], totals["posts"]),
    }


def threads_of_period(scope: Scope) -> Any:
    """The visible threads created in P, in scope."""
    return (
        sa.select(THREAD.c.id, THREAD.c.author_id, THREAD.c.created_at)
        .where(
            THREAD.c.hidden.is_(False),
            in_circle(scope),
            THREAD.c.created_at >= scope.start_ts,
            THREAD.c.created_at < scope.end_ts,
        )
        .subquery("threads_p")
    )


def depth(scope: Scope) -> dict[str, Any]:
    """reply_rate, median_first_reply_hours, peer_reply_share, avg replies and participants.

    One pass over the visible posts (made before end_ts) of the threads opened in P, grouped by
    thread, read in index order: replies, distinct authors, whether the opener wrote, when the
    thread was opened and when it was first answered by someone else.
    """
    threads = threads_of_period(scope)
    post = POST.alias("p")
    answer = sa.and_(post.c.opening.is_(False), post.c.author_id != threads.c.author_id)
    per_thread = (
        sa.select(
            threads.c.id.label("thread_id"),
            threads.c.author_id.label("opener_id"),
            sa.func.coalesce(
                sa.func.min(sa.case((post.c.opening.is_(True), post.c.created_at))), threads.c.created_at
            ).label("opened_at"),
            sa.func.min(sa.case((answer, post.c.created_at))).label("first_at"),
            sa.func.count(sa.case((post.c.opening.is_(False), 1))).label("replies"),
            # Distinct authors, the opening author always among them (counted once).
            (
                sa.func.count(sa.distinct(post.c.author_id))
                + 1
                - sa.func.max(sa.case((post.c.author_id == threads.c.author_id, 1), else_=0))
            ).label("participants"),
        )
        .select_from(
            threads.outerjoin(
                post,
                sa.and_(post.c.thread_id == threads.c.id, post_shown(post), post.c.created_at < scope.end_ts),
            )
        )
        .group_by(threads.c.id, threads.c.author_id, threads.c.created_at)
        .subquery("per_thread")
    )
    t = per_thread.c
    # The first answer's author (the earliest post at first_at, by id), for the staff test.
    first = POST.alias("first")
    first_author = (
        sa.select(first.c.author_id)
        .where(
            first.c.thread_id == t.thread_id,
            first.c.created_at == t.first_at,
            first.c.opening.is_(False),
            first.c.author_id != t.opener_id,
            post_shown(first),
        )
        .order_by(first.c.id)
        .limit(1)
        .scalar_subquery()
    )
    answered_by = sa.case((t.first_at.is_not(None), first_author))
    rows = scope.all(sa.select(t.opened_at, t.first_at, t.replies, t.participants, answered_by))
    staff = set(staff_list(scope))
    thread_count = len(rows)
    replies = sum(row[2] for row in rows)
    participants = sum(row[3] for row in rows)
    first_replies = [(opened, first, author in staff) for opened, first, _r, _p, author in rows if first is not None]
    hours = sorted(_hours(opened, first) for opened, first, _by_staff in first_replies)
    peer = sum(1 for *_times, by_staff in first_replies if not by_staff)
    return {
        "reply_rate": ratio(len(first_replies), thread_count),
        "median_first_reply_hours": median(hours),
        "peer_reply_share": ratio(peer, len(first_replies)),
        "avg_replies_per_thread": ratio(int(replies or 0), thread_count),
        "avg_participants_per_thread": ratio(int(participants or 0), thread_count),
    }


def _hours(opened: Any, first: Any) -> float:
    return float((_moment(first) - _moment(opened)).total_seconds() / 3600)


def _moment(value: Any) -> datetime:
    """SQLite gives aggregated timestamps back as their stored text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def median(values: list[float]) -> float | None:
    """The middle value, or the mean of the two middle values for an even count."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
