"""Security headers, no inline script, htmx configured by its meta tag, and a property test of
the Markdown sanitiser.

Every GET route of the site is asked for (as a visitor, a member and an admin, as a page and as
an htmx request) on a small community: each answer carries the security headers, and each HTML
answer is parsed: no inline script, no `on…=` attribute, no `style` attribute or element, no
`javascript:` URL; full pages configure htmx through `<meta name="htmx-config">` (no eval, no
script tags, no indicator styles) and load it with its SRI hash. Addresses carrying a payload
must come back escaped. /docs (Swagger UI) is the one documented exception to the strict policy
(app/middleware.py): it shows no user content. The templates are also read as source: no inline
script, handler or style, and `|safe` only on the fields app.text sanitised.

The property test (hypothesis) feeds `render_markdown` any text, and mixes of dangerous pieces:
it must never raise, and never output a `<script`, `<iframe`, `<style` (or other active) tag, an
`on…=` attribute, or `javascript:` inside a tag (as text of a post, "javascript:" is just text).
"""

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from app import middleware, permissions
from app.models import Circle, Post, Thread, User
from app.services import accounts, badges, posts
from app.text import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown
from app.web import HTMX_FILE, HTMX_SRI, STATIC_DIR
from tests.factories import add_member, make_circle, make_invite, make_reply, make_thread, make_user

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"
DOCS_PATHS = set(middleware.DOCS_PATHS)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "cite"}
SAFE_SCHEMES = {"http", "https", "mailto"}


# --- parsing -------------------------------------------------------------------------------------


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see, after entities and the characters it ignores are removed."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", html.unescape(value)).lower()
    match = re.match(r"^([a-z][a-z0-9+.\-]*):", cleaned)
    return match.group(1) if match else None


