"""The KPI report of KPIS.md: arguments checked once, every figure computed by SQL aggregates.

The page, `GET /api/v1/kpis` and `cercle kpis` all call `report()`, so they agree.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from app.analytics import activity, cohorts, conversation, participation, recognition
from app.analytics.activity import ratio
from app.analytics.scope import Scope, make_scope, share_cache
from app.analytics.snapshot import may_write, run_side_by_side, shared_snapshot
from app.errors import Invalid
from app.i18n import _
from app.models import Circle, utcnow
from app.models.base import utctoday

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_DAYS = 1096  # three years, a leap day included
DEFAULT_DAYS = 30
EARLIEST = date(1900, 1, 1)
LATEST = date(9998, 12, 31)

# The figures of KPIS.md, in its order: the JSON keys besides start, end, circle, generated_at.
FIGURES = (
    "members_total",
    "new_members",
    "active_members",
    "engaged_members",
    "dau_avg",
    "stickiness",
    "engagement_rate",
    "recommendation_rate",
    "referrals",
    "nps",
    "nps_responses",
    "ambassadors",
    "new_ambassadors",
    "ambassador_rate",
    "retention_rate",
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
    "lurkers",
    "contributors",
    "core",
    "top10_post_share",
    "absence_factor",
    "badges_awarded",
    "recognised_members",
    "ambassador_candidates",
    "cohorts",
    "series",
)
HEADLINE = (
    "members_total",
    "new_members",
    "active_members",
    "engaged_members",
    "engagement_rate",
    "recommendation_rate",
    "referrals",
    "nps",
    "nps_responses",
    "ambassadors",
    "new_ambassadors",
    "ambassador_rate",
    "retention_rate",
)


def parse_day(value: str, name: str) -> date:
    """A YYYY-MM-DD date, or a clear `Invalid`."""
    try:
        if not DATE_RE.match(value.strip()):
            raise ValueError(value)
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(
            _("%(name)s must be a date written YYYY-MM-DD.", name=name), **{name: _("Use YYYY-MM-DD.")}
        ) from None
    return day


def period_from(
    start: str | None, end: str | None, *, days: str | int | None = None, today: date | None = None
) -> tuple[date, date]:
    """The period asked for: explicit dates, or the last `days` days (30 by default) ending today.

    With only `start`, the period runs to today; with only `end`, it is the 30 days ending then.
    """
    today = today or utctoday()
    if days not in (None, "") and not start and not end:
        try:
            length = int(days)  # type: ignore[arg-type]
        except ValueError:
            raise Invalid(_("days must be a whole number of days."), days=_("A whole number.")) from None
        if not 1 <= length <= MAX_DAYS:
            raise Invalid(_("days must be between 1 and %(max)s.", max=MAX_DAYS), days=_("Out of range."))
        return today - timedelta(days=length - 1), today
    end_day = parse_day(end, "end") if end else today
    start_day = parse_day(start, "start") if start else end_day - timedelta(days=DEFAULT_DAYS - 1)
    check_period(start_day, end_day)
    return start_day, end_day


def check_period(start: date, end: date) -> None:
    if end < start:
        raise Invalid(_("The end date comes before the start date."), end=_("Choose a date after the start."))
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(
            _("The period is limited to three years (%(max)s days).", max=MAX_DAYS),
            start=_("Choose a shorter period."),
        )
    if start < EARLIEST or end > LATEST:
        raise Invalid(_("Choose dates between 1900 and 9998."), start=_("Out of range."))


def previous_period(start: date, end: date) -> tuple[date, date]:
    """P′: the L days just before `start`."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _headline(scope: Scope) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    figures.update(_growth(scope))
    figures.update(activity.habit(scope))
    figures["engagement_rate"] = ratio(figures["engaged_members"], figures["members_total"])
    figures.update(scope.cached("nps", lambda: recognition.nps(scope)))
    figures.update(_ambassadors(scope))
    figures.update(activity.retention(scope))
    return figures


def _growth(scope: Scope) -> dict[str, Any]:
    return scope.cached("growth", lambda: activity.growth(scope))  # type: ignore[no-any-return]


def _ambassadors(scope: Scope) -> dict[str, Any]:
    members_total = _growth(scope)["members_total"]
    figures = scope.cached("ambassadors", lambda: recognition.ambassadors(scope, members_total=members_total))
    return figures  # type: ignore[no-any-return]


