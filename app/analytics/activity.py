"""Growth and habit: members, newcomers, referrals, activity, DAU, stickiness, retention, series.

Activity comes from the daily rollup (`app.analytics.rollup`): one row per user, day and scope.
"""

import itertools
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from app.analytics import candidates
from app.analytics.dialect import days, monday, utc_date
from app.analytics.scope import (
    ACTIVITY_DAY,
    ACTIVITY_WEEK,
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
    Then, in SQL, how many members wrote each number of posts in P, with how many of them were
    active, engaged, active in P′ (retention) and candidates; the ranking of the writers
    (participation) is read from those few rows.
    """

    def compute() -> dict[str, int]:
        per_user = _per_user(scope).subquery("per_user")
        # Who is a member is asked once per user, not once per row.
        per_member = sa.select(per_user).where(is_member(scope, per_user.c.user_id)).subquery("per_member")
        m = per_member.c
        counts = {
            "members": sa.func.count(),
            "active_members": sa.func.count(sa.case((m.level >= 1, 1))),
            "engaged_members": sa.func.count(sa.case((m.level == 2, 1))),
            "previous_active": sa.func.count(sa.case((m.previous == 1, 1))),
            "retained": sa.func.count(sa.case((sa.and_(m.previous == 1, m.level >= 1), 1))),
        }
        if not scope.headline_only:
            qualifies = candidates.qualifies(scope, m.user_id, m.window_days, m.window_posts, m.window_reactions)
            counts["candidates"] = sa.func.count(sa.case((qualifies, 1)))
        histogram = sa.select(m.posts, *counts.values()).group_by(m.posts)  # a row per number of posts
        figures = dict.fromkeys(counts, 0)
        members_by_posts: dict[int, int] = {}
        for posts, *values in scope.all(histogram):
            for key, value in zip(counts, values, strict=True):
                figures[key] += value
            members_by_posts[int(posts)] = values[0]
        del figures["members"]
        return {**figures, **_writers(members_by_posts)}

    return dict(scope.cached("member_figures", compute))


def _per_user(scope: Scope) -> Any:
    """Per user with rollup rows in P′, P or the window: `level` in P (0 none, 1 active, 2
    engaged), active in P′ (`previous`, 0 or 1), `posts` in P, and the window's active days,
    posts and reactions received.

    The days are cut into pieces that each lie wholly in or out of P, P′ and the window, so a
    row's figures need no test of its day (SQLite evaluates every such test on each of a
    million rows). A piece's whole weeks are read from `activity_week` (one row per user and
    week instead of up to seven), its other days from `activity_day`; all are then grouped
    by user.
    """
    window = None if scope.headline_only else (candidates.window_start(scope), scope.end_day)
    rows = []
    for lo, hi in _pieces(scope, window):
        feeds = (lo >= scope.start, scope.previous_start <= lo < scope.start, window is not None and lo >= window[0])
        weeks = whole_weeks(lo, hi)
        if weeks is None:
            rows.append(_day_rows(scope, lo, hi, *feeds))
            continue
        first_monday, end_monday = weeks
        rows.append(_week_rows(scope, first_monday, end_monday, *feeds))
        rows.extend(_day_rows(scope, a, b, *feeds) for a, b in ((lo, first_monday), (end_monday, hi)) if a < b)
    union = sa.union_all(*rows).subquery("rows")
    r = union.c
    return sa.select(
        r.user_id,
        sa.func.max(r.level).label("level"),
        sa.func.max(r.previous).label("previous"),
        sa.func.sum(r.posts).label("posts"),
        sa.func.sum(r.window_days).label("window_days"),
        sa.func.sum(r.window_posts).label("window_posts"),
        sa.func.sum(r.window_reactions).label("window_reactions"),
    ).group_by(r.user_id)


def _day_rows(scope: Scope, lo: date, hi: date, *feeds: bool) -> Any:
    """The rollup's day rows of [lo, hi), with the columns of `_per_user`."""
    a = ACTIVITY_DAY
    level = sa.case((engaged(), 2), (active(), 1), else_=0)
    rows = activity_days(scope, lo, hi, only_active=False)
    is_active = sa.case((active(), 1), else_=0)
    return rows.add_columns(*_feeding(a.c.user_id, level, is_active, is_active, a.c, *feeds))


