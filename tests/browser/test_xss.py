"""XSS in a real browser: every payload of `xss_payloads.py` in every place a user writes.

The payloads go in through the JSON API with Bearer tokens (and through the services for what
has no API: display names, bios, API token names, the site name), then headless Chromium opens
every page and htmx fragment that shows them, as the people who would see them.

Two sweeps over the same pages:

1. CSP bypassed (`bypass_csp=True`): the escaping and the sanitiser alone must hold. Every
   payload calls `__xss(ID)` where `alert(1)` would be; the page defines `window.__xss` before
   its own scripts (init script), so any execution is recorded in `window.__xssHits`. Dialogs are
   watched too. Each page is also audited (`__xssAudit`): no inline script, no `on…=` attribute,
   no `style` attribute, no `javascript:`/`data:`/`vbscript:` URL, no frame/object/embed/base/meta
   refresh/foreign form, no `hx-on`, and inside user content only the sanitiser's tags and
   attributes. Mouse and focus events are fired at every element (`__xssPoke`), and the mouse is
   really moved over every post body.
2. The shipped Content-Security-Policy enforced: the dense pages again, the header checked, and
   any CSP violation fails the test (the `new_page` fixture turns it into an error).

Runs on SQLite and PostgreSQL (the `db` fixture). PostgreSQL refuses NUL in text: the API must
answer 422 (checked), and the same text without the NUL is stored instead.
"""

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import update
from sqlmodel import Session, col

from app import web
from app.middleware import SESSION_COOKIE
from app.models import User, utcnow
from app.services import accounts, site
from app.text import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from tests.browser.xss_payloads import KINDS, PAYLOADS, Payload
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

# --- what runs in every page before the page's own scripts -------------------------------------

