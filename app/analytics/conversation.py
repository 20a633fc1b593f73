"""Depth of conversation: volumes of P, then how the threads opened in P were answered."""

from typing import Any

import sqlalchemy as sa

from app.analytics.activity import period_totals, ratio
from app.analytics.scope import (
    POST,
    THREAD,
    Scope,
    in_circle,
    is_staff,
    post_shown,
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


def _posts_of(scope: Scope, threads: Any) -> tuple[Any, Any, Any]:
    """The visible posts made before end_ts in `threads` (visible threads): table, join, condition."""
    post = POST.alias("p")
    joined = post.join(threads, threads.c.id == post.c.thread_id)
    return post, joined, sa.and_(post_shown(post), post.c.created_at < scope.end_ts)


def depth(scope: Scope) -> dict[str, Any]:
    """reply_rate, median_first_reply_hours, peer_reply_share, avg replies and participants."""
    threads = threads_of_period(scope)
    thread_count = scope.scalar(sa.select(sa.func.count()).select_from(threads))
    post, joined, visible = _posts_of(scope, threads)

    # One pass: the (thread, author) pairs of the visible posts, with their replies.
    pairs = (
        sa.select(
            sa.func.count(sa.case((post.c.opening.is_(False), 1))).label("replies"),
            sa.func.max(sa.case((post.c.author_id == threads.c.author_id, 1), else_=0)).label("opener"),
        )
        .select_from(joined)
        .where(visible)
        .group_by(post.c.thread_id, post.c.author_id)
        .subquery("pairs")
    )
    pair_count, replies, openers = scope.one(
        sa.select(sa.func.count(), sa.func.sum(pairs.c.replies), sa.func.sum(pairs.c.opener))
    )
    reply_count = int(replies or 0)
    # Distinct authors per thread, the opening author always among them (counted once).
    participant_pairs = pair_count + thread_count - int(openers or 0)

    answers = (
        sa.select(
            post.c.thread_id,
            post.c.author_id,
            post.c.created_at,
            sa.func.row_number()
            .over(partition_by=post.c.thread_id, order_by=(post.c.created_at, post.c.id))
            .label("rn"),
        )
        .select_from(joined)
        .where(visible, post.c.opening.is_(False), post.c.author_id != threads.c.author_id)
        .subquery("answers")
    )
    opening = POST.alias("opening")
    opened_at = (
        sa.select(sa.func.min(opening.c.created_at))
        .where(opening.c.thread_id == threads.c.id, opening.c.opening.is_(True))
        .scalar_subquery()
    )
    # Only the first replies of the threads of P are fetched, to take their median.
    first_replies = scope.all(
        sa.select(
            sa.func.coalesce(opened_at, threads.c.created_at),
            answers.c.created_at,
            sa.case((is_staff(answers.c.author_id), 1), else_=0),
        )
        .select_from(threads.join(answers, answers.c.thread_id == threads.c.id))
        .where(answers.c.rn == 1)
    )
    hours = sorted((first - opened).total_seconds() / 3600 for opened, first, _staff in first_replies)
    peer = sum(1 for *_times, staff in first_replies if not staff)
    return {
        "reply_rate": ratio(len(first_replies), thread_count),
        "median_first_reply_hours": median(hours),
        "peer_reply_share": ratio(peer, len(first_replies)),
        "avg_replies_per_thread": ratio(reply_count, thread_count),
        "avg_participants_per_thread": ratio(participant_pairs, thread_count),
    }


def median(values: list[float]) -> float | None:
    """The middle value, or the mean of the two middle values for an even count."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
