"""Ambassador candidates: members of M, not ambassadors, who carried the last 90 days.

In the 90 days before end_ts, in scope: active on at least 8 distinct days, at least 10
posts, and at least 5 reactions from other users (staff included) on their posts.
"""

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.analytics.recognition import ambassador_ids
from app.analytics.scope import (
    POST,
    REACTION,
    Scope,
    activity,
    make_scope,
    member_ids,
    visible_posts,
    visible_reactions,
)
from app.models import Circle, User

WINDOW_DAYS = 90
MIN_ACTIVE_DAYS = 8
MIN_POSTS = 10
MIN_REACTIONS = 5


def _candidates(scope: Scope) -> tuple[Any, Any, Any, Any]:
    """The candidates' ids with their three figures, as one selectable and its columns."""
    lo_day = scope.end_day - timedelta(days=WINDOW_DAYS)
    lo, hi = scope.end_ts - timedelta(days=WINDOW_DAYS), scope.end_ts
    posts = (
        visible_posts(scope, lo, hi)
        .add_columns(POST.c.author_id.label("user_id"), sa.func.count().label("posts"))
        .group_by(POST.c.author_id)
        .having(sa.func.count() >= MIN_POSTS)
        .subquery("window_posts")
    )
    # Only those with enough posts can be candidates: the other two figures are computed for them.
    writers = sa.select(posts.c.user_id)
    pairs = activity(scope, lo_day, scope.end_day, users=writers)
    active = (
        sa.select(pairs.c.user_id, sa.func.count().label("days"))
        .group_by(pairs.c.user_id)
        .having(sa.func.count() >= MIN_ACTIVE_DAYS)
        .subquery("active_days")
    )
    reactions = (
        visible_reactions(scope, lo, hi)
        .add_columns(POST.c.author_id.label("user_id"), sa.func.count().label("reactions"))
        .where(REACTION.c.user_id != POST.c.author_id, POST.c.author_id.in_(writers))
        .group_by(POST.c.author_id)
        .having(sa.func.count() >= MIN_REACTIONS)
        .subquery("window_reactions")
    )
    joined = active.join(posts, posts.c.user_id == active.c.user_id).join(
        reactions, reactions.c.user_id == active.c.user_id
    )
    condition = sa.and_(active.c.user_id.in_(member_ids(scope)), active.c.user_id.not_in(ambassador_ids(scope)))
    return joined, condition, active, (posts, reactions)


def candidate_count(scope: Scope) -> int:
    joined, condition, active, _figures = _candidates(scope)
    return int(scope.scalar(sa.select(sa.func.count()).select_from(joined).where(condition)) or 0)


def candidate_rows(session: Session, *, end: date, circle: Circle | None) -> list[tuple[User, int, int, int]]:
    """(user, active days, posts, reactions received) of each candidate at `end`, most posts first."""
    scope = make_scope(session, start=end, end=end, circle_id=circle.id if circle else None)
    joined, condition, active, (posts, reactions) = _candidates(scope)
    statement = (
        select(User, active.c.days, posts.c.posts, reactions.c.reactions)
        .select_from(joined)
        .join(User, col(User.id) == active.c.user_id)
        .where(condition)
        .order_by(posts.c.posts.desc(), reactions.c.reactions.desc(), col(User.username))
    )
    return [(user, int(days), int(count), int(received)) for user, days, count, received in session.exec(statement)]
