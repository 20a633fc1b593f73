"""Ambassador candidates: members of M, not ambassadors, who carried the last 90 days.

In the 90 days before end_ts, in scope: active on at least 8 distinct days, at least 10
posts, and at least 5 reactions from other users (staff included) on their posts. The
report counts them in its per-member pass (`activity.member_figures`); `candidate_rows`
lists them.
"""

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.analytics.scope import ACTIVITY_DAY, Scope, active, activity_days, ambassador_ids, is_member, make_scope
from app.models import Circle, User

WINDOW_DAYS = 90
MIN_ACTIVE_DAYS = 8
MIN_POSTS = 10
MIN_REACTIONS = 5


def window_start(scope: Scope) -> date:
    return scope.end_day - timedelta(days=WINDOW_DAYS)


def window_figures() -> dict[str, Any]:
    """Per user (aggregates of their rollup rows of the window): active days, visible posts
    written, and reactions received from other users."""
    a = ACTIVITY_DAY
    return {
        "days": sa.func.count(sa.case((active(), 1))),
        "posts": sa.func.sum(a.c.posts),
        "reactions": sa.func.sum(a.c.received),
    }


def qualifies(scope: Scope, user_id: Any, days: Any, posts: Any, reactions: Any) -> ColumnElement[bool]:
    """The candidate rule, given a member's window figures."""
    return sa.and_(
        days >= MIN_ACTIVE_DAYS,
        posts >= MIN_POSTS,
        reactions >= MIN_REACTIONS,
        user_id.not_in(ambassador_ids(scope)),
    )


def _candidates(scope: Scope) -> Any:
    """The candidates with their three figures: `user_id`, `days`, `posts`, `reactions`."""
    a = ACTIVITY_DAY
    figures = window_figures()
    return (
        activity_days(scope, window_start(scope), scope.end_day, only_active=False)
        .add_columns(a.c.user_id, *(value.label(key) for key, value in figures.items()))
        .where(is_member(scope, a.c.user_id))
        .group_by(a.c.user_id)
        .having(qualifies(scope, a.c.user_id, *figures.values()))
        .subquery("candidates")
    )


def candidate_rows(
    session: Session, *, end: date, circle: Circle | None, limit: int | None = None
) -> list[tuple[User, int, int, int]]:
    """(user, active days, posts, reactions received) of each candidate at `end`, most posts
    first; only the first `limit` when given (a big community has thousands of candidates)."""
    scope = make_scope(session, start=end, end=end, circle_id=circle.id if circle else None)
    candidates = _candidates(scope)
    statement = (
        select(User, candidates.c.days, candidates.c.posts, candidates.c.reactions)
        .join(candidates, candidates.c.user_id == col(User.id))
        .order_by(candidates.c.posts.desc(), candidates.c.reactions.desc(), col(User.username))
        .limit(limit)
    )
    return [(user, int(days), int(count), int(received)) for user, days, count, received in session.exec(statement)]
