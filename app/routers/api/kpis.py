"""The KPIs of KPIS.md as JSON: the same `report()` as the page and `cercle kpis --json`."""

from fastapi import APIRouter
from pydantic import BaseModel

from app.analytics import page as kpi_page
from app.analytics import period_from, report
from app.deps import CurrentUser, SessionDep

router = APIRouter(tags=["api: kpis"])


class CohortOut(BaseModel):
    month: str
    size: int
    retained: list[float | None]


class DayOut(BaseModel):
    date: str
    active: int
    engaged: int
    posts: int
    new_members: int


class KpisOut(BaseModel):
    """Every figure of KPIS.md; ratios are plain floats (null when their denominator is 0)."""

    start: str
    end: str
    circle: str | None
    generated_at: str
    members_total: int
    new_members: int
    active_members: int
    engaged_members: int
    dau_avg: float
    stickiness: float | None
    engagement_rate: float | None
    recommendation_rate: float | None
    referrals: int
    nps: float | None
    nps_responses: int
    ambassadors: int
    new_ambassadors: int
    ambassador_rate: float | None
    retention_rate: float | None
    threads: int
    posts: int
    replies: int
    reactions: int
    member_post_share: float | None
    reply_rate: float | None
    median_first_reply_hours: float | None
    peer_reply_share: float | None
    avg_replies_per_thread: float | None
    avg_participants_per_thread: float | None
    lurkers: int
    contributors: int
    core: int
    top10_post_share: float | None
    absence_factor: int
    badges_awarded: int
    recognised_members: int
    ambassador_candidates: int
    cohorts: list[CohortOut]
    series: list[DayOut]


@router.get("/kpis", response_model=KpisOut)
def get_kpis(
    session: SessionDep, user: CurrentUser, start: str | None = None, end: str | None = None, circle: str | None = None
) -> KpisOut:
    """Admins: any circle or the whole site; hosts: the circles they host. Dates are UTC, inclusive."""
    scope = kpi_page.resolve_scope(session, viewer=user, slug=circle)
    start_day, end_day = period_from(start, end)
    return KpisOut.model_validate(report(session, start=start_day, end=end_day, circle=scope))