def _activity(scope: Scope) -> dict[str, Any]:
    """The headline, volumes, participation, the ambassador candidates and the daily series:
    read from the per-member and per-day passes (the scopes' shared cache)."""
    figures = _headline(scope)
    figures.update(conversation.volumes(scope))
    figures.update(participation.participation(scope, active_members=figures["active_members"]))
    figures["ambassador_candidates"] = activity.member_figures(scope)["candidates"]
    figures["series"] = activity.series(scope)
    return figures


def _member_pass(scope: Scope) -> dict[str, Any]:
    activity.member_figures(scope)
    return {}


def _day_pass(scope: Scope) -> dict[str, Any]:
    activity.days_of_period(scope)
    return {}


def _people(scope: Scope) -> dict[str, Any]:
    """The headline's own few statements (members, newcomers, referrals, NPS, ambassadors)."""
    _growth(scope)
    _ambassadors(scope)
    scope.cached("nps", lambda: recognition.nps(scope))
    return {}


def _conversation(scope: Scope) -> dict[str, Any]:
    return {**conversation.depth(scope), **recognition.badges(scope)}


def _previous_headline(scope: Scope) -> dict[str, Any]:
    """The headline of the period before the scope's, on the same connection (same snapshot)."""
    before_start, before_end = previous_period(scope.start, scope.end)
    before = make_scope(scope.conn, start=before_start, end=before_end, circle_id=scope.circle_id, headline_only=True)
    return {"previous": _headline(before)}


def _cohorts(scope: Scope) -> dict[str, Any]:
    return {"cohorts": cohorts.cohorts(scope)}


# The report's work in two rounds, each side by side on SIDE_BY_SIDE connections: first the
# independent passes and figure groups, the longest first (measured at a million posts: the
# per-member pass is about a third of a report); then the figures read from their results.
FIRST = (_member_pass, _conversation, _cohorts, _day_pass, _people)
THEN = (_activity,)
# A third connection would gain little on two cores: the rounds are bound by the CPU.
SIDE_BY_SIDE = 2


@contextmanager
def _scopes(session: Session, *, start: date, end: date, circle_id: int | None) -> Iterator[list[Scope]]:
    """Scopes on SIDE_BY_SIDE connections sharing one snapshot; only the session's own when it
    may have written (its changes are its own to see)."""
    if may_write(session):
        yield [make_scope(session, start=start, end=end, circle_id=circle_id)]
        return
    with shared_snapshot(session, SIDE_BY_SIDE) as connections:
        first, *others = (
            make_scope(connection, start=start, end=end, circle_id=circle_id) for connection in connections
        )
        yield [first, *(share_cache(first, other) for other in others)]


def _envelope(start: date, end: date, circle: Circle | None) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "circle": circle.slug if circle else None,
        "generated_at": utcnow().isoformat(),
    }


def report(session: Session, *, start: date, end: date, circle: Circle | None) -> dict[str, Any]:
    """Every figure of KPIS.md for [start, end] (UTC, inclusive), site-wide or for one circle."""
    figures = _figures(session, start=start, end=end, circle=circle, first=FIRST)
    return _report(figures, start, end, circle, FIGURES)


def report_and_previous(
    session: Session, *, start: date, end: date, circle: Circle | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report, and the headline figures of the period just before it (the KPI page's
    comparison), from one snapshot and side by side."""
    first = (FIRST[0], _previous_headline, *FIRST[1:])
    figures = _figures(session, start=start, end=end, circle=circle, first=first)
    before_start, before_end = previous_period(start, end)
    previous = _report(figures.pop("previous"), before_start, before_end, circle, HEADLINE)
    return _report(figures, start, end, circle, FIGURES), previous


def _figures(
    session: Session, *, start: date, end: date, circle: Circle | None, first: tuple[Any, ...]
) -> dict[str, Any]:
    check_period(start, end)
    figures: dict[str, Any] = {}
    with _scopes(session, start=start, end=end, circle_id=circle.id if circle else None) as scopes:
        for round_ in (first, THEN):
            for part in run_side_by_side(scopes, round_):
                figures.update(part)
    return figures


def _report(figures: dict[str, Any], start: date, end: date, circle: Circle | None, keys: tuple[str, ...]) -> dict[str, Any]:
    result = _envelope(start, end, circle)
    result.update({key: figures[key] for key in keys})
    return result