USER_ATTRIBUTES = {tag: sorted(attrs | ({"rel"} if tag == "a" else set())) for tag, attrs in ALLOWED_ATTRIBUTES.items()}
INIT_SCRIPT = (
    "const __xssAllowedTags = " + json.dumps(sorted(ALLOWED_TAGS)) + ";\n"
    "const __xssAllowedAttributes = " + json.dumps(USER_ATTRIBUTES) + ";\n"
    + r"""
window.__xssHits = [];
window.__xss = function (id) { (window.__xssHits = window.__xssHits || []).push(id); };

// Containers of sanitised user HTML (Markdown posts, circle descriptions, bios).
const USER_HTML = ".post-body, .description, .bio";
const URL_ATTRIBUTES = ["href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "cite", "ping"];
const SAFE_PROTOCOLS = ["http:", "https:", "mailto:"];
const NEVER = ["iframe", "frame", "frameset", "object", "embed", "applet", "base", "style", "noscript", "template", "xmp",
               "plaintext", "isindex", "portal", "math"];

window.__xssAudit = function (root) {
  const problems = [];
  const here = (el) => "<" + el.tagName.toLowerCase() + ">" + (el.id ? "#" + el.id : "");
  const elements = root.querySelectorAll ? root.querySelectorAll("*") : [];
  for (const el of elements) {
    const tag = el.tagName.toLowerCase();
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) problems.push("event handler attribute " + name + " on " + here(el));
      if (name === "style") problems.push("style attribute on " + here(el));
      if (name === "srcdoc") problems.push("srcdoc on " + here(el));
      if (name.startsWith("hx-on") || name.startsWith("data-hx-on")) problems.push(name + " on " + here(el));
      if (URL_ATTRIBUTES.includes(name) || name.endsWith(":href")) {
        let protocol = "unparsable:";
        try { protocol = new URL(attr.value, document.baseURI).protocol; } catch (e) { /* reported below */ }
        if (!SAFE_PROTOCOLS.includes(protocol)) problems.push(name + "=" + JSON.stringify(attr.value.slice(0, 80)) + " on " + here(el));
      }
    }
    if (NEVER.includes(tag)) problems.push("element " + here(el));
    if (tag === "meta" && el.getAttribute("http-equiv")) problems.push("meta http-equiv");
    if (tag === "script") {
      const src = el.getAttribute("src") || "";
      let ok = false;
      try { const url = new URL(src, document.baseURI); ok = url.origin === location.origin && url.pathname.startsWith("/static/"); } catch (e) { ok = false; }
      if (!ok || el.textContent.trim()) problems.push("script " + JSON.stringify(src.slice(0, 80)));
    }
    if (tag === "link") {
      let ok = false;
      try { ok = new URL(el.href).origin === location.origin && ["icon", "stylesheet"].includes(el.rel) && !!el.closest("head"); } catch (e) { ok = false; }
      if (!ok) problems.push("link " + JSON.stringify(el.outerHTML.slice(0, 80)));
    }
    if (tag === "form") {
      let ok = false;
      // getAttribute: `form.action` is clobbered by a field named "action" (the moderation log filter).
      try { ok = new URL(el.getAttribute("action") || "", document.baseURI).origin === location.origin; } catch (e) { ok = false; }
      if (!ok) problems.push("form action " + JSON.stringify(el.getAttribute("action")));
    }
    const container = el.parentElement && el.parentElement.closest(USER_HTML);
    if (container) {
      if (!__xssAllowedTags.includes(tag)) problems.push("<" + tag + "> inside user content");
      const allowed = __xssAllowedAttributes[tag] || [];
      for (const attr of Array.from(el.attributes)) {
        if (!allowed.includes(attr.name.toLowerCase())) problems.push(attr.name + " on <" + tag + "> inside user content");
      }
    }
  }
  return problems;
};

// Fires the events that inline handlers of the payloads listen to, at every element of `root`.
window.__xssPoke = function (root) {
  const pointer = ["mouseover", "mouseenter", "mousemove", "pointerover", "pointerenter", "pointermove", "mouseout"];
  const focus = ["focus", "focusin", "blur", "focusout"];
  const media = ["error", "load", "toggle", "animationstart", "begin"];
  const elements = root.querySelectorAll ? root.querySelectorAll("*") : [];
  for (const el of elements) {
    for (const type of pointer) el.dispatchEvent(new MouseEvent(type, { bubbles: true, view: window }));
    for (const type of focus) el.dispatchEvent(new FocusEvent(type, { bubbles: type.endsWith("in") || type.endsWith("out") }));
    if (el.parentElement && el.parentElement.closest(USER_HTML)) {
      for (const type of media) el.dispatchEvent(new Event(type));
    }
  }
};
"""
)

CHECK_JS = "() => { window.__xssPoke(document); return {hits: window.__xssHits || [], problems: window.__xssAudit(document)}; }"

FRAGMENTS_JS = """async (urls) => {
  let sink = document.getElementById("xss-sink");
  if (!sink) { sink = document.createElement("div"); sink.id = "xss-sink"; document.querySelector("main").append(sink); }
  const results = [];
  for (const url of urls) {
    sink.innerHTML = "";
    const settled = new Promise((resolve) => sink.addEventListener("htmx:afterSettle", resolve, { once: true }));
    await htmx.ajax("GET", url, { target: "#xss-sink", swap: "innerHTML" });
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 3000))]);
    window.__xssPoke(sink);
    results.push({ url: url, size: sink.innerHTML.length, fullPage: !!sink.querySelector(".topbar"),
                   problems: window.__xssAudit(sink) });
  }
  return results;
}"""

# Submits the page's own htmx reply form (as a member would), after setting its fields.
REPLY_JS = """async ([body, replyTo]) => {
  const form = document.querySelector("#reply form");
  form.querySelector("textarea[name=body]").value = body;
  form.querySelector("input[name=reply_to]").value = replyTo;
  const done = new Promise((resolve) => document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target && event.detail.target.id === "reply") resolve(true);
  }));
  form.requestSubmit();
  return await Promise.race([done, new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
}"""

