"""Register, sign in and out, forgotten password, language choice."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from app.config import get_settings
from app.db import open_session
from app.deps import AuthDep, SessionDep
from app.errors import Forbidden, Invalid, RateLimited
from app.i18n import LANGUAGES, _
from app.middleware import SESSION_COOKIE
from app.routers.forms import (
    clear_session_cookie,
    client_ip,
    set_language_cookie,
    set_session_cookie,
    user_agent,
)
from app.services import accounts, invites
from app.web import redirect, redirect_with_flash, render, safe_next, site_config

router = APIRouter(tags=["accounts"])
FormStr = Annotated[str, Form()]


def _register_page(
    request: Request, session: SessionDep, *, invite_code: str | None, status_code: int = 200,
    values: dict[str, str] | None = None, errors: dict[str, str] | None = None, error: str = "",
) -> Response:
    invite = invites.find_usable(session, invite_code) if invite_code else None
    closed = site_config(session).registration != "open" and invite is None
    return render(
        request,
        "auth/register.html",
        {
            "values": values or {},
            "errors": errors or {},
            "error": error,
            "closed": closed,
            "invite_code": invite.code if invite else None,
            "invite_circle": invites.invite_circle(session, invite) if invite else None,
            "password_min": get_settings().password_min_length,
        },
        session=session,
        status_code=status_code,
    )


@router.get("/register")
def register_form(request: Request, session: SessionDep, auth: AuthDep, invite: str | None = None) -> Response:
    if auth.user:
        return redirect("/")
    return _register_page(request, session, invite_code=invite)


@router.post("/register")
def register(
    request: Request,
    session: SessionDep,
    username: FormStr = "",
    email: FormStr = "",
    password: FormStr = "",
    display_name: FormStr = "",
    invite: FormStr = "",
) -> Response:
    values = {"username": username, "email": email, "display_name": display_name}
    try:
        user = invites.register_with_invite(
            session,
            username=username,
            email=email,
            password=password,
            display_name=display_name,
            invite_code=invite or None,
            open_registration=site_config(session).registration == "open",
            language=request.state.language,
            ip=client_ip(request),
        )
    except (Invalid, RateLimited, Forbidden) as error:
        return _register_page(
            request, session, invite_code=invite or None, status_code=error.status_code,
            values=values, errors=error.fields, error=error.message,
        )
    started = accounts.start_session(session, user=user, user_agent=user_agent(request), ip=client_ip(request))
    landing = invites.landing_url(session, user=user)
    response = redirect_with_flash(landing, _("Welcome, %(name)s!", name=user.name))
    set_session_cookie(request, response, started.token)
    return response


@router.get("/login")
def login_form(request: Request, session: SessionDep, auth: AuthDep, next: str = "/") -> Response:
    if auth.user:
        return redirect(safe_next(next))
    return render(request, "auth/login.html", {"values": {}, "errors": {}, "next": safe_next(next)}, session=session)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/",
) -> Response:
    try:
        user = accounts.authenticate(session, login=username, password=password, ip=client_ip(request))
    except (Invalid, RateLimited, Forbidden) as error:
        return render(
            request,
            "auth/login.html",
            {"values": {"username": username}, "errors": error.fields, "error": error.message,
             "next": safe_next(next)},
            session=session,
            status_code=error.status_code,
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts.end_session(session, token=old)
    started = accounts.start_session(session, user=user, user_agent=user_agent(request), ip=client_ip(request))
    response = redirect(safe_next(next))
    set_session_cookie(request, response, started.token)
    if user.language:
        set_language_cookie(response, user.language)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(session, token=token)
    response = redirect_with_flash("/", _("You are signed out."))
    clear_session_cookie(response)
    return response


@router.get("/forgot")
def forgot_form(request: Request, session: SessionDep) -> Response:
    return render(request, "auth/forgot.html", {"sent": False}, session=session)


def _send_reset_in_background(login: str, language: str) -> None:
    from app.i18n import current_language

    current_language.set(language)
    with open_session() as session:
        accounts.send_reset_mail(session, login=login)


@router.post("/forgot")
def forgot(request: Request, session: SessionDep, background: BackgroundTasks, login: FormStr = "") -> Response:
    # The mail goes out after the answer, so the answer takes the same time either way.
    if login.strip():
        background.add_task(_send_reset_in_background, login, request.state.language)
    response = render(request, "auth/forgot.html", {"sent": True}, session=session)
    # The task runs before this request's session is closed; on SQLite a POST's transaction
    # holds the write lock, so end it now or the task waits for it and the mail is lost.
    session.close()
    return response


# The mailed link carries the token. Opening it moves the token into a short-lived cookie
# (HttpOnly, only sent to /reset) and redirects to the token-less /reset, so the token leaves
# the address bar, the history and the Referer header of whatever is opened next. Every
# /reset answer is also sent with `Referrer-Policy: no-referrer` and `Cache-Control: no-store`
# (CercleMiddleware), and no access log is written (`cercle serve`, RedactResetTokens).
RESET_COOKIE = "cercle_reset"
RESET_PATH = "/reset"


@router.get("/reset/{token}")
def open_reset_link(request: Request, session: SessionDep, token: str) -> Response:
    accounts.check_reset_token(session, token=token)
    settings = get_settings()
    response = redirect(RESET_PATH)
    response.set_cookie(
        RESET_COOKIE, token, max_age=settings.reset_token_minutes * 60, path=RESET_PATH,
        httponly=True, samesite="lax", secure=settings.secure_cookies,
    )
    return response


def _reset_page(request: Request, session: SessionDep, *, action: str, status_code: int = 200,
                errors: dict[str, str] | None = None, error: str = "") -> Response:
    return render(
        request, "auth/reset.html",
        {"action": action, "errors": errors or {}, "error": error,
         "password_min": get_settings().password_min_length},
        session=session, status_code=status_code,
    )


@router.get(RESET_PATH)
def reset_form(request: Request, session: SessionDep) -> Response:
    accounts.check_reset_token(session, token=request.cookies.get(RESET_COOKIE, ""))
    return _reset_page(request, session, action=RESET_PATH)


def _reset(request: Request, session: SessionDep, *, token: str, password: str, action: str) -> Response:
    try:
        accounts.reset_password(session, token=token, new_password=password)
    except Invalid as error:
        return _reset_page(request, session, action=action, status_code=422, errors=error.fields, error=error.message)
    response = redirect_with_flash("/login", _("Your password is changed. Sign in with it."))
    response.delete_cookie(RESET_COOKIE, path=RESET_PATH)
    return response


@router.post(RESET_PATH)
def reset(request: Request, session: SessionDep, password: FormStr = "") -> Response:
    return _reset(request, session, token=request.cookies.get(RESET_COOKIE, ""), password=password, action=RESET_PATH)


@router.post("/reset/{token}")
def reset_with_token(request: Request, session: SessionDep, token: str, password: FormStr = "") -> Response:
    """Forms rendered before the token moved into a cookie still post here."""
    return _reset(request, session, token=token, password=password, action=f"/reset/{token}")


@router.post("/language")
def choose_language(
    request: Request, session: SessionDep, auth: AuthDep, language: FormStr = "", next: FormStr = "/"
) -> Response:
    chosen = language if language in LANGUAGES else None
    if auth.user and chosen:
        accounts.set_language(session, user=auth.user, language=chosen)
    response = redirect(safe_next(next))
    set_language_cookie(response, chosen)
    return response
