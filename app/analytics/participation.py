"""Participation: the 90-9-1 mix of the active members, and how concentrated the writing is."""

from typing import Any

import sqlalchemy as sa

from app.analytics.activity import ratio
from app.analytics.scope import POST, Scope, member_ids, visible_posts


def participation(scope: Scope, *, active_members: int) -> dict[str, Any]:
    """lurkers, contributors, core, top10_post_share and absence_factor.

    A member who wrote a post in P was active in P, so the lurkers are the active members
    who are not among the writers.
    """
    counts = (
        visible_posts(scope, scope.start_ts, scope.end_ts)
        .add_columns(POST.c.author_id, sa.func.count().label("c"))
        .where(POST.c.author_id.in_(member_ids(scope)))
        .group_by(POST.c.author_id)
        .subquery("counts")
    )
    ranked = sa.select(
        counts.c.c,
        sa.func.row_number().over(order_by=(counts.c.c.desc(), counts.c.author_id)).label("rn"),
        sa.func.sum(counts.c.c).over(order_by=(counts.c.c.desc(), counts.c.author_id), rows=(None, 0)).label("running"),
        sa.func.count().over().label("n"),
        sa.func.sum(counts.c.c).over().label("total"),
    ).subquery("ranked")
    writers, contributors, core, top_posts, total, absence = scope.one(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.case((ranked.c.c < 10, 1))),
            sa.func.count(sa.case((ranked.c.c >= 10, 1))),
            # The k = ceil(n / 10) biggest writers: rn <= ceil(n / 10) ⟺ 10 × (rn − 1) < n.
            sa.func.sum(sa.case((10 * (ranked.c.rn - 1) < ranked.c.n, ranked.c.c), else_=0)),
            sa.func.max(ranked.c.total),
            sa.func.min(sa.case((2 * ranked.c.running >= ranked.c.total, ranked.c.rn))),
        )
    )
    return {
        "lurkers": active_members - writers,
        "contributors": contributors,
        "core": core,
        # PostgreSQL sums integers as numeric: back to int before dividing.
        "top10_post_share": ratio(int(top_posts or 0), int(total or 0)),
        "absence_factor": absence or 0,
    }