HOVER_JS = """(index) => {
  const el = document.querySelectorAll(".post-body")[index];
  el.scrollIntoView({ block: "center" });
  const r = el.getBoundingClientRect();
  return [r.left, r.top, r.width, Math.min(r.height, window.innerHeight - Math.max(r.top, 0))];
}"""


# --- packing payloads into fields ----------------------------------------------------------------


def fit(text: str, limit: int) -> str:
    """A payload longer than the field keeps its end (where the long payloads put their attack)."""
    return text if len(text) <= limit else text[-limit:]


def pack(limit: int, sep: str = " ", payloads: Iterable[Payload] = PAYLOADS) -> list[tuple[str, list[int]]]:
    """Payloads joined into as few values of at most `limit` characters as possible."""
    chunks: list[tuple[str, list[int]]] = []
    text, ids = "", []
    for payload in payloads:
        piece = fit(payload.text, limit)
        if text and len(text) + len(sep) + len(piece) <= limit:
            text, ids = text + sep + piece, ids + [payload.id]
        else:
            if text:
                chunks.append((text, ids))
            text, ids = piece, [payload.id]
    chunks.append((text, ids))
    return chunks


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    return False


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    return value


class Api:
    """One person's Bearer-token client for /api/v1."""

    def __init__(self, base: str, token: str, world: "World") -> None:
        self.http = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.world = world
        world.clients.append(self)

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None,
                 ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        if body is not None and self.world.postgres and _has_nul(body):
            refused = self.http.request(method, path, json=body)
            assert refused.status_code == 422, f"{method} {path} with a NUL byte: {refused.status_code} {refused.text[:200]}"
            self.world.nul_refusals += 1
            body = _without_nul(body)
        response = self.http.request(method, path, json=body)
        assert response.status_code in ok, f"{method} {path}: {response.status_code} {response.text[:300]}"
        self.world.api_calls += 1
        return response.json() if response.content else None

    def close(self) -> None:
        self.http.close()


@dataclass
class World:
    postgres: bool
    placed: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    api_calls: int = 0
    nul_refusals: int = 0
    sessions: dict[str, str] = field(default_factory=dict)  # who -> session cookie
    clients: list["Api"] = field(default_factory=list)
    usernames: list[str] = field(default_factory=list)
    badge_slugs: list[str] = field(default_factory=list)
    circle_slugs: list[str] = field(default_factory=list)
    thread_ids: list[int] = field(default_factory=list)
    posts_thread: int = 0
    posts_thread_pages: int = 1
    edit_thread: int = 0
    edited_post: int = 0
    mod_thread: int = 0
    victim_opening: int = 0
    queue_invite: str = ""
    literal_titles: dict[int, str] = field(default_factory=dict)  # thread id -> title that must show as text

    def place(self, where: str, ids: Iterable[int]) -> None:
        self.placed[where].update(ids)

    def clean(self, text: str) -> str:
        """For writes through the services: PostgreSQL cannot store NUL (the API part checks the 422)."""
        return text.replace("\x00", "") if self.postgres else text


def chunk_with(chunks: list[tuple[str, list[int]]], needle: str) -> tuple[str, list[int]]:
    return next(c for c in chunks if needle in c[0])


# --- seeding: the payloads go in ---------------------------------------------------------------


