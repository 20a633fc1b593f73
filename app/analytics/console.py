"""`cercle kpis` without `--json`: the report as readable rich tables."""

from typing import Any

from rich.console import Console
from rich.table import Table

from app.analytics.texts import GROUPS, explanations, format_value
from app.i18n import _


def print_report(data: dict[str, Any], console: Console) -> None:
    texts = explanations()
    scope = data["circle"] or _("whole site")
    console.print(f"[bold]{_('KPIs')}[/bold] {data['start']} → {data['end']} · {scope}")
    headline = Table(title=_("Headline"), show_header=False)
    headline.add_column(_("Figure"))
    headline.add_column(_("Value"), justify="right")
    for key in ("engagement_rate", "recommendation_rate", "nps", "ambassadors", "new_ambassadors", "retention_rate"):
        headline.add_row(texts[key][0], format_value(key, data[key]))
    console.print(headline)
    titles = {
        "growth": _("Growth and habit"),
        "conversation": _("Depth of conversation"),
        "participation": _("Participation"),
        "recognition": _("Recognition"),
    }
    for name, keys in GROUPS:
        table = Table(title=titles[name], show_header=False)
        table.add_column(_("Figure"))
        table.add_column(_("Value"), justify="right")
        for key in keys:
            table.add_row(texts[key][0], format_value(key, data[key]))
        console.print(table)
    cohorts = Table(title=_("Cohort retention"))
    cohorts.add_column(_("Joined"), no_wrap=True)
    cohorts.add_column(_("Members"), justify="right")
    for k in range(1, len(data["cohorts"])):
        cohorts.add_column(f"+{k}", justify="right")
    for row in data["cohorts"]:
        cells = ["—" if share is None else f"{share * 100:.0f}%" for share in row["retained"]]
        cohorts.add_row(row["month"], str(row["size"]), *cells)
    console.print(cohorts)
    series = Table(title=_("Day by day"))
    for column in (_("Date"), _("Active"), _("Engaged"), _("Posts"), _("New members")):
        series.add_column(column, justify="right")
    for row in data["series"]:
        series.add_row(row["date"], *(str(row[k]) for k in ("active", "engaged", "posts", "new_members")))
    console.print(series)
