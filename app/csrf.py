"""CSRF: every unsafe request carries the session-bound token and comes from our origin.

The token is an HMAC of the session cookie (or the anonymous seed cookie before sign-in), sent
as the `csrf_token` form field or the `X-CSRF-Token` header. API calls not signed in by the
session cookie (a Bearer token, or anonymous) cannot ride on a browser's ambient authority and
are exempt.
"""

from urllib.parse import urlsplit

from fastapi import Request

from app.config import get_settings
from app.deps import AuthDep
from app.errors import Forbidden
from app.i18n import _
from app.security import csrf_token_matches

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _allowed_origins(request: Request) -> set[str]:
    host = request.headers.get("host", "")
    return {_origin_of(get_settings().base_url), f"{request.url.scheme}://{host}".lower()}


async def csrf_protect(request: Request, auth: AuthDep) -> None:
    if request.method in SAFE_METHODS or auth.via == "bearer":
        return
    # An API call only rides on a browser's authority when a session cookie signs it in; an
    # anonymous seed cookie (kept by a script's cookie jar) carries none.
    if request.url.path.startswith("/api/") and auth.via != "cookie":
        return
    refusal = Forbidden(_("This form has expired or came from another site. Reload the page and try again."))
    origin = request.headers.get("origin")
    if origin and (origin == "null" or _origin_of(origin) not in _allowed_origins(request)):
        raise refusal
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise refusal
    token = request.headers.get("x-csrf-token")
    if not token:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    if not csrf_token_matches(auth.csrf_seed, token):
        raise refusal