def seed(db: Session, base: str, world: World) -> None:  # noqa: PLR0915 (one long, linear story)
    names60 = pack(60)
    names55 = pack(55)
    names80 = pack(80)
    titles = pack(200)
    texts300 = pack(300)
    texts1000 = pack(1000)
    markdown1000 = pack(1000, sep="\n\n")
    markdown2000 = pack(2000, sep="\n\n")
    all_ids = [p.id for p in PAYLOADS]

    # The site's name and description (admin, no API): every page shows the name.
    site_name, site_ids = chunk_with(names60, "</title>")
    site_description, description_ids = texts1000[0]
    site.update(db, name=world.clean(site_name), description=world.clean(site_description))
    web.forget_site_config()
    world.place("site name", site_ids)
    world.place("site description", description_ids)

    # People. Display names and bios have no API (settings form → accounts.update_profile).
    admin = make_user(db, "xadmin", admin=True, display_name=world.clean(names60[0][0]))
    api_admin = Api(base, accounts.create_api_token(db, user=admin, name="xss admin"), world)
    world.sessions["admin"] = accounts.start_session(db, user=admin).token
    users: list[User] = []
    for index, (name, ids) in enumerate(names60):
        user = accounts.register_user(db, username=f"xu{index:03d}", email=f"xu{index:03d}@example.com",
                                      password=PASSWORD, display_name=world.clean(name))
        bio, bio_ids = markdown1000[index % len(markdown1000)]
        accounts.update_profile(db, user=user, display_name=world.clean(name), bio=world.clean(bio), language=None)
        users.append(user)
        world.usernames.append(user.username)
        world.place("display names", ids)
        world.place("bios", bio_ids)
    apis = [Api(base, accounts.create_api_token(db, user=u, name="xss"), world) for u in users]
    victim = make_user(db, "xvictim", display_name=world.clean(chunk_with(names60, "autofocus onfocus")[0]))
    accounts.update_profile(db, user=victim, display_name=victim.display_name,
                            bio=world.clean(markdown1000[-1][0]), language=None)
    api_victim = Api(base, accounts.create_api_token(db, user=victim, name="xss victim"), world)
    for name, ids in names60:  # the settings page lists a member's API tokens by name
        accounts.create_api_token(db, user=victim, name=world.clean(name))
        world.place("API token names", ids)
    world.sessions["victim"] = accounts.start_session(db, user=victim).token
    suspended = make_user(db, "xsuspended", display_name=world.clean(names60[1][0]))

    # Circles (admin): one per payload for names and descriptions, and two stages.
    stage_name, stage_ids = chunk_with(names80, "</title>")
    api_admin("POST", "/circles", {"slug": "stage", "name": stage_name, "description": markdown2000[0][0],
                                   "visibility": "open"})
    queue_name, queue_ids = chunk_with(names80, "</option>")
    api_admin("POST", "/circles", {"slug": "queue", "name": queue_name, "description": markdown2000[-1][0],
                                   "visibility": "closed"})
    world.place("circle names", stage_ids + queue_ids)
    world.place("circle descriptions", markdown2000[0][1] + markdown2000[-1][1])
    for payload in PAYLOADS:
        slug = f"x{payload.id:03d}"
        api_admin("POST", "/circles", {"slug": slug, "name": fit(payload.text, 80),
                                       "description": fit(payload.text, 2000), "visibility": "open"})
        world.circle_slugs.append(slug)
    world.place("circle names", all_ids)
    world.place("circle descriptions", all_ids)

    for api in [api_admin, api_victim, *apis]:
        api("POST", "/circles/stage/join")

    # One post per payload (each by another member), in one thread.
    created = api_admin("POST", "/circles/stage/threads", {"title": titles[0][0], "body": "One post per payload."})
    world.posts_thread = created["id"]
    world.thread_ids.append(created["id"])
    world.literal_titles[created["id"]] = titles[0][0]
    posts_by_author: list[tuple[int, int]] = []  # (post id, author index)
    for index, payload in enumerate(PAYLOADS):
        author = index % len(apis)
        post = apis[author]("POST", f"/threads/{world.posts_thread}/posts", {"body": payload.text})
        posts_by_author.append((post["id"], author))
    world.place("post bodies", all_ids)
    world.posts_thread_pages = -(-(len(PAYLOADS) + 1) // 20)

    # Thread titles: packed, one thread each.
    world.place("thread titles", titles[0][1])
    for index, (title, ids) in enumerate(titles[1:], start=1):
        created = apis[index % len(apis)]("POST", "/circles/stage/threads", {"title": title, "body": "Title probe."})
        world.thread_ids.append(created["id"])
        world.literal_titles[created["id"]] = title
        world.place("thread titles", ids)

    # Post edits: one post edited once per payload (its revisions page lists them all).
    created = api_admin("POST", "/circles/stage/threads", {"title": names80[2][0], "body": "First version."})
    world.edit_thread = created["id"]
    world.edited_post = api_admin("GET", f"/threads/{world.edit_thread}")["posts"][0]["id"]
    for payload in PAYLOADS:
        api_admin("PATCH", f"/posts/{world.edited_post}", {"body": payload.text})
    world.place("post edits", all_ids)

    # Moderation: the victim writes, an admin hides, warns and deletes with payload reasons.
    everything = "\n\n".join(p.text for p in PAYLOADS)[:50_000]
    created = api_victim("POST", "/circles/stage/threads", {"title": titles[-1][0], "body": everything})
    world.mod_thread = created["id"]
    world.victim_opening = api_victim("GET", f"/threads/{world.mod_thread}")["posts"][0]["id"]
    for index, (reason, ids) in enumerate(texts1000):
        hidden = api_victim("POST", f"/threads/{world.mod_thread}/posts", {"body": f"Reply {index}, to be hidden."})
        api_admin("POST", f"/mod/posts/{hidden['id']}/hide", {"reason": reason})
        api_admin("POST", f"/mod/posts/{hidden['id']}/warn", {"reason": reason})
        deleted = api_victim("POST", f"/threads/{world.mod_thread}/posts", {"body": f"Reply {index}, to be deleted."})
        api_admin("POST", f"/mod/posts/{deleted['id']}/delete", {"reason": reason})
        api_admin("POST", f"/threads/{world.mod_thread}/moderation/{'pin' if index % 2 == 0 else 'unpin'}",
                  {"reason": reason})
        for where in ("hide reasons", "warnings", "delete reasons", "thread moderation reasons"):
            world.place(where, ids)

    # Join requests, flags, invites, ambassador grants and revocations, pulse answers.
    db.exec(update(User).where(col(User.id).in_([u.id for u in users]))  # type: ignore[call-overload]
            .values(created_at=utcnow() - timedelta(days=30)))
    db.commit()
    for index, (text, ids) in enumerate(texts1000):
        member = world.usernames[index]
        apis[index]("POST", "/circles/queue/requests", {"message": text})
        world.place("join-request messages", ids)
        # A flag on a post by someone else (one flag per post: three would hide it).
        post_id, author = posts_by_author[index + 2]
        assert author != index
        apis[index]("POST", f"/posts/{post_id}/flags", {"reason": "other", "text": text})
        world.place("flag texts", ids)
        api_admin("POST", "/invites", {"note": text})
        api_admin("POST", "/invites", {"circle": "stage", "note": text})
        world.place("site invite notes", ids)
        world.place("circle invite notes", ids)
        api_admin("POST", f"/users/{member}/ambassador", {"reason": text})
        world.place("ambassador grant reasons", ids)
        later = world.usernames[len(texts1000) + index]
        api_admin("POST", f"/users/{later}/ambassador", {"reason": "Soon revoked."})
        api_admin("POST", f"/users/{later}/ambassador/revoke", {"reason": text})
        world.place("ambassador revoke reasons", ids)
        apis[index]("POST", "/pulse", {"score": index % 11, "comment": text})
        world.place("pulse comments", ids)
        if index:
            api_admin("DELETE", f"/users/{suspended.username}/suspension")
        api_admin("POST", f"/users/{suspended.username}/suspension", {"days": 3, "reason": text})
        world.place("suspension reasons", ids)
    # A flag reason is a choice, not text: a payload there is refused.
    api_victim("POST", f"/posts/{posts_by_author[0][0]}/flags",
               {"reason": PAYLOADS[0].text[:20], "text": "x"}, ok=(422,))
    world.queue_invite = api_admin("POST", "/invites", {"circle": "queue", "note": "for the victim"})["code"]

    # Badges (admin) with payload names and descriptions, awarded with payload reasons.
    for index, (name, ids) in enumerate(names55):
        description, description_ids = texts300[index % len(texts300)]
        badge = api_admin("POST", "/badges", {"name": f"{index} {name}", "description": description,
                                              "tier": ("bronze", "silver", "gold")[index % 3], "icon": "star"})
        world.badge_slugs.append(badge["slug"])
        reason, reason_ids = texts1000[index % len(texts1000)]
        api_admin("POST", f"/badges/{badge['slug']}/awards",
                  {"username": world.usernames[index % len(users)], "reason": reason})
        world.place("badge names", ids)
        world.place("badge descriptions", description_ids)
        world.place("award reasons", reason_ids)

    # The victim: asks to join the queue (declined: a notice naming it) and is removed from a circle.
    request = api_victim("POST", "/circles/queue/requests", {"message": "Let me in."})
    api_admin("POST", f"/circles/queue/requests/{request['id']}/decline")
    api_victim("POST", f"/circles/{world.circle_slugs[0]}/join")
    api_admin("DELETE", f"/circles/{world.circle_slugs[0]}/members/{victim.username}")

    # This session writes (BEGIN IMMEDIATE on SQLite): it must hold no transaction while the pages load.
    db.commit()


# --- the browser ------------------------------------------------------------------------------


class Sweep:
    """Opens pages as the people who see them and records executions and audit problems."""

    def __init__(self, new_page: Callable[..., Any], base: str, world: World, *, enforce_csp: bool) -> None:
        self.enforce_csp = enforce_csp
        self.pages: dict[str, Any] = {}
        self.opened = 0
        self.fragments = 0
        self.hits: list[str] = []
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        for who in ("admin", "victim", "anonymous"):
            page = new_page(bypass_csp=not enforce_csp)
            page.context.add_init_script(INIT_SCRIPT)
            if who in world.sessions:
                page.context.add_cookies([{"name": SESSION_COOKIE, "value": world.sessions[who], "url": base}])
            page.on("dialog", self._dialog)
            self.pages[who] = page

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, who: str, path: str, *, hover: bool = False, status: int = 200) -> Any:
        page = self.pages[who]
        response = page.goto(path)
        self.opened += 1
        assert response is not None and response.status == status, f"{who} {path}: {response and response.status}"
        if self.enforce_csp:
            policy = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy, f"{path}: CSP {policy!r}"
        if hover:
            self.hover_posts(page)
        self.check(who, path)
        return page

    def open_paged(self, who: str, path: str, *, hover: bool = False) -> None:
        """The page and the next ones, as long as the page links to the next."""
        joiner = "&" if "?" in path else "?"
        page = self.open(who, path, hover=hover)
        for number in range(2, 60):
            if not page.locator(f"a[href*='page={number}']").count():
                return
            page = self.open(who, f"{path}{joiner}page={number}", hover=hover)

    def check(self, who: str, where: str) -> None:
        result = self.pages[who].evaluate(CHECK_JS)
        self.hits += [f"payload {hit} ran on {where} ({who})" for hit in result["hits"]]
        self.problems += [f"{where} ({who}): {problem}" for problem in result["problems"]]

    def hover_posts(self, page: Any) -> None:
        """Really moves the mouse over every post body (top to bottom, left to right)."""
        for index in range(page.locator(".post-body").count()):
            left, top, width, height = page.evaluate(HOVER_JS, index)
            if width <= 0 or height <= 0:
                continue
            page.mouse.move(left + 2, max(top, 0) + 2)
            page.mouse.move(left + width - 2, max(top, 0) + height / 2, steps=4)
            page.mouse.move(left + width / 2, max(top, 0) + height - 2, steps=2)

    def fragments_in(self, who: str, urls: list[str]) -> None:
        """GETs htmx fragments from inside a page (HX-Request) and swaps them in with htmx."""
        for result in self.pages[who].evaluate(FRAGMENTS_JS, urls):
            self.fragments += 1
            assert result["size"] > 0 and not result["fullPage"], f"{result['url']}: not an htmx fragment"
            self.problems += [f"fragment {result['url']}: {problem}" for problem in result["problems"]]
        self.check(who, f"{len(urls)} fragments")

    def reply_with_htmx(self, who: str, body: str, reply_to: str = "") -> None:
        assert self.pages[who].evaluate(REPLY_JS, [body, reply_to]), "the htmx reply was not swapped in"
        self.fragments += 1
        self.check(who, "htmx reply")


