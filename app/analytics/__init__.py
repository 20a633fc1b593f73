"""KPI queries (SQL aggregates on both databases) and the SVG charts of the KPI page."""

from app.analytics.candidates import candidate_rows
from app.analytics.report import FIGURES, check_period, parse_day, period_from, previous_period, report

__all__ = [
    "FIGURES",
    "candidate_rows",
    "check_period",
    "parse_day",
    "period_from",
    "previous_period",
    "report",
]
