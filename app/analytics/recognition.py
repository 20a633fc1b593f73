"""Recognition and voice: badges, ambassadors and the pulse (NPS) of the members of M.

These rows carry no circle: for a circle scope they are those of the circle's members.
"""

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from app.analytics.activity import ratio
from app.analytics.scope import AMBASSADOR_GRANT, BADGE_AWARD, PULSE, Scope, ambassador_ids, is_member


def badges(scope: Scope) -> dict[str, Any]:
    """Badge awards made in P to members of M, and how many members received one."""
    awarded, recognised = scope.one(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(BADGE_AWARD.c.user_id))).where(
            BADGE_AWARD.c.created_at >= scope.start_ts,
            BADGE_AWARD.c.created_at < scope.end_ts,
            is_member(scope, BADGE_AWARD.c.user_id),
        )
    )
    return {"badges_awarded": awarded, "recognised_members": recognised}


def ambassadors(scope: Scope, *, members_total: int) -> dict[str, Any]:
    g = AMBASSADOR_GRANT
    holding = scope.scalar(
        sa.select(sa.func.count(sa.distinct(g.c.user_id))).where(
            g.c.user_id.in_(ambassador_ids(scope)), is_member(scope, g.c.user_id)
        )
    )
    new = scope.scalar(
        sa.select(sa.func.count(sa.distinct(g.c.user_id))).where(
            g.c.granted_at >= scope.start_ts, g.c.granted_at < scope.end_ts, is_member(scope, g.c.user_id)
        )
    )
    return {
        "ambassadors": holding,
        "new_ambassadors": new,
        "ambassador_rate": ratio(holding, members_total),
    }


def nps(scope: Scope) -> dict[str, Any]:
    """Net Promoter Score of each member's latest pulse answer given in P."""
    answers = (
        sa.select(
            PULSE.c.score,
            sa.func.row_number()
            .over(partition_by=PULSE.c.user_id, order_by=(PULSE.c.created_at.desc(), PULSE.c.id.desc()))
            .label("rn"),
        )
        .where(
            PULSE.c.created_at >= scope.start_ts,
            PULSE.c.created_at < scope.end_ts,
            is_member(scope, PULSE.c.user_id),
        )
        .subquery("answers")
    )
    responses, promoters, detractors = scope.one(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.case((answers.c.score >= 9, 1))),
            sa.func.count(sa.case((answers.c.score <= 6, 1))),
        ).where(answers.c.rn == 1)
    )
    return {"nps": nps_score(promoters, detractors, responses), "nps_responses": responses}


def nps_score(promoters: int, detractors: int, responses: int) -> float | None:
    """100 × (promoters − detractors) / responses, to one decimal, half away from zero, exactly."""
    if not responses:
        return None
    exact = Fraction(100 * (promoters - detractors), responses)
    magnitude = Decimal(abs(exact.numerator)) / Decimal(exact.denominator)
    rounded = magnitude.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    # Decimal division is exact to 28 digits, far beyond a tie at the second decimal.
    if rounded == 0:
        return 0.0  # never "-0.0"
    return float(rounded) if exact > 0 else -float(rounded)
