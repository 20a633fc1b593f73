"""Server-rendered, accessible SVG charts for the KPI page: no CDN, no script, no inline style.

Each chart is a `<figure>`: an `<svg role="img">` with a `<title>` (and one per point or bar,
so hovering shows the value), then the same numbers as a table in a `<details>` for screen
readers and copying. Colours come from classes in `static/app.css` (the CSP forbids inline
styles; SVG presentation attributes such as `width` are allowed).
"""

from collections.abc import Sequence

from markupsafe import Markup, escape

from app.i18n import _

WIDTH = 640
HEIGHT = 180
PAD_LEFT = 40
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 28


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return (
        f'<details class="chart-data"><summary>{escape(_("Show the numbers"))}</summary>'
        f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>'
    )


def line_chart(points: Sequence[tuple[str, float]], *, title: str, label: str, css: str = "") -> Markup:
    """A line over the days of the period, with its largest value marked on the axis."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    peak = max((value for _day, value in points), default=0) or 1
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0

    def x(index: int) -> float:
        return PAD_LEFT + (index * step if len(points) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return PAD_TOP + plot_h - (value / peak) * plot_h

    radius = 3 if len(points) <= 92 else 1.5  # a year of days would be a smudge of big dots
    coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_d, v) in enumerate(points))
    dots = "".join(
        f'<circle class="dot" cx="{x(i):.1f}" cy="{y(v):.1f}" r="{radius}">'
        f"<title>{escape(d)}: {escape(_number(v))} {escape(label)}</title></circle>"
        for i, (d, v) in enumerate(points)
    )
    axis = (
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - PAD_RIGHT}" y2="{PAD_TOP + plot_h}"/>'
        f'<line class="grid" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{WIDTH - PAD_RIGHT}" y2="{PAD_TOP}"/>'
        f'<text class="tick" x="{PAD_LEFT - 6}" y="{PAD_TOP + 4}" text-anchor="end">{escape(_number(peak))}</text>'
        f'<text class="tick" x="{PAD_LEFT - 6}" y="{PAD_TOP + plot_h + 4}" text-anchor="end">0</text>'
    )
    if points:
        axis += (
            f'<text class="tick" x="{PAD_LEFT}" y="{HEIGHT - 8}" text-anchor="start">{escape(points[0][0])}</text>'
            f'<text class="tick" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end">'
            f"{escape(points[-1][0])}</text>"
        )
    total = sum(value for _d, value in points)
    summary = _(
        "%(title)s: %(n)s days, highest %(peak)s, total %(total)s.",
        title=title,
        n=len(points),
        peak=_number(peak if points else 0),
        total=_number(total),
    )
    svg = (
        f'<svg class="chart line-chart {escape(css)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="none">'
        f"<title>{escape(summary)}</title>{axis}"
        f'<polyline class="line" fill="none" points="{coords}"/>{dots}</svg>'
    )
    table = _table([_("Date"), label], [(d, _number(v)) for d, v in points])
    return Markup(f'<figure class="chart-figure"><figcaption>{escape(title)}</figcaption>{svg}{table}</figure>')


def stacked_bar(parts: Sequence[tuple[str, int, str]], *, title: str) -> Markup:
    """One 100% bar split into parts (label, count, css class), e.g. the 90-9-1 mix."""
    total = sum(value for _l, value, _c in parts)
    height = 36
    x = 0.0
    bars = []
    legend = []
    rows = []
    for label, value, css in parts:
        share = value / total if total else 0
        width = share * WIDTH
        text = _("%(label)s: %(n)s (%(pct)s)", label=label, n=value, pct=f"{share * 100:.1f} %")
        if width > 0:
            bars.append(
                f'<rect class="part {escape(css)}" x="{x:.1f}" y="0" width="{width:.1f}" height="{height}">'
                f"<title>{escape(text)}</title></rect>"
            )
        x += width
        legend.append(f'<li><span class="swatch {escape(css)}"></span>{escape(text)}</li>')
        rows.append((label, str(value), f"{share * 100:.1f} %"))
    if not total:
        bars.append(f'<rect class="part empty" x="0" y="0" width="{WIDTH}" height="{height}"/>')
    description = "; ".join(escape(_("%(label)s %(n)s", label=label, n=value)) for label, value, _c in parts)
    svg = (
        f'<svg class="chart stacked-bar" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}: {description}" preserveAspectRatio="none">'
        f"<title>{escape(title)}: {description}</title>{''.join(bars)}</svg>"
    )
    table = _table([_("Group"), _("Members"), _("Share")], rows)
    return Markup(
        f'<figure class="chart-figure"><figcaption>{escape(title)}</figcaption>{svg}'
        f'<ul class="chart-legend">{"".join(legend)}</ul>{table}</figure>'
    )


def heat_class(share: float | None) -> str:
    """A cell class for the cohort grid: heat-0 … heat-10 by tenths, heat-none for no data."""
    if share is None:
        return "heat-none"
    return f"heat-{min(10, max(0, round(share * 10)))}"
