"""Home, health check and the theme stylesheet."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text

from app.deps import OptionalUser, SessionDep
from app.services import home, pulse
from app.web import render, site_config

router = APIRouter(tags=["pages"])


@router.get("/")
def home_page(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    if user is None:
        return render(request, "pages/landing.html", session=session)
    return render(request, "pages/home.html", {"home": home.home_for(session, viewer=user),
                                               "ask_pulse": pulse.should_ask(session, user=user)}, session=session)


@router.get("/healthz", include_in_schema=False)
def healthz(session: SessionDep) -> Response:
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return JSONResponse({"status": "ok"})


@router.get("/theme.css", include_in_schema=False)
def theme(session: SessionDep) -> Response:
    colour = site_config(session).accent_colour
    css = f":root {{ --accent: {colour}; }}\n"
    return PlainTextResponse(css, media_type="text/css", headers={"Cache-Control": "public, max-age=300"})
