"""What the KPI page, its downloads and the API need around `report()`.

Who may ask for which scope, the comparison with the previous period, the figures grouped
and explained for the page, the charts, and the CSV rows. Templates never query.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup
from sqlmodel import Session, col, select

from app import permissions
from app.analytics import charts
from app.analytics.candidates import candidate_rows
from app.analytics.report import FIGURES, headline, period_from, previous_period, report
from app.i18n import _
from app.models import Circle, User
from app.models.base import utctoday
from app.services import circles as circle_service

PRESETS = (7, 30, 90, 365)


def kpi_circles(session: Session, *, viewer: User) -> list[Circle]:
    """The circles whose KPIs the viewer may see: every circle for admins, their own for hosts."""
    statement = select(Circle).order_by(col(Circle.name))
    if not viewer.is_admin:
        statement = statement.where(col(Circle.id).in_(permissions.moderated_circle_ids(viewer)))
    return list(session.exec(statement).all())


def resolve_scope(session: Session, *, viewer: User | None, slug: str | None,
                  default_to_hosted: bool = False) -> Circle | None:
    """The circle asked for (None: the whole site), once the viewer is allowed to see it.

    On the page a host who names no circle lands on the first circle they host.
    """
    circle = circle_service.get_by_slug(session, slug) if slug else None
    if circle is None and default_to_hosted and viewer is not None and not viewer.is_admin:
        hosted = kpi_circles(session, viewer=viewer)
        circle = hosted[0] if hosted else None
    permissions.require_kpis(session, viewer, circle)
    return circle


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    return f"{value:.{digits}f}"


def _delta(current: float | int | None, previous: float | int | None, *, points: bool) -> dict[str, str]:
    """The change against P′: percentage points for rates, a difference for counts."""
    if current is None or previous is None:
        return {"text": _("no comparison"), "css": "flat"}
    change = current - previous
    css = "up" if change > 0 else "down" if change < 0 else "flat"
    if points:
        text = _("%(change)s pts vs previous period", change=f"{change * 100:+.1f}")
    else:
        text = _("%(change)s vs previous period", change=f"{change:+g}")
    return {"text": text, "css": css}


@dataclass
class Figure:
    key: str
    label: str
    value: str
    explanation: str


@dataclass
class KpiPage:
    start: date
    end: date
    circle: Circle | None
    circles: list[Circle]
    site_allowed: bool
    data: dict[str, Any]
    previous: dict[str, Any]
    headline: list[dict[str, Any]] = field(default_factory=list)
    groups: list[tuple[str, list[Figure]]] = field(default_factory=list)
    participation_chart: Markup = Markup("")
    series_charts: list[Markup] = field(default_factory=list)
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    cohort_width: int = 0
    candidates: list[tuple[User, int, int, int]] = field(default_factory=list)
    preset: int | None = None

    @property
    def query(self) -> str:
        slug = self.circle.slug if self.circle else ""
        return f"start={self.start.isoformat()}&end={self.end.isoformat()}&circle={slug}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def explanations() -> dict[str, tuple[str, str]]:
    """Label and one-sentence explanation of each figure (translated at request time)."""
    return {
        "members_total": (_("Members"), _("People who belong to the community at the end of the period, staff left out.")),
        "new_members": (_("New members"), _("Members who joined during the period.")),
        "active_members": (_("Active members"), _("Members who visited, posted or reacted during the period.")),
        "engaged_members": (_("Engaged members"), _("Members who posted or reacted during the period.")),
        "dau_avg": (_("Daily active members"), _("How many members were active on an average day of the period.")),
        "stickiness": (_("Stickiness"), _("Daily active members divided by active members: how often active members come back.")),
        "engagement_rate": (_("Engagement rate"), _("The share of members who posted or reacted during the period.")),
        "recommendation_rate": (_("Recommendation rate"), _("The share of new members who came through an invite from another member.")),
        "referrals": (_("Referrals"), _("New members who joined through an invite created by a member, not by staff.")),
        "nps": (_("NPS"), _("Net Promoter Score of the members' latest pulse answer: promoters (9–10) minus detractors (0–6).")),
        "nps_responses": (_("Pulse answers"), _("Members whose pulse answer of the period counts in the NPS.")),
        "ambassadors": (_("Ambassadors"), _("Members who hold the ambassador role at the end of the period.")),
        "new_ambassadors": (_("New ambassadors"), _("Members granted the ambassador role during the period.")),
        "ambassador_rate": (_("Ambassador rate"), _("The share of members who are ambassadors.")),
        "retention_rate": (_("Retention"), _("Of the members active in the previous period, the share active again in this one.")),
        "threads": (_("Threads"), _("Conversations started during the period.")),
        "posts": (_("Posts"), _("Everything written during the period, opening posts included.")),
        "replies": (_("Replies"), _("Posts that answer a thread rather than open one.")),
        "reactions": (_("Reactions"), _("Reactions given during the period.")),
        "member_post_share": (_("Members' share of posts"), _("How much of the writing comes from the community rather than the brand.")),
        "reply_rate": (_("Reply rate"), _("The share of new threads that someone other than their author answered.")),
        "median_first_reply_hours": (_("Median first reply (hours)"), _("Half of the answered new threads got their first answer within this many hours.")),
        "peer_reply_share": (_("Peer replies"), _("The share of first answers written by members rather than staff.")),
        "avg_replies_per_thread": (_("Replies per thread"), _("Mean number of replies to the threads started during the period.")),
        "avg_participants_per_thread": (_("People per thread"), _("Mean number of different authors in each new thread, its author included.")),
        "lurkers": (_("Lurkers"), _("Active members who read but wrote nothing.")),
        "contributors": (_("Contributors"), _("Active members who wrote 1 to 9 posts.")),
        "core": (_("Core"), _("Active members who wrote 10 posts or more.")),
        "top10_post_share": (_("Top 10 % share"), _("The share of the members' posts written by the most prolific tenth of the writers.")),
        "absence_factor": (_("Absence factor"), _("How few members write half of the members' posts: the community's reliance on a handful.")),
        "badges_awarded": (_("Badges awarded"), _("Badges given to members during the period.")),
        "recognised_members": (_("Recognised members"), _("Members who received at least one badge during the period.")),
        "ambassador_candidates": (_("Ambassador candidates"), _("Members who are not ambassadors yet but carried the last 90 days: 8 active days, 10 posts, 5 reactions received.")),
    }


RATES = {"stickiness", "engagement_rate", "recommendation_rate", "ambassador_rate", "retention_rate",
         "member_post_share", "reply_rate", "peer_reply_share", "top10_post_share"}
GROUPS = (
    ("growth", ("members_total", "new_members", "active_members", "engaged_members", "dau_avg", "stickiness",
                "referrals", "nps_responses", "ambassador_rate")),
    ("conversation", ("threads", "posts", "replies", "reactions", "member_post_share", "reply_rate",
                      "median_first_reply_hours", "peer_reply_share", "avg_replies_per_thread",
                      "avg_participants_per_thread")),
    ("participation", ("lurkers", "contributors", "core", "top10_post_share", "absence_factor")),
    ("recognition", ("badges_awarded", "recognised_members", "ambassadors", "new_ambassadors",
                     "ambassador_candidates")),
)


def format_value(key: str, value: Any) -> str:
    if key in RATES:
        return _pct(value)
    if key == "nps":
        return "—" if value is None else f"{value:+.1f}"
    return _num(value, 2 if key in ("dau_avg", "avg_replies_per_thread", "avg_participants_per_thread") else 1)


def _headline_cards(data: dict[str, Any], previous: dict[str, Any],
                    texts: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    def card(key: str, points: bool, detail: str, aside: tuple[str, str] | None = None) -> dict[str, Any]:
        label, explanation = texts[key]
        return {"key": key, "label": label, "value": format_value(key, data[key]), "detail": detail,
                "aside": aside, "explanation": explanation,
                "delta": _delta(data[key], previous[key], points=points)}

    return [
        card("engagement_rate", True, _("%(n)s of %(total)s members posted or reacted",
                                        n=data["engaged_members"], total=data["members_total"])),
        card("recommendation_rate", True,
             _("%(referrals)s of %(new)s new members came through a member's invite · NPS from %(n)s answers",
               referrals=data["referrals"], new=data["new_members"], n=data["nps_responses"]),
             aside=(_("NPS"), format_value("nps", data["nps"]))),
        card("ambassadors", False, _("out of %(total)s members", total=data["members_total"]),
             aside=(_("new"), f"+{data['new_ambassadors']}")),
        card("retention_rate", True, _("of the members active in the previous period came back")),
    ]


def build_page(session: Session, *, viewer: User, start: str | None, end: str | None, days: str | None,
               circle: Circle | None) -> KpiPage:
    start_day, end_day = period_from(start, end, days=days)
    data = report(session, start=start_day, end=end_day, circle=circle)
    before_start, before_end = previous_period(start_day, end_day)
    previous = headline(session, start=before_start, end=before_end, circle=circle)
    texts = explanations()
    page = KpiPage(start=start_day, end=end_day, circle=circle, circles=kpi_circles(session, viewer=viewer),
                   site_allowed=viewer.is_admin, data=data, previous=previous)
    page.headline = _headline_cards(data, previous, texts)
    page.groups = [
        (name, [Figure(key, texts[key][0], format_value(key, data[key]), texts[key][1]) for key in keys])
        for name, keys in GROUPS
    ]
    page.participation_chart = charts.stacked_bar(
        [(texts["lurkers"][0], data["lurkers"], "lurkers"),
         (texts["contributors"][0], data["contributors"], "contributors"),
         (texts["core"][0], data["core"], "core")],
        title=_("Participation of the active members (90-9-1)"),
    )
    series = data["series"]
    page.series_charts = [
        charts.line_chart([(row["date"], row[key]) for row in series], title=title, label=label, css=key)
        for key, title, label in (
            ("active", _("Active members per day"), _("active")),
            ("engaged", _("Engaged members per day"), _("engaged")),
            ("posts", _("Posts per day"), _("posts")),
            ("new_members", _("New members per day"), _("new members")),
        )
    ]
    page.cohorts = [
        {**row, "cells": [(share, charts.heat_class(share), _pct(share)) for share in row["retained"]]}
        for row in data["cohorts"]
    ]
    page.cohort_width = max((len(row["retained"]) for row in data["cohorts"]), default=0)
    page.candidates = candidate_rows(session, end=end_day, circle=circle)
    length = (end_day - start_day).days + 1
    page.preset = length if length in PRESETS and end_day == utctoday() and not (start or end) else None
    return page


def csv_text(data: dict[str, Any]) -> str:
    """The report as a long CSV: figure, key (a date or a month for series and cohorts), value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["figure", "key", "value"])

    def cell(value: Any) -> str:
        return "" if value is None else repr(value) if isinstance(value, float) else str(value)

    for key in ("start", "end", "circle", "generated_at"):
        writer.writerow([key, "", cell(data[key])])
    for key in FIGURES:
        if key not in ("cohorts", "series"):
            writer.writerow([key, "", cell(data[key])])
    for row in data["cohorts"]:
        writer.writerow(["cohort_size", row["month"], row["size"]])
        for k, share in enumerate(row["retained"], start=1):
            writer.writerow([f"cohort_retained_{k}", row["month"], cell(share)])
    for row in data["series"]:
        for name in ("active", "engaged", "posts", "new_members"):
            writer.writerow([f"series_{name}", row["date"], row[name]])
    return buffer.getvalue()
