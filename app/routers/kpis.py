"""The KPI page (/admin/kpis) and its CSV and JSON downloads: admins, and hosts for their circles."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.analytics import page as kpi_page
from app.analytics import period_from, report
from app.deps import CurrentUser, SessionDep
from app.errors import Invalid
from app.web import render

router = APIRouter(tags=["kpis"])


@router.get("/admin/kpis")
def kpis_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    start: str = "",
    end: str = "",
    days: str = "",
    circle: str = "",
) -> Response:
    scope = kpi_page.resolve_scope(session, viewer=user, slug=circle, default_to_hosted=True)
    context: dict[str, object] = {
        "admin_tab": "kpis",
        "presets": kpi_page.PRESETS,
        "circles": kpi_page.kpi_circles(session, viewer=user),
        "scope": scope,
        "values": {"start": start, "end": end},
    }
    try:
        context["kpi"] = kpi_page.build_page(session, start=start, end=end, days=days, circle=scope)
    except Invalid as error:
        context.update(error=error.message, errors=error.fields)
        return render(
            request, "kpis/page.html", context, session=session, fragment="kpis/_results.html", status_code=422
        )
    return render(request, "kpis/page.html", context, session=session, fragment="kpis/_results.html")


def _report(session: SessionDep, user: CurrentUser, start: str, end: str, days: str, circle: str) -> dict[str, object]:
    scope = kpi_page.resolve_scope(session, viewer=user, slug=circle, default_to_hosted=True)
    start_day, end_day = period_from(start, end, days=days)
    return report(session, start=start_day, end=end_day, circle=scope)


def _filename(data: dict[str, object], extension: str) -> str:
    scope = data["circle"] or "site"
    return f'attachment; filename="kpis-{scope}-{data["start"]}-{data["end"]}.{extension}"'


@router.get("/admin/kpis.csv")
def kpis_csv(
    session: SessionDep, user: CurrentUser, start: str = "", end: str = "", days: str = "", circle: str = ""
) -> Response:
    data = _report(session, user, start, end, days, circle)
    return Response(
        kpi_page.csv_text(data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _filename(data, "csv")},
    )


@router.get("/admin/kpis.json")
def kpis_json(
    session: SessionDep, user: CurrentUser, start: str = "", end: str = "", days: str = "", circle: str = ""
) -> Response:
    data = _report(session, user, start, end, days, circle)
    return JSONResponse(data, headers={"Content-Disposition": _filename(data, "json")})