def sweep_pages(sweep: Sweep, world: World, *, full: bool) -> None:
    """Every page that shows the payloads; `full=False` keeps the pages that list many of them."""
    admin, victim = "admin", "victim"
    for path in ["/", "/c", "/c/stage/requests", "/c/stage/settings", "/c/queue", "/c/queue/members",
                 "/c/queue/requests", "/c/queue/settings", "/badges", "/admin", "/admin/ambassadors",
                 "/admin/pulse", "/admin/badges", "/admin/circles", "/admin/kpis", "/admin/kpis?circle=stage",
                 "/mod", "/invites", f"/p/{world.edited_post}/revisions", f"/t/{world.edit_thread}",
                 "/search?q=svg"]:
        sweep.open(admin, path)
    for path in ["/c/stage", "/c/stage/members", "/notifications", "/mod/log", "/search?q=xss"]:
        sweep.open_paged(admin, path)
    sweep.open_paged(admin, f"/t/{world.posts_thread}", hover=True)
    sweep.open(admin, f"/t/{world.mod_thread}", hover=True)
    for who in (admin, victim):
        sweep.open(who, "/u/xvictim")
    sweep.open(admin, "/u/xsuspended")
    # The victim's own view: notices with reasons, the settings form, the edit form, an invite.
    sweep.open_paged(victim, "/notifications")
    for path in ["/settings", f"/t/{world.mod_thread}", f"/p/{world.victim_opening}/edit",
                 f"/invite/{world.queue_invite}", "/c"]:
        sweep.open(victim, path, hover=path.startswith("/t/"))
    sweep.open("anonymous", "/")
    if not full:
        return
    # One page per object: a title, a heading, a breadcrumb each.
    for thread_id in world.thread_ids:
        page = sweep.open(admin, f"/t/{thread_id}")
        if thread_id in world.literal_titles:
            expected = " ".join(world.literal_titles[thread_id].replace("\x00", "").split())
            shown = " ".join(page.locator("h1").first.inner_text().split())
            assert shown.startswith(expected[:100]), f"thread {thread_id}: title not shown as text: {shown[:120]!r}"
    for slug in world.circle_slugs:
        sweep.open(admin, f"/c/{slug}")
    for slug in world.badge_slugs:
        sweep.open(admin, f"/badges/{slug}")
    for username in world.usernames:
        sweep.open(admin, f"/u/{username}")
    # Search terms come back in the page (field value, "nothing matches"): the breakouts, full page.
    for payload in PAYLOADS:
        if payload.kind in ("breakout", "template"):
            sweep.open(admin, "/search?" + str(httpx.QueryParams({"q": fit(payload.text, 500)})))


