"""Growth and habit: members, newcomers, referrals, activity, DAU, stickiness, retention, series.

Activity comes from the daily rollup (`app.analytics.rollup`): one row per user, day and scope.
"""

from typing import Any

import sqlalchemy as sa

from app.analytics import candidates
from app.analytics.dialect import days, utc_date
from app.analytics.scope import (
    ACTIVITY_DAY,
    INVITE,
    Scope,
    active,
    activity_days,
    engaged,
    is_member,
    is_staff,
    members_at,
    non_member_ids,
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
    peer_invite = sa.and_(INVITE.c.id.is_not(None), sa.not_(is_staff(scope, INVITE.c.created_by_id)))
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
    members = member_figures(scope)
    # Each rollup row is one user on one day: the member-days are the daily actives' sum.
    member_days = sum(day[0] for day in days_of_period(scope).values())
    dau_avg = member_days / scope.length
    return {
        "active_members": members["active_members"],
        "engaged_members": members["engaged_members"],
        "dau_avg": dau_avg,
        "stickiness": ratio(dau_avg, members["active_members"]),
    }


def retention(scope: Scope) -> dict[str, Any]:
    """Of the members of M active in P′, the share also active in P."""
    members = member_figures(scope)
    return {"retention_rate": ratio(members["retained"], members["previous_active"])}


def period_totals(scope: Scope) -> dict[str, int]:
    """The visible posts, replies and reactions of P (everyone's), and the members' posts."""
    by_day = days_of_period(scope).values()
    return {key: sum(day[index] for day in by_day) for index, key in enumerate(DAY_FIGURES) if index >= 2}


DAY_FIGURES = ("active", "engaged", "posts", "replies", "reactions", "member_posts")


def days_of_period(scope: Scope) -> dict[str, tuple[int, ...]]:
    """Per day of P, the DAY_FIGURES: members of M active and engaged, and the visible posts,
    replies and reactions (anyone's) with the members' posts.

    One pass over the rollup rows of P, in their stored order (scope, day, user), computed
    once per report.
    """

    def compute() -> dict[str, tuple[int, ...]]:
        a = ACTIVITY_DAY
        rows = activity_days(scope, scope.start, scope.end_day, only_active=False).group_by(a.c.day)
        active_, engaged_ = sa.func.count(sa.case((active(), 1))), sa.func.count(sa.case((engaged(), 1)))
        outside = non_member_ids(scope) if scope.circle_id is None else None
        if outside is None:
            # Grouped by membership too, so each row's membership is looked up once.
            member = sa.case((is_member(scope, a.c.user_id), 1), else_=0).label("member")
            statement = rows.add_columns(
                a.c.day, member, active_, engaged_, sa.func.sum(a.c.posts), sa.func.sum(a.c.replies), sa.func.sum(a.c.reactions)
            ).group_by("member")
            by_day: dict[str, tuple[int, ...]] = {}
            for day, in_m, *values in scope.all(statement):  # at most two rows a day
                act, eng, posts, replies, reactions = _ints(values)
                counted = (act, eng, posts, replies, reactions, posts) if in_m else (0, 0, posts, replies, reactions, 0)
                before = by_day.get(str(day), (0,) * len(DAY_FIGURES))
                by_day[str(day)] = tuple(b + c for b, c in zip(before, counted, strict=True))
            return by_day
        # Site-wide, M is every account but a short list: everyone's figures, minus that list's
        # (read through the user index), costs far less than testing each row against the list.
        everyone = rows.add_columns(
            a.c.day, active_, engaged_, sa.func.sum(a.c.posts), sa.func.sum(a.c.replies), sa.func.sum(a.c.reactions)
        )
        others: dict[str, tuple[int, ...]] = {}
        for chunk in _chunks(outside):
            # `scope + 0` keeps SQLite off the period's range (the primary key), which it would
            # scan whole for a list of users: the user index finds the listed accounts' rows.
            listed = (
                sa.select(a.c.day, active_, engaged_, sa.func.sum(a.c.posts))
                .where(a.c.user_id.in_(chunk), a.c.scope + 0 == 0, a.c.day >= scope.start, a.c.day < scope.end_day)
                .group_by(a.c.day)
            )
            for day, *values in scope.all(listed):
                previous = others.get(str(day), (0, 0, 0))
                others[str(day)] = tuple(p + v for p, v in zip(previous, _ints(values), strict=True))
        figures: dict[str, tuple[int, ...]] = {}
        for day, *values in scope.all(everyone):
            act, eng, posts, replies, reactions = _ints(values)
            out_active, out_engaged, out_posts = others.get(str(day), (0, 0, 0))
            figures[str(day)] = (act - out_active, eng - out_engaged, posts, replies, reactions, posts - out_posts)
        return figures

    return dict(scope.cached("days_of_period", compute))


def _ints(values: Any) -> tuple[int, ...]:
    """PostgreSQL sums integers as bigint or numeric, and no rows give NULL: plain ints."""
    return tuple(int(value or 0) for value in values)


def _chunks(ids: list[int], size: int = 500) -> Any:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def member_figures(scope: Scope) -> dict[str, int]:
    """Everything counted per member of M, in one pass over their rollup rows of P′, P and
    the candidates' 90-day window.

    Per member: active in P, engaged in P, active in P′, posts in P, and the window's figures.
    Then: active and engaged members, retention's two counts, participation's (writers ranked
    by posts, most first; a member without posts in P ranks after every writer) and the
    ambassador candidates.
    """

    def compute() -> dict[str, int]:
        a = ACTIVITY_DAY
        in_p = a.c.day >= scope.start
        in_previous = sa.and_(a.c.day >= scope.previous_start, a.c.day < scope.start)
        if scope.headline_only:
            first_day, window = scope.previous_start, {}
        else:
            first_day = min(scope.previous_start, candidates.window_start(scope))
            window = candidates.window_figures(scope, first_day)
        # Days that only received reactions count in the window, never as activity.
        per_user = (
            activity_days(scope, first_day, scope.end_day, only_active=False)
            .add_columns(
                a.c.user_id,
                sa.func.max(sa.case((sa.and_(in_p, active()), 1), else_=0)).label("in_p"),
                sa.func.max(sa.case((sa.and_(in_p, engaged()), 1), else_=0)).label("engaged_p"),
                sa.func.max(sa.case((sa.and_(in_previous, active()), 1), else_=0)).label("in_previous"),
                sa.func.sum(sa.case((in_p, a.c.posts), else_=0)).label("posts"),
                *(value.label(f"window_{key}") for key, value in window.items()),
            )
            .group_by(a.c.user_id)
            .subquery("per_user")
        )
        # Who is a member is asked once per user, not once per row.
        per_member = sa.select(per_user).where(is_member(scope, per_user.c.user_id)).subquery("per_member")
        order = (per_member.c.posts.desc(), per_member.c.user_id)
        wrote = per_member.c.posts > 0
        ranked = sa.select(
            per_member,
            sa.func.row_number().over(order_by=order).label("rn"),
            sa.func.sum(per_member.c.posts).over(order_by=order, rows=(None, 0)).label("running"),
            sa.func.count(sa.case((wrote, 1))).over().label("n"),
            sa.func.sum(per_member.c.posts).over().label("total"),
        ).subquery("ranked")
        r = ranked.c
        figures = {
            "active_members": sa.func.count(sa.case((r.in_p == 1, 1))),
            "engaged_members": sa.func.count(sa.case((r.engaged_p == 1, 1))),
            "previous_active": sa.func.count(sa.case((r.in_previous == 1, 1))),
            "retained": sa.func.count(sa.case((sa.and_(r.in_previous == 1, r.in_p == 1), 1))),
            "writers": sa.func.count(sa.case((r.posts > 0, 1))),
            "contributors": sa.func.count(sa.case((sa.and_(r.posts > 0, r.posts < 10), 1))),
            "core": sa.func.count(sa.case((r.posts >= 10, 1))),
            # Writers come first: the k = ceil(n / 10) biggest are rn <= ceil(n / 10) ⟺ 10 × (rn − 1) < n.
            "top_posts": sa.func.sum(sa.case((sa.and_(r.posts > 0, 10 * (r.rn - 1) < r.n), r.posts), else_=0)),
            "total_posts": sa.func.max(r.total),
            "absence_factor": sa.func.min(sa.case((sa.and_(r.posts > 0, 2 * r.running >= r.total), r.rn))),
        }
        if window:
            qualifies = candidates.qualifies(scope, r.user_id, r.window_days, r.window_posts, r.window_reactions)
            figures["candidates"] = sa.func.count(sa.case((qualifies, 1)))
        row = scope.one(sa.select(*(value.label(key) for key, value in figures.items())))
        # PostgreSQL sums integers as bigint or numeric; no rows give NULL.
        return {key: int(value or 0) for key, value in zip(figures, row, strict=True)}

    return dict(scope.cached("member_figures", compute))


def _by_day(scope: Scope, statement: Any) -> dict[str, int]:
    return {str(day): count for day, count in scope.all(statement) if day is not None}


def series(scope: Scope) -> list[dict[str, Any]]:
    """One object per day of P: members active, members engaged, posts, new members."""
    by_day = days_of_period(scope)
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
        active_, engaged_, posts = by_day.get(key, (0, 0, 0))[:3]
        rows.append(
            {
                "date": key,
                "active": active_,
                "engaged": engaged_,
                "posts": posts,
                "new_members": new_by_day.get(key, 0),
            }
        )
    return rows
