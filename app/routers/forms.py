"""Small helpers shared by the HTML routers: client details and session cookies."""

from fastapi import Request, Response

from app.config import get_settings
from app.middleware import ANON_COOKIE, LANGUAGE_COOKIE, SESSION_COOKIE


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(ANON_COOKIE)
    request.state.signed_in_now = True


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)


def set_language_cookie(response: Response, language: str | None) -> None:
    if language:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax")
    else:
        response.delete_cookie(LANGUAGE_COOKIE)