def sweep_fragments(sweep: Sweep, world: World) -> None:
    admin = "admin"
    sweep.open(admin, "/badges")
    urls = [f"/t/{world.posts_thread}?page={page}" for page in range(1, world.posts_thread_pages + 1)]
    urls += [f"/t/{world.mod_thread}", "/c/stage", "/c/stage?page=2", "/admin/kpis?circle=stage",
             "/notifications/count", "/search?q=xss", "/search?q=xss&page=2"]
    urls += ["/search?" + str(httpx.QueryParams({"q": fit(p.text, 500)})) for p in PAYLOADS]
    sweep.fragments_in(admin, urls)
    # The reply form, through htmx as a member uses it: a new post per kind of payload, then
    # refused replies whose text comes back in the form (422, swapped in as htmx is configured).
    sweep.open(admin, f"/t/{world.edit_thread}")
    first_of_kind = [next(p for p in PAYLOADS if p.kind == kind) for kind in KINDS]
    for payload in first_of_kind:
        sweep.reply_with_htmx(admin, payload.text)
    for payload in PAYLOADS:
        if payload.kind in ("breakout", "template"):
            sweep.reply_with_htmx(admin, payload.text, reply_to=str(world.victim_opening))  # not in this thread
            sweep.reply_with_htmx(admin, "   ", reply_to=payload.text)  # empty body; reply_to comes back
    world.place("htmx replies", [p.id for p in first_of_kind])
    world.place("refused htmx replies (form values)", [p.id for p in PAYLOADS if p.kind in ("breakout", "template")])
    expect(sweep.pages[admin].locator("#post-list > li.just-posted")).to_have_count(len(first_of_kind))