def _week_rows(scope: Scope, lo: date, hi: date, *feeds: bool) -> Any:
    """The rollup's week rows of the whole weeks in [lo, hi) (Mondays), with the same columns."""
    w = ACTIVITY_WEEK
    level = sa.case((w.c.engaged_days > 0, 2), (w.c.active_days > 0, 1), else_=0)
    rows = sa.select().where(w.c.scope == (scope.circle_id or 0), w.c.week >= lo, w.c.week < hi)
    was_active = sa.case((w.c.active_days > 0, 1), else_=0)
    return rows.add_columns(*_feeding(w.c.user_id, level, was_active, w.c.active_days, w.c, *feeds))


def _feeding(
    user_id: Any, level: Any, was_active: Any, active_days: Any, c: Any, in_p: bool, in_previous: bool, in_window: bool
) -> list[Any]:
    """The columns of `_per_user` from a row of one or more days: its level (0, 1 active, 2
    engaged), whether it was active (0 or 1), its active days, and `c.posts`, `c.received`;
    0 for the periods the row is not in. The expressions are the callers', so a day row is
    tested once for activity, not twice."""
    zero = sa.literal(0, sa.Integer)
    return [
        user_id,
        (level if in_p else zero).label("level"),
        (was_active if in_previous else zero).label("previous"),
        (c.posts if in_p else zero).label("posts"),
        (active_days if in_window else zero).label("window_days"),
        (c.posts if in_window else zero).label("window_posts"),
        (c.received if in_window else zero).label("window_reactions"),
    ]


def whole_weeks(lo: date, hi: date) -> tuple[date, date] | None:
    """The Mondays [first, end) of the whole weeks (Monday to Sunday) inside the days [lo, hi),
    or None when there is none."""
    first, end = lo + timedelta(days=-lo.weekday() % 7), monday(hi)
    return (first, end) if first < end else None


def _pieces(scope: Scope, window: tuple[date, date] | None) -> list[tuple[date, date]]:
    """The days of P′, P and the window (if any), cut at each of their bounds, oldest first."""
    periods = [(scope.previous_start, scope.start), (scope.start, scope.end_day), *([window] if window else [])]
    bounds = sorted({day for period in periods for day in period})
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if any(p[0] <= lo < p[1] for p in periods)]


def _writers(members_by_posts: dict[int, int]) -> dict[str, int]:
    """Participation's figures, from how many members wrote each number of posts in P.

    writers, contributors (1-9 posts), core (10 or more), total_posts; top_posts: the posts
    of the ceil(n / 10) members who wrote most; absence_factor: the fewest members whose posts
    make at least half of them. Both depend on the numbers of posts only, not on who wrote them.
    """
    by_most = sorted(((posts, count) for posts, count in members_by_posts.items() if posts > 0), reverse=True)
    writers = sum(count for _, count in by_most)
    total = sum(posts * count for posts, count in by_most)
    top_posts, left = 0, -(-writers // 10)
    for posts, count in by_most:
        taken = min(left, count)
        top_posts, left = top_posts + taken * posts, left - taken
    absence_factor, running = 0, 0
    for posts, count in by_most:
        if 2 * (running + posts * count) >= total:
            absence_factor += -(-(total - 2 * running) // (2 * posts))  # the fewest of this many posts
            break
        running, absence_factor = running + posts * count, absence_factor + count
    return {
        "writers": writers,
        "contributors": sum(count for posts, count in by_most if posts < 10),
        "core": sum(count for posts, count in by_most if posts >= 10),
        "top_posts": top_posts,
        "total_posts": total,
        "absence_factor": absence_factor,
    }


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
