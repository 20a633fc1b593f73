"""Templates and the one `render()` helper every HTML router uses."""

import hashlib
import time
from collections.abc import Callable, MutableMapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from sqlmodel import Session
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.config import get_settings
from app.i18n import LANGUAGES, current_language, translations
from app.icons import icon_svg
from app.security import csrf_token_for
from app.services import site

ROOT = Path(__file__).parent
STATIC_DIR = ROOT.parent / "static"


class _Environment(Environment):
    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A plain dict, not Jinja's ChainMap over the environment's globals.

        Every `{% include %}` and `{% from … import %}` compares key sets with a template's
        globals: tens of microseconds through a ChainMap, and a thread page does forty of them.
        The copy is taken when a template loads; every global below is set at import, before.
        """
        return {**self.globals, **(d or {})}


env = _Environment(
    loader=FileSystemLoader(str(ROOT / "templates")),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
templates = Jinja2Templates(env=env)
env.install_gettext_callables(  # type: ignore[attr-defined]
    lambda message: translations(current_language.get()).gettext(message),
    lambda singular, plural, n: translations(current_language.get()).ngettext(singular, plural, n),
    newstyle=True,
)
_newstyle_gettext: Callable[..., Any] = env.globals["gettext"]  # type: ignore[assignment]
_translated: dict[tuple[str, str, bool], Any] = {}


@pass_context
def _remembered_gettext(context: Context, message: str, **variables: Any) -> Any:
    """Jinja's `_()`, remembered per language for a message without variables.

    Jinja makes every translated string Markup and %-formats it, even without variables: a
    thread page says twenty times "Reply", "Flag", "Delete"… That result never changes.
    """
    if variables or type(message) is not str:
        return _newstyle_gettext(context, message, **variables)
    key = (current_language.get(), message, bool(context.eval_ctx.autoescape))
    found = _translated.get(key)
    if found is None:
        if len(_translated) > 10_000:  # only literal strings come here: a safety net
            _translated.clear()
        found = _translated[key] = _newstyle_gettext(context, message)
    return found


env.globals["gettext"] = _remembered_gettext


@lru_cache
def _static_version(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """A fingerprinted URL: files are served with a one-year cache and change name on change."""
    return f"/static/{name}?v={_static_version(name)}"


def _datetime(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.strftime(fmt) if value else ""


env.globals.update(static_url=static_url, languages=LANGUAGES, badge_icon=icon_svg)
env.filters["dt"] = _datetime
# Translates a value that is not a literal (a built-in badge name, a label from a table) and
# returns plain text, so autoescaping applies: `_()` on a variable would trust it as HTML.
env.filters["tr"] = lambda value: str(translations(current_language.get()).gettext(str(value)))
env.filters["urlquote"] = lambda value: quote(str(value), safe="")


class CachedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


_site_cache: tuple[float, site.SiteConfig] | None = None
SITE_CACHE_SECONDS = 5.0


def site_config(session: Session) -> site.SiteConfig:
    """Site settings, cached a few seconds per process (safe to lose, soon fresh everywhere)."""
    global _site_cache
    now = time.monotonic()
    if _site_cache is None or now - _site_cache[0] > SITE_CACHE_SECONDS:
        _site_cache = (now, site.load(session))
    return _site_cache[1]


def configure_templates(*, development: bool) -> None:
    """Outside development templates do not change under a running process: without this, every
    `{% include %}` (one per post on a thread page) checks its file's mtime, a system call."""
    env.auto_reload = development


def forget_site_config() -> None:
    global _site_cache
    _site_cache = None


def is_htmx(request: Request) -> bool:
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


FLASH_COOKIE = "cercle_flash"


def _read_flash(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    message, _sep, signature = unquote(raw).rpartition("|")
    return message if message and csrf_token_for("flash:" + message) == signature else None


def redirect_with_flash(url: str, message: str, *, request: Request | None = None) -> Response:
    """Redirects and shows `message` once on the next page."""
    response = redirect(url, request=request)
    signed = quote(f"{message}|{csrf_token_for('flash:' + message)}", safe="")
    response.set_cookie(FLASH_COOKIE, signed, max_age=60, httponly=True, samesite="lax")
    return response


def base_context(request: Request, session: Session | None) -> dict[str, Any]:
    auth = getattr(request.state, "auth", None)
    csrf_token = auth.csrf_token if auth else csrf_token_for(
        "anon:" + (getattr(request.state, "anon_seed", "") or "")
    )
    return {
        "request": request,
        "user": auth.user if auth else None,
        "csrf_token": csrf_token,
        "site": site_config(session) if session is not None else site.SiteConfig(),
        "lang": current_language.get(),
        "dev_mode": get_settings().env == "development",
        "flash": _read_flash(request),
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    session: Session | None = None,
    fragment: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The page, or only `fragment` for an htmx request that is not a history restore."""
    full_context = base_context(request, session)
    full_context.update(context or {})
    name = fragment if fragment and is_htmx(request) else template
    response = templates.TemplateResponse(request, name, full_context, status_code=status_code)
    if full_context["flash"]:
        response.delete_cookie(FLASH_COOKIE)
    if fragment:
        response.headers["Vary"] = "HX-Request"
    return response


def redirect(url: str, *, request: Request | None = None) -> Response:
    """303 after a form post; htmx requests get HX-Redirect so the whole page changes."""
    if request is not None and is_htmx(request):
        response = HTMLResponse("", status_code=200)
        response.headers["HX-Redirect"] = url
        return response
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None, default: str = "/") -> str:
    """Only local paths: a `next` parameter must not send people to another site."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default

HTMX_FILE = "htmx-2.0.11.min.js"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
# 422 (an invalid form re-rendered) and 429 (a form refused by a write limit or slow mode, re-rendered
# with its message) are swapped like a success; other errors are not.
HTMX_CONFIG = (
    '{"responseHandling": [{"code": "204", "swap": false}, {"code": "[23]..", "swap": true},'
    ' {"code": "422", "swap": true}, {"code": "429", "swap": true},'
    ' {"code": "[45]..", "swap": false, "error": true}],'
    ' "includeIndicatorStyles": false, "allowEval": false, "allowScriptTags": false,'
    ' "historyCacheSize": 0}'
)
env.globals.update(htmx_file=HTMX_FILE, htmx_sri=HTMX_SRI, htmx_config=HTMX_CONFIG)
