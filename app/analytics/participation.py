"""Participation: the 90-9-1 mix of the active members, and how concentrated the writing is."""

from typing import Any

from app.analytics.activity import member_figures, ratio
from app.analytics.scope import Scope


def participation(scope: Scope, *, active_members: int) -> dict[str, Any]:
    """lurkers, contributors, core, top10_post_share and absence_factor.

    A member who wrote a post in P was active in P, so the lurkers are the active members
    who are not among the writers. Counted with the other per-member figures, in one pass.
    """
    members = member_figures(scope)
    return {
        "lurkers": active_members - members["writers"],
        "contributors": members["contributors"],
        "core": members["core"],
        "top10_post_share": ratio(members["top_posts"], members["total_posts"]),
        "absence_factor": members["absence_factor"],
    }
