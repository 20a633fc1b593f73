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
from app.analytics.report import FIGURES, period_from, report_and_previous
from app.analytics.texts import GROUPS, explanations, format_value, pct
from app.i18n import _
from app.models import Circle, User
from app.models.base import utctoday
from app.services import circles as circle_service

PRESETS = (7, 30, 90, 365)
# The KPI page lists the most active candidates; the ambassadors page lists more.
CANDIDATES_SHOWN = 20


def kpi_circles(session: Session, *, viewer: User) -> list[Circle]:
    """The circles whose KPIs the viewer may see: every circle for admins, their own for hosts."""
    statement = select(Circle).order_by(col(Circle.name))
    if not viewer.is_admin:
        statement = statement.where(col(Circle.id).in_(permissions.moderated_circle_ids(viewer)))
    return list(session.exec(statement).all())


def resolve_scope(
    session: Session, *, viewer: User | None, slug: str | None, default_to_hosted: bool = False
) -> Circle | None:
    """The circle asked for (None: the whole site), once the viewer is allowed to see it.

    On the page a host who names no circle lands on the first circle they host.
    """
    circle = circle_service.get_by_slug(session, slug) if slug else None
    if circle is None and default_to_hosted and viewer is not None and not viewer.is_admin:
        hosted = kpi_circles(session, viewer=viewer)
        circle = hosted[0] if hosted else None
    permissions.require_kpis(session, viewer, circle)
    return circle


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


def _headline_cards(
    data: dict[str, Any], previous: dict[str, Any], texts: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    def card(key: str, points: bool, detail: str, aside: tuple[str, str] | None = None) -> dict[str, Any]:
        label, explanation = texts[key]
        return {
            "key": key,
            "label": label,
            "value": format_value(key, data[key]),
            "detail": detail,
            "aside": aside,
            "explanation": explanation,
            "delta": _delta(data[key], previous[key], points=points),
        }

    return [
        card(
            "engagement_rate",
            True,
            _("%(n)s of %(total)s members posted or reacted", n=data["engaged_members"], total=data["members_total"]),
        ),
        card(
            "recommendation_rate",
            True,
            _(
                "%(referrals)s of %(new)s new members came through a member's invite · NPS from %(n)s answers",
                referrals=data["referrals"],
                new=data["new_members"],
                n=data["nps_responses"],
            ),
            aside=(_("NPS"), format_value("nps", data["nps"])),
        ),
        card(
            "ambassadors",
            False,
            _("out of %(total)s members", total=data["members_total"]),
            aside=(_("new"), f"+{data['new_ambassadors']}"),
        ),
        card("retention_rate", True, _("of the members active in the previous period came back")),
    ]


def build_page(
    session: Session, *, start: str | None, end: str | None, days: str | None, circle: Circle | None
) -> KpiPage:
    start_day, end_day = period_from(start, end, days=days)
    data, previous = report_and_previous(session, start=start_day, end=end_day, circle=circle)
    texts = explanations()
    page = KpiPage(
        start=start_day,
        end=end_day,
        circle=circle,
        data=data,
        previous=previous,
    )
    page.headline = _headline_cards(data, previous, texts)
    page.groups = [
        (name, [Figure(key, texts[key][0], format_value(key, data[key]), texts[key][1]) for key in keys])
        for name, keys in GROUPS
    ]
    page.participation_chart = charts.stacked_bar(
        [
            (texts["lurkers"][0], data["lurkers"], "lurkers"),
            (texts["contributors"][0], data["contributors"], "contributors"),
            (texts["core"][0], data["core"], "core"),
        ],
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
        {**row, "cells": [(share, charts.heat_class(share), pct(share)) for share in row["retained"]]}
        for row in data["cohorts"]
    ]
    page.cohort_width = max((len(row["retained"]) for row in data["cohorts"]), default=0)
    page.candidates = candidate_rows(session, end=end_day, circle=circle, limit=CANDIDATES_SHOWN)
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
