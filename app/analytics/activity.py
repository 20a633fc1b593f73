"""Growth and habit: members, newcomers, referrals, activity, DAU, stickiness, retention, series."""

from typing import Any

import sqlalchemy as sa

from app.analytics.dialect import days, utc_date
from app.analytics.scope import (
    INVITE,
    POST,
    Scope,
    is_staff,
    member_activity,
    members_at,
    visible_posts,
)


def ratio(numerator: float | int | None, denominator: float | int | None) -> float | None:
    """A plain float, or None when the denominator is 0 (KPIS.md: every such ratio is null)."""
    if not denominator or numerator is None:
        return None
    return numerator / denominator


def growth(scope: Scope) -> dict[str, Any]:
    """members_total, new_members, referrals and recommendation_rate, in one query."""
    members = members_at(scope, scope.end_ts).subquery()
    joined_in_p = sa.and_(members.c.joined_at >= scope.start_ts, members.c.joined_at < scope.end_ts)
    peer_invite = sa.and_(INVITE.c.id.is_not(None), sa.not_(is_staff(INVITE.c.created_by_id)))
    statement = sa.select(
        sa.func.count(),
        sa.func.count(sa.case((joined_in_p, 1))),
        sa.func.count(sa.case((sa.and_(joined_in_p, peer_invite), 1))),
    ).select_from(members.outerjoin(INVITE, INVITE.c.id == members.c.invite_id))
    total, new, referrals = scope.one(statement)
    return {
        "members_total": total,
        "new_members": new,
        "referrals": referrals,
        "recommendation_rate": ratio(referrals, new),
    }


def habit(scope: Scope) -> dict[str, Any]:
    """active_members, engaged_members, dau_avg (member-days / L) and stickiness."""
    active = member_activity(scope, scope.start, scope.end_day, grain=None)
    engaged = member_activity(scope, scope.start, scope.end_day, engaged_only=True, grain=None)
    active_members, engaged_members = scope.one(
        sa.select(
            sa.select(sa.func.count()).select_from(active).scalar_subquery(),
            sa.select(sa.func.count()).select_from(engaged).scalar_subquery(),
        )
    )
    # The member-days of P are the sum of the daily active members of the series.
    member_days = sum(_active_by_day(scope).values())
    dau_avg = member_days / scope.length
    return {
        "active_members": active_members,
        "engaged_members": engaged_members,
        "dau_avg": dau_avg,
        "stickiness": ratio(dau_avg, active_members),
    }


def retention(scope: Scope) -> dict[str, Any]:
    """Of the members of M active in P′, the share also active in P."""
    before = member_activity(scope, scope.previous_start, scope.start, grain=None)
    during = member_activity(scope, scope.start, scope.end_day, grain=None)
    statement = sa.select(
        sa.func.count(),
        sa.func.count(sa.case((before.c.user_id.in_(sa.select(during.c.user_id)), 1))),
    ).select_from(before)
    previous_active, retained = scope.one(statement)
    return {"retention_rate": ratio(retained, previous_active)}


def _active_by_day(scope: Scope) -> dict[str, int]:
    """Members of M active on each day of P (computed once per report)."""

    def compute() -> dict[str, int]:
        active = member_activity(scope, scope.start, scope.end_day)
        return _by_day(scope, sa.select(active.c.day, sa.func.count()).group_by(active.c.day))

    return dict(scope.cached("active_by_day", compute))


def _by_day(scope: Scope, statement: Any) -> dict[str, int]:
    return {str(day): count for day, count in scope.all(statement) if day is not None}


def series(scope: Scope) -> list[dict[str, Any]]:
    """One object per day of P: members active, members engaged, posts, new members."""
    engaged = member_activity(scope, scope.start, scope.end_day, engaged_only=True)
    active_by_day = _active_by_day(scope)
    engaged_by_day = _by_day(scope, sa.select(engaged.c.day, sa.func.count()).group_by(engaged.c.day))
    post_day = utc_date(POST.c.created_at, scope.dialect).label("day")
    posts = visible_posts(scope, scope.start_ts, scope.end_ts).add_columns(post_day).subquery()
    posts_by_day = _by_day(scope, sa.select(posts.c.day, sa.func.count()).group_by(posts.c.day))
    members = members_at(scope, scope.end_ts).subquery()
    joined = (
        sa.select(utc_date(members.c.joined_at, scope.dialect).label("day"))
        .where(members.c.joined_at >= scope.start_ts, members.c.joined_at < scope.end_ts)
        .subquery()
    )
    new_by_day = _by_day(scope, sa.select(joined.c.day, sa.func.count()).group_by(joined.c.day))
    rows: list[dict[str, Any]] = []
    for day in days(scope.start, scope.end_day):
        key = day.isoformat()
        rows.append(
            {
                "date": key,
                "active": active_by_day.get(key, 0),
                "engaged": engaged_by_day.get(key, 0),
                "posts": posts_by_day.get(key, 0),
                "new_members": new_by_day.get(key, 0),
            }
        )
    return rows
