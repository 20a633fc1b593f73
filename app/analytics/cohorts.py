"""Cohorts: for the 12 months ending with the month of `end`, who joined and who came back."""

from datetime import date
from typing import Any

import sqlalchemy as sa

from app.analytics.activity import ratio
from app.analytics.dialect import add_months, month_of_timestamp
from app.analytics.scope import Scope, activity, members_at, midnight

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
            month_of_timestamp(members.c.joined_at, scope.dialect).label("month"),
        )
        .where(members.c.joined_at >= midnight(months[0]), members.c.joined_at < scope.end_ts)
        .subquery("cohort")
    )
    sizes: dict[str, int] = dict(scope.all(sa.select(cohort.c.month, sa.func.count()).group_by(cohort.c.month)))
    # Activity after end_ts never counts: the window stops at the end of P.
    # Distinct (user, month) pairs of the cohorts' members only, de-duplicated per month.
    active_months = activity(
        scope, add_months(months[0], 1), scope.end_day, grain="month", users=sa.select(cohort.c.user_id)
    )
    returned: dict[tuple[str, str], int] = {
        (joined, active): count
        for joined, active, count in scope.all(
            sa.select(cohort.c.month, active_months.c.month, sa.func.count())
            .select_from(cohort.join(active_months, active_months.c.user_id == cohort.c.user_id))
            .where(active_months.c.month > cohort.c.month)
            .group_by(cohort.c.month, active_months.c.month)
        )
    }
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
