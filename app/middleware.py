"""One small ASGI middleware: language, the anonymous CSRF seed, and security headers.

Pure ASGI (not BaseHTTPMiddleware) so it adds nothing measurable to each request.
"""

from http.cookies import SimpleCookie
from typing import Any

import anyio
import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.db import RECENT_WRITE_COOKIE
from app.i18n import current_language, pick_language
from app.security import new_token

SESSION_COOKIE = "cercle_session"
ANON_COOKIE = "cercle_anon"
LANGUAGE_COOKIE = "cercle_lang"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs page loads Swagger UI from a CDN and starts it with an inline script; it
# shows no user content, so only there both are allowed (under the strict policy it is blank).
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect")
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
# Password-reset links carry a secret: those pages send no Referer anywhere and stay out of caches.
SECRET_URL_PREFIX = "/reset"


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return {}
            return {key: morsel.value for key, morsel in jar.items()}
    return {}


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


class CercleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        cookies = _cookies(scope)
        language = pick_language(
            cookies.get(LANGUAGE_COOKIE),
            _header(scope, b"accept-language"),
            settings.default_language,
        )
        token = current_language.set(language)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["language"] = language
        new_anon = None
        if not cookies.get(SESSION_COOKIE) and not cookies.get(ANON_COOKIE):
            new_anon = new_token()
        state["anon_seed"] = cookies.get(ANON_COOKIE) or new_anon

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault(
                    "Content-Security-Policy",
                    DOCS_CONTENT_SECURITY_POLICY if scope["path"] in DOCS_PATHS else CONTENT_SECURITY_POLICY,
                )
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if scope["path"] == SECRET_URL_PREFIX or scope["path"].startswith(SECRET_URL_PREFIX + "/"):
                    headers["Referrer-Policy"] = "no-referrer"
                    headers["Cache-Control"] = "no-store"
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                if settings.database_read_url and scope["method"] not in ("GET", "HEAD"):
                    # Read-your-writes: this browser's next reads go to the primary for a while.
                    headers.append("Set-Cookie", f"{RECENT_WRITE_COOKIE}=1; Max-Age=10; Path=/; HttpOnly; SameSite=Lax")
                if new_anon and not state.get("signed_in_now"):
                    secure = "; Secure" if settings.secure_cookies else ""
                    headers.append(
                        "Set-Cookie",
                        f"{ANON_COOKIE}={new_anon}; Path=/; HttpOnly; SameSite=Lax{secure}",
                    )
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_language.reset(token)


class ConcurrencyGate:
    """At most `limit` requests inside the app at once; the others wait in the event loop.

    A request runs its sync dependencies and endpoint in several hops through the thread pool
    (40 threads), and holds a database connection (on SQLite, from a POST's first query, the
    write lock) from its first query to its end. Without a gate, a burst larger than the thread
    pool fills every thread with requests waiting for a connection or for the lock, while the
    requests holding them wait for a thread: nothing moves until SQLite's busy timeout (503s)
    or the pool's timeout (500s). With `limit` below the thread count and at most two
    connections per request within the pool, the holder always finds a thread and a connection.
    Static files touch no database and pass freely.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = max(1, limit)
        self._semaphore: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # made inside the running event loop
            threads = int(anyio.to_thread.current_default_thread_limiter().total_tokens)
            self._semaphore = anyio.Semaphore(min(self.limit, max(1, threads - 1)))
        async with self._semaphore:
            await self.app(scope, receive, send)


def request_limit() -> int:
    """Requests let in at once: two connections each fit in the pool (see ConcurrencyGate)."""
    settings = get_settings()
    return max(1, (settings.db_pool_size + settings.db_max_overflow) // 2)
