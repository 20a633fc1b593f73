"""Words and number formats of the KPI figures, shared by the page and `cercle kpis`.

Each figure has a label and a one-sentence explanation (translated at request time), and is
shown as a percentage, a signed score or a plain number.
"""

from typing import Any

from app.i18n import _


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    return f"{value:.{digits}f}"


def explanations() -> dict[str, tuple[str, str]]:
    """Label and one-sentence explanation of each figure (translated at request time)."""
    return {
        "members_total": (
            _("Members"),
            _("People who belong to the community at the end of the period, staff left out."),
        ),
        "new_members": (_("New members"), _("Members who joined during the period.")),
        "active_members": (_("Active members"), _("Members who visited, posted or reacted during the period.")),
        "engaged_members": (_("Engaged members"), _("Members who posted or reacted during the period.")),
        "dau_avg": (_("Daily active members"), _("How many members were active on an average day of the period.")),
        "stickiness": (
            _("Stickiness"),
            _("Daily active members divided by active members: how often active members come back."),
        ),
        "engagement_rate": (_("Engagement rate"), _("The share of members who posted or reacted during the period.")),
        "recommendation_rate": (
            _("Recommendation rate"),
            _("The share of new members who came through an invite from another member."),
        ),
        "referrals": (_("Referrals"), _("New members who joined through an invite created by a member, not by staff.")),
        "nps": (
            _("NPS"),
            _("Net Promoter Score of the members' latest pulse answer: promoters (9–10) minus detractors (0–6)."),
        ),
        "nps_responses": (_("Pulse answers"), _("Members whose pulse answer of the period counts in the NPS.")),
        "ambassadors": (_("Ambassadors"), _("Members who hold the ambassador role at the end of the period.")),
        "new_ambassadors": (_("New ambassadors"), _("Members granted the ambassador role during the period.")),
        "ambassador_rate": (_("Ambassador rate"), _("The share of members who are ambassadors.")),
        "retention_rate": (
            _("Retention"),
            _("Of the members active in the previous period, the share active again in this one."),
        ),
        "threads": (_("Threads"), _("Conversations started during the period.")),
        "posts": (_("Posts"), _("Everything written during the period, opening posts included.")),
        "replies": (_("Replies"), _("Posts that answer a thread rather than open one.")),
        "reactions": (_("Reactions"), _("Reactions given during the period.")),
        "member_post_share": (
            _("Members' share of posts"),
            _("How much of the writing comes from the community rather than the brand."),
        ),
        "reply_rate": (_("Reply rate"), _("The share of new threads that someone other than their author answered.")),
        "median_first_reply_hours": (
            _("Median first reply (hours)"),
            _("Half of the answered new threads got their first answer within this many hours."),
        ),
        "peer_reply_share": (_("Peer replies"), _("The share of first answers written by members rather than staff.")),
        "avg_replies_per_thread": (
            _("Replies per thread"),
            _("Mean number of replies to the threads started during the period."),
        ),
        "avg_participants_per_thread": (
            _("People per thread"),
            _("Mean number of different authors in each new thread, its author included."),
        ),
        "lurkers": (_("Lurkers"), _("Active members who read but wrote nothing.")),
        "contributors": (_("Contributors"), _("Active members who wrote 1 to 9 posts.")),
        "core": (_("Core"), _("Active members who wrote 10 posts or more.")),
        "top10_post_share": (
            _("Top 10 % share"),
            _("The share of the members' posts written by the most prolific tenth of the writers."),
        ),
        "absence_factor": (
            _("Absence factor"),
            _("How few members write half of the members' posts: the community's reliance on a handful."),
        ),
        "badges_awarded": (_("Badges awarded"), _("Badges given to members during the period.")),
        "recognised_members": (
            _("Recognised members"),
            _("Members who received at least one badge during the period."),
        ),
        "ambassador_candidates": (
            _("Ambassador candidates"),
            _(
                "Members who are not ambassadors yet but carried the last 90 days: 8 active days, 10 posts, 5 reactions received."
            ),
        ),
    }


RATES = {
    "stickiness",
    "engagement_rate",
    "recommendation_rate",
    "ambassador_rate",
    "retention_rate",
    "member_post_share",
    "reply_rate",
    "peer_reply_share",
    "top10_post_share",
}
GROUPS = (
    (
        "growth",
        (
            "members_total",
            "new_members",
            "active_members",
            "engaged_members",
            "dau_avg",
            "stickiness",
            "referrals",
            "nps_responses",
            "ambassador_rate",
        ),
    ),
    (
        "conversation",
        (
            "threads",
            "posts",
            "replies",
            "reactions",
            "member_post_share",
            "reply_rate",
            "median_first_reply_hours",
            "peer_reply_share",
            "avg_replies_per_thread",
            "avg_participants_per_thread",
        ),
    ),
    ("participation", ("lurkers", "contributors", "core", "top10_post_share", "absence_factor")),
    (
        "recognition",
        ("badges_awarded", "recognised_members", "ambassadors", "new_ambassadors", "ambassador_candidates"),
    ),
)


def format_value(key: str, value: Any) -> str:
    if key in RATES:
        return pct(value)
    if key == "nps":
        return "—" if value is None else f"{value:+.1f}"
    return num(value, 2 if key in ("dau_avg", "avg_replies_per_thread", "avg_participants_per_thread") else 1)
