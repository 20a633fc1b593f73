"""Cohorts: for the 12 months ending with the month of `end`, who joined and who came back."""

from datetime import date
from typing import Any

import sqlalchemy as sa

from app.analytics.activity import ratio
from app.analytics.dialect import add_months, utc_month
from app.analytics.scope import (
    ACTIVITY_DAY,
    ACTIVITY_MONTH,
    Scope,
    activity_days,
    members_at,
    midnight,
)

MONTHS = 12


def cohort_months(end: date) -> list[date]:
    """First days of the 12 calendar months ending with the month of `end`, oldest first."""
    first = add_months(end, -(MONTHS - 1))
    return [add_months(first, n) for n in range(MONTHS)]


def cohorts(scope: Scope) -> list[dict[str, Any]]:
    """`{"month", "size", "retained"}` per month; r_k is the share active in month + k."""
    months = cohort_months(scope.end)
    members = members_at(scope, scope.end_ts).subquery()
    cohort = (
        sa.select(
            members.c.user_id,
            utc_month(members.c.joined_at, scope.dialect).label("month"),
        )
        .where(members.c.joined_at >= midnight(months[0]), members.c.joined_at < scope.end_ts)
        .subquery("cohort")
    )
    sizes = {
        _key(month): count
        for month, count in scope.all(sa.select(cohort.c.month, sa.func.count()).group_by(cohort.c.month))
    }
    returns = _returns(scope, cohort, add_months(months[0], 1)).subquery("returns")
    pairs = sa.select(returns.c.joined, returns.c.active, sa.func.count()).group_by(returns.c.joined, returns.c.active)
    returned = {(_key(joined), _key(active)): count for joined, active, count in scope.all(pairs)}
    rows: list[dict[str, Any]] = []
    for index, month in enumerate(months):
        key = month.strftime("%Y-%m")
        size = sizes.get(key, 0)
        later = [m.strftime("%Y-%m") for m in months[index + 1 :]]
        rows.append(
            {
                "month": key,
                "size": size,
                "retained": [ratio(returned.get((key, other), 0), size) for other in later],
            }
        )
    return rows


def _returns(scope: Scope, cohort: Any, first: date) -> Any:
    """(joined, active): one row per cohort member and later month they were active in (first days),
    from `first` to end_ts.

    Whole months come from `activity_month`; the month of `end` from the day rows up to end_ts,
    since activity after end_ts never counts. Both are looked up from the cohort's members
    (primary key), not scanned.
    """
    m, a = ACTIVITY_MONTH, ACTIVITY_DAY
    scope_key = scope.circle_id or 0
    last_month = scope.end.replace(day=1)
    whole = (
        sa.select(cohort.c.month.label("joined"), m.c.month.label("active"))
        .select_from(
            cohort.join(
                m,
                sa.and_(
                    m.c.user_id == cohort.c.user_id,
                    m.c.scope == scope_key,
                    m.c.month >= first,
                    m.c.month < last_month,
                ),
            )
        )
        .where(m.c.month > cohort.c.month)
    )
    # Who was active in the month of `end` (up to end_ts): one pass over that month's rows.
    active_this_month = (
        activity_days(scope, max(first, last_month), scope.end_day).add_columns(a.c.user_id).distinct().subquery()
    )
    current = (
        sa.select(cohort.c.month, sa.literal(last_month, sa.Date))
        .select_from(cohort.join(active_this_month, active_this_month.c.user_id == cohort.c.user_id))
        .where(cohort.c.month < last_month)
    )
    return sa.union_all(whole, current)


def _key(month: date | str) -> str:
    """'YYYY-MM' of a month's first day (SQLite may give the date back as text in a union)."""
    return str(month)[:7]