class Scan(HTMLParser):
    """What an HTML answer contains that matters here."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.problems: list[str] = []
        self.metas: list[dict[str, str | None]] = []
        self._script: dict[str, str | None] | None = None
        self._script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…>")
            if name in URL_ATTRIBUTES and value and url_scheme(value) not in (None, *SAFE_SCHEMES):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "meta":
            self.metas.append(values)
        if tag == "script":
            self._script, self._script_text = values, ""

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, self._script_text))
            self._script = None


def scan(text: str) -> Scan:
    parser = Scan()
    parser.feed(text)
    parser.close()
    return parser


# --- the community and the pages ---------------------------------------------------------------


@dataclass
class Community:
    admin: User
    member: User
    circle: Circle
    thread: Thread
    post: Post
    badge_slug: str
    invite_code: str
    reset_token: str
    sessions: dict[str, str]


@pytest.fixture
def community(db: Session) -> Community:
    admin = make_user(db, "admin", admin=True, display_name="Ada Admin")
    member = make_user(db, "member", display_name="Mel Member")
    circle = make_circle(db, "espresso", by=admin, description="**Dial in** your shots.")
    make_circle(db, "roasters", by=admin, visibility="closed")
    add_member(db, circle, admin, host=True)
    add_member(db, circle, member)
    thread = make_thread(db, circle, member, title="Which grinder?", body="Flat or conical?")
    post = make_reply(db, thread, admin, body="Conical, *for sure*.")
    posts.edit_post(db, post=post, thread=thread, access=permissions.circle_access(db, admin, circle), by=admin,
                    body="Conical, *for sure* (edited).")  # a revisions page
    badge = badges.create_badge(db, by=admin, name="Helper", description="Helps others.", tier="gold", icon="star")
    badges.award_manual(db, badge=badge, user=member, by=admin, reason="Always there.", circle=None)
    invite = make_invite(db, admin, circle, note="For a friend")
    reset = accounts.create_reset_token(db, user=member)
    sessions = {"admin": accounts.start_session(db, user=admin).token,
                "member": accounts.start_session(db, user=member).token}
    db.commit()
    return Community(admin=admin, member=member, circle=circle, thread=thread, post=post, badge_slug=badge.slug,
                     invite_code=invite.code, reset_token=reset, sessions=sessions)


def get_routes(app: Any) -> list[str]:
    """Every GET route of the site (not the JSON API, not the static files)."""
    try:
        from fastapi.routing import iter_route_contexts

        contexts = [(c.original_route, c) for c in iter_route_contexts(app.routes)]
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts = [(r, r) for r in app.routes]
    paths: list[str] = []
    for original, route in contexts:
        methods = getattr(route, "methods", None) or getattr(original, "methods", None) or set()
        path = str(getattr(route, "path", None) or getattr(original, "path", ""))
        if "GET" in methods and not path.startswith(("/api/", "/static")):
            paths.append(path)
    return sorted(set(paths))


def fill(path: str, c: Community) -> str:
    values = {"thread_id": str(c.thread.id), "post_id": str(c.post.id), "username": c.member.username,
              "code": c.invite_code, "token": c.reset_token}
    slug = c.badge_slug if path.startswith("/badges/") else "which-grinder" if path.startswith("/t/") else c.circle.slug
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: slug if m.group(1) == "slug" else values[m.group(1)], path)


@dataclass
class Answer:
    who: str
    url: str
    htmx: bool
    status: int
    headers: Any
    text: str

    @property
    def is_html(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/html") and bool(self.text.strip())


_answers: dict[str, list[Answer]] = {}


@pytest.fixture
def answers(request: pytest.FixtureRequest, database_url: str) -> list[Answer]:
    """Every GET route, as a visitor, a member and an admin, as a page and as an htmx request.
    Asked once per database; the tests below only read the answers."""
    if database_url not in _answers:
        _answers[database_url] = _ask_everything(
            request.getfixturevalue("app"), request.getfixturevalue("client"), request.getfixturevalue("community"))
    return _answers[database_url]


def _ask_everything(app: Any, client: TestClient, community: Community) -> list[Answer]:
    urls = [fill(path, community) for path in get_routes(app)]
    # Pages that take parameters, the error pages and the static files answer too.
    urls += ["/search?q=grinder", "/admin/kpis?days=7", "/no-such-page", "/t/999999", "/c/espresso?page=abc",
             "/static/app.js", f"/static/{HTMX_FILE}", "/static/app.css", "/static/favicon.svg"]
    # What comes back from the address must come back escaped.
    probe = quote('"><img src=x onerror=alert(1)><script>alert(2)</script>', safe="")
    urls += [f"/no-such-page/{probe}", f"/search?q={probe}", f"/mod/log?actor={probe}&action={probe}",
             f"/admin/kpis?start={probe}&end={probe}", f"/login?next=/{probe}", f"/c/{probe}", f"/u/{probe}"]
    found = []
    for who in ("visitor", "member", "admin"):
        client.cookies.clear()
        if who in community.sessions:
            client.cookies.set(middleware.SESSION_COOKIE, community.sessions[who])
        for url in urls:
            for htmx in (False, True):
                headers = {"HX-Request": "true"} if htmx else {}
                response = client.get(url, headers=headers, follow_redirects=False)
                found.append(Answer(who, url, htmx, response.status_code, response.headers, response.text))
    return found


def html_answers(answers: list[Answer]) -> Iterator[Answer]:
    for answer in answers:
        if answer.is_html and answer.url not in DOCS_PATHS:
            yield answer


# --- headers ------------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(answers: list[Answer]) -> None:
    assert len(answers) > 200
    for a in answers:
        where = f"{a.who} {a.url}{' (htmx)' if a.htmx else ''} → {a.status}"
        assert a.headers.get("x-content-type-options") == "nosniff", where
        assert a.headers.get("referrer-policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer",
                                                     "strict-origin"), where
        assert a.headers.get("x-frame-options") == "DENY", where
        policy = csp_directives(a.headers.get("content-security-policy", ""))
        assert policy.get("frame-ancestors") == ["'none'"], where


def test_every_html_page_has_a_strict_content_security_policy(answers: list[Answer]) -> None:
    pages = list(html_answers(answers))
    assert len({a.url for a in pages if a.status == 200}) >= 30, "too few pages answered: is the community built?"
    for a in pages:
        where = f"{a.who} {a.url}{' (htmx)' if a.htmx else ''} → {a.status}"
        policy = csp_directives(a.headers["content-security-policy"])
        assert policy["default-src"] == ["'self'"], where
        scripts = policy["script-src"]
        assert "'self'" in scripts, where
        assert not {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:",
                    "blob:"} & set(scripts), f"{where}: script-src {scripts}"
        assert "'unsafe-inline'" not in policy.get("style-src", []), where
        assert policy["object-src"] == ["'none'"], where
        assert policy["base-uri"] in (["'self'"], ["'none'"]), where
        assert policy["form-action"] == ["'self'"], where


def test_only_the_api_docs_relax_the_policy_as_documented(answers: list[Answer]) -> None:
    docs = [a for a in answers if a.url in DOCS_PATHS]
    assert docs and all(a.status == 200 for a in docs)
    for a in docs:
        assert a.headers["content-security-policy"] == middleware.DOCS_CONTENT_SECURITY_POLICY
        assert csp_directives(a.headers["content-security-policy"])["frame-ancestors"] == ["'none'"]
    relaxed = [a.url for a in answers if a.url not in DOCS_PATHS
               and "unsafe-inline" in a.headers.get("content-security-policy", "")]
    assert not relaxed, f"'unsafe-inline' outside /docs: {sorted(set(relaxed))}"
    assert "'unsafe-inline'" not in middleware.CONTENT_SECURITY_POLICY


def test_json_and_static_answers_are_not_sniffed(client: TestClient, community: Community) -> None:
    for url, kind in [("/healthz", "application/json"), ("/api/v1/circles", "application/json"),
                      ("/openapi.json", "application/json"), ("/theme.css", "text/css"),
                      ("/static/app.js", "text/javascript"), ("/static/app.css", "text/css")]:
        response = client.get(url)
        assert response.headers["content-type"].startswith(kind), url
        assert response.headers["x-content-type-options"] == "nosniff", url


# --- what the pages contain ----------------------------------------------------------------------


def test_no_rendered_page_has_inline_script_handlers_or_styles(answers: list[Answer]) -> None:
    scanned = 0
    for a in html_answers(answers):
        found = scan(a.text)
        where = f"{a.who} {a.url}{' (htmx)' if a.htmx else ''}"
        assert not found.problems, f"{where}: {found.problems}"
        for attrs, body in found.scripts:
            assert attrs.get("src", "").startswith("/static/"), f"{where}: script {attrs}"  # type: ignore[union-attr]
            assert not body.strip(), f"{where}: inline script {body[:80]!r}"
        scanned += 1
    assert scanned > 100


def test_htmx_is_configured_through_its_meta_tag(answers: list[Answer]) -> None:
    full_pages = [a for a in html_answers(answers) if "<html" in a.text and a.url.startswith("/") and not a.htmx]
    assert full_pages
    for a in full_pages:
        found = scan(a.text)
        config = [m for m in found.metas if m.get("name") == "htmx-config"]
        assert len(config) == 1, f"{a.url}: htmx-config meta tags: {config}"
        values = json.loads(config[0]["content"] or "")
        assert values["allowEval"] is False, a.url  # no hx-on, no js: in hx-vals, no eval of triggers
        assert values["allowScriptTags"] is False, a.url  # swapped-in <script> never runs
        assert values.get("selfRequestsOnly", True) is True, a.url
        assert values["includeIndicatorStyles"] is False, a.url  # no inline <style> (CSP style-src)
        swap_422 = [rule for rule in values["responseHandling"] if rule["code"] == "422"]
        assert swap_422 and swap_422[0]["swap"] is True, a.url
        htmx = [attrs for attrs, _body in found.scripts if HTMX_FILE in (attrs.get("src") or "")]
        assert len(htmx) == 1 and htmx[0].get("integrity") == HTMX_SRI, f"{a.url}: {htmx}"
        assert "defer" in htmx[0], a.url


def test_the_htmx_integrity_hash_matches_the_vendored_file() -> None:
    digest = base64.b64encode(hashlib.sha384((STATIC_DIR / HTMX_FILE).read_bytes()).digest()).decode()
    assert f"sha384-{digest}" == HTMX_SRI
    assert re.fullmatch(r"htmx-2\.0\.\d+\.min\.js", HTMX_FILE)


# Templates mark as safe only HTML made by app.text (sanitised when stored).
SANITISED_FIELDS = {"body_html", "description_html", "bio_html"}


def test_templates_have_no_inline_script_handler_style_or_unsanitised_html() -> None:
    files = sorted(TEMPLATES.rglob("*.html"))
    assert len(files) > 30
    for path in files:
        source = path.read_text()
        name = path.relative_to(TEMPLATES)
        for tag in re.findall(r"<script\b[^>]*>", source, flags=re.I):
            assert 'src="' in tag, f"{name}: {tag}"
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", source, flags=re.I), f"{name}: inline script"
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", source, flags=re.I), f"{name}: on…= attribute"
        assert not re.search(r"<[a-z][^>]*\sstyle\s*=", source, flags=re.I), f"{name}: style attribute"
        assert not re.search(r"<style\b|javascript:", source, flags=re.I), f"{name}: <style> or javascript:"
        for expression in re.findall(r"\{\{([^}]*)\|\s*safe\b", source):
            assert expression.strip().rsplit(".", 1)[-1] in SANITISED_FIELDS, f"{name}: |safe on {expression.strip()}"


# --- the sanitiser, for any text -----------------------------------------------------------------

# Pieces that tend to make dangerous HTML when combined: hypothesis mixes them with any text.
PIECES = [
    "<script>", "</script>", "<SCRIPT SRC=//x>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>", "<style>", "</style>", "<a href=", "<a href=\"javascript:alert(1)\">",
    "javascript:", "JaVaScRiPt:", "jav&#x09;ascript:", "&#106;avascript:", "java\tscript:", "vbscript:",
    "data:text/html,", "[x](", "![x](", "](", ")", "[", "]", "<", ">", "\"", "'", "`", "```", "``", "&", "&#",
    "&colon;", "&lt;", "%0a", "\\", "\n", "\t", " ", "\x00", "\u202e", "@user", "@", "*", "_", "#", "|", "> ",
    " onmouseover=", "onerror=", "on", "=", "alert(1)", "<!--", "-->", "<![CDATA[", "<math><mtext>",
    "<details open ontoggle=alert(1)>", "<object data=", "<embed src=", "<base href=", "<form action=",
    "<meta http-equiv=refresh content=0;url=", "<noscript>", "<template>", "[ref]: ", "<http://x/\"onmouseover=\">",
    "{{7*7}}", "{% raw %}", "style=", "xlink:href=",
]
sources = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=40).map("".join),
)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(sources)
def test_render_markdown_never_raises_and_never_outputs_active_html(source: str) -> None:
    out = render_markdown(source)
    assert isinstance(out, str)
    lowered = out.lower()
    # Text is escaped on the way out, so these can only be tags.
    for forbidden in ("<script", "<iframe", "<style", "<object", "<embed", "<svg", "<math", "<base", "<form",
                      "<meta", "<link"):
        assert forbidden not in lowered, (source, out)
    # `javascript:` may be text of the post, never inside a tag.
    for tag in re.findall(r"<[^>]*>", out):
        decoded = re.sub(r"[\x00-\x20]", "", html.unescape(tag)).lower()
        assert "javascript:" not in decoded and "vbscript:" not in decoded, (source, out)
    parser = Tags()
    parser.feed(out)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (source, out)
        for name, value in attrs:
            assert not name.startswith("on"), (source, out)
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set()), (source, out)
            if name in ("href", "src") and value:
                assert url_scheme(value) in (None, *SAFE_SCHEMES), (source, out)