def sign_in_suspended(sweep: Sweep) -> None:
    """The suspension reason is shown at sign-in."""
    page = sweep.pages["anonymous"]
    page.goto("/login")
    sweep.opened += 1
    page.get_by_label("Username or e-mail").fill("xsuspended")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("suspended")
    sweep.check("anonymous", "/login (suspended)")


def join_with_flash(sweep: Sweep, world: World) -> None:
    """Joining without htmx: the next page greets with the circle's (payload) name in a flash."""
    page = sweep.pages["victim"]
    slug = world.circle_slugs[[p.kind for p in PAYLOADS].index("breakout")]
    sweep.open("victim", f"/c/{slug}")
    with page.expect_navigation():
        page.evaluate("() => document.querySelector('#membership form').submit()")
    sweep.opened += 1
    expect(page.get_by_role("status")).to_contain_text("Welcome to")
    sweep.check("victim", f"/c/{slug} (flash)")


def test_no_payload_runs_anywhere(new_page: Callable[..., Any], live_server: str, db: Session) -> None:
    started = time.monotonic()
    world = World(postgres=db.get_bind().dialect.name == "postgresql")
    try:
        seed(db, live_server, world)
    finally:
        for client in world.clients:
            client.close()
    seeded = time.monotonic()

    bypassed = Sweep(new_page, live_server, world, enforce_csp=False)
    print("TIMING seed", time.monotonic() - started)
    sweep_pages(bypassed, world, full=True)
    print("TIMING pages", time.monotonic() - started, bypassed.opened)
    sweep_fragments(bypassed, world)
    print("TIMING fragments", time.monotonic() - started)
    join_with_flash(bypassed, world)
    enforced = Sweep(new_page, live_server, world, enforce_csp=True)
    sweep_pages(enforced, world, full=False)
    print("TIMING enforced", time.monotonic() - started)
    sign_in_suspended(enforced)

    hits = bypassed.hits + enforced.hits
    dialogs = bypassed.dialogs + enforced.dialogs
    problems = bypassed.problems + enforced.problems
    opened = bypassed.opened + enforced.opened
    fragments = bypassed.fragments + enforced.fragments
    injections = sum(len(ids) for ids in world.placed.values())
    print(
        f"\nXSS ({db.get_bind().dialect.name}): {len(PAYLOADS)} payloads × {len(world.placed)} places "
        f"({injections} injections, {world.api_calls} API calls, {world.nul_refusals} NUL refusals), "
        f"{opened} pages opened (+{fragments} htmx fragments), {len(hits) + len(dialogs)} executions "
        f"[seed {seeded - started:.0f}s, browser {time.monotonic() - seeded:.0f}s]"
    )
    for where, ids in sorted(world.placed.items()):
        print(f"  {where}: {len(ids)} payloads")
    assert not hits, "payloads ran:\n  " + "\n  ".join(hits[:50])
    assert not dialogs, "dialogs opened:\n  " + "\n  ".join(dialogs[:50])
    assert not problems, f"{len(problems)} dangerous things in the pages:\n  " + "\n  ".join(problems[:80])
