"""Machinery of the route matrix: list every route, build a world, ask as someone, compare.

`test_route_matrix.py` holds the rules (which parameter means which object, which answers may
legitimately differ); this module only knows how to enumerate routes and send requests.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app import permissions
from app.db import open_session
from app.deps import get_admin, get_current_user
from app.icons import ICONS
from app.models import Circle, Invite, Membership, Notification, Post, Thread, User
from app.permissions import CircleAccess
from app.security import csrf_token_for
from app.services import accounts, badges, memberships, posts
from tests.factories import add_member, make_circle, make_invite, make_reply, make_thread, make_user

SKIPPED_PATHS = ("/docs", "/docs/oauth2-redirect", "/openapi.json")
SKIPPED_PREFIXES = ("/static",)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
VISIBILITIES = ("open", "closed", "secret")


# Routes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One method of one route, with the inputs it declares."""

    method: str
    path: str
    path_params: tuple[str, ...]
    query_params: tuple[tuple[str, bool], ...]  # (name, required)
    form_fields: tuple[str, ...]
    json_model: Any  # a pydantic model class for a JSON body, or None
    json_embed_name: str | None  # set when FastAPI expects {"name": {...}}
    # "sign_in" or "admin" when a dependency refuses the caller before the route looks anything up
    gate: str | None = None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def is_safe(self) -> bool:
        return self.method in SAFE_METHODS

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _route_contexts(app: FastAPI) -> Iterator[tuple[Any, Any]]:
    """(original route, effective route) pairs, flattened through included routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        for route in app.routes:
            yield route, route
        return
    for context in iter_route_contexts(app.routes):
        yield context.original_route, context


def _walk(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _unique(items: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(item.alias or item.name, item)
    return list(seen.values())


def _gate(dependant: Any) -> str | None:
    calls = {d.call for d in _walk(dependant)}
    if get_admin in calls:
        return "admin"
    if get_current_user in calls:
        return "sign_in"
    return None


def enumerate_endpoints(app: FastAPI) -> list[Endpoint]:
    endpoints: list[Endpoint] = []
    for original, route in _route_contexts(app):
        path = getattr(route, "path", None) or getattr(original, "path", "")
        if path in SKIPPED_PATHS or path.startswith(SKIPPED_PREFIXES):
            continue
        assert isinstance(original, APIRoute), (
            f"{path!r} is a {type(original).__name__}, not a FastAPI APIRoute: the route matrix "
            f"cannot fill it. Make it an APIRoute or teach tests/web/route_matrix_support.py about it."
        )
        dependant = route.dependant
        path_names = tuple(re.findall(r"{(\w+)(?::\w+)?}", path))
        query = _unique([p for d in _walk(dependant) for p in d.query_params])
        body = _unique([p for d in _walk(dependant) for p in d.body_params])
        forms = tuple(p.alias for p in body if isinstance(p.field_info, params.Form))
        json_model = None
        embed_name = None
        json_params = [p for p in body if not isinstance(p.field_info, params.Form)]
        if json_params:
            assert len(json_params) == 1, f"{path}: several JSON body parameters; extend the route matrix"
            json_model = json_params[0].field_info.annotation
            if getattr(route, "_embed_body_fields", False) and not forms:
                embed_name = json_params[0].alias
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    path_params=path_names,
                    query_params=tuple((p.alias, bool(p.field_info.is_required())) for p in query),
                    form_fields=forms,
                    json_model=json_model,
                    json_embed_name=embed_name,
                    gate=_gate(dependant),
                )
            )
    return endpoints


def sample_json(model: Any, refs: dict[str, Any]) -> dict[str, Any]:
    """The smallest valid-looking body: required fields, plus fields that name an object."""
    schema = model.model_json_schema()
    body: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if name in refs:
            body[name] = refs[name]
        elif name in schema.get("required", ()):
            body[name] = _sample_value(prop)
    return body


def _sample_value(prop: dict[str, Any]) -> Any:
    options = prop.get("anyOf") or [prop]
    kinds = [option.get("type") for option in options if option.get("type") != "null"]
    kind = kinds[0] if kinds else "string"
    if kind == "integer":
        return max(1, int(prop.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return "matrix"


# The world -----------------------------------------------------------------------------------

MISSING_ID = 987_654_321
MISSING_SLUG = "no-such-circle"
MISSING_USERNAME = "nobody_here"
MISSING_CODE = "no-such-invite-code-0000000000000"
MISSING_TOKEN = "no-such-reset-token-0000000000000"


@dataclass
class CircleWorld:
    """One circle and everything inside it, with markers that must not leak."""

    circle: Circle
    card_marker: str  # in the name and description: public for a closed circle, not a secret one
    content_marker: str  # in titles, bodies, notes, request messages: members only
    hidden_marker: str  # only in the hidden post: its circle's hosts and admins only
    member: User
    asker: User
    thread: Thread
    opening: Post
    reply: Post
    hidden_post: Post
    pending: Membership
    invite: Invite
    member_session_id: int
    member_token_id: int
    member_notification_id: int
    member_reset_token: str
    award_id: int  # a manual badge the host gave the member "in" this circle


@dataclass
class World:
    admin: User
    host: User
    outsider: User
    open_host: User  # hosts the open circle only: an outsider of the others with a host's powers
    badge_slug: str  # a manual badge (awarded in every circle)
    circles: dict[str, CircleWorld] = field(default_factory=dict)


def build_world(db: Session, visibilities: tuple[str, ...] = VISIBILITIES) -> World:
    """Users, a manual badge, and the circles of `visibilities` (the open one always) filled in."""
    salt = secrets.token_hex(4)
    admin = make_user(db, "root_admin", admin=True)
    host = make_user(db, "host_user")
    outsider = make_user(db, "outsider")
    badge = badges.create_badge(
        db, by=admin, name="Matrix Badge", description="For the route matrix.", tier="bronze", icon=ICONS[0]
    )
    open_host = make_user(db, "open_host")
    world = World(admin=admin, host=host, outsider=outsider, open_host=open_host, badge_slug=badge.slug)
    for visibility in dict.fromkeys(("open", *visibilities)):
        card = f"kcard{visibility}{salt}"
        content = f"qcontent{visibility}{salt}"
        circle = make_circle(
            db,
            f"{visibility}-{salt}",
            visibility=visibility,
            by=admin,
            name=f"Circle {card}",
            description=f"About {card}.",
        )
        add_member(db, circle, host, host=True)
        member = make_user(db, f"member_{visibility}")
        add_member(db, circle, member)
        thread = make_thread(db, circle, member, title=f"Thread {content} zebra", body=f"Opening {content} zebra.")
        opening = _opening_post(db, thread)
        reply = make_reply(db, thread, host, body=f"Reply {content} zebra.")
        hidden = f"xhidden{visibility}{salt}"
        hidden_post = make_reply(db, thread, host, body=f"Hidden {content} {hidden} zebra.")
        hidden_post.hidden = True
        db.add(hidden_post)
        db.commit()
        host_access = _access(db, host, circle)
        posts.toggle_reaction(db, post=opening, access=host_access, user=host, kind="like")
        posts.toggle_reaction(db, post=reply, access=_access(db, member, circle), user=member, kind="thanks")
        asker = make_user(db, f"asker_{visibility}")
        if visibility == "closed":
            pending = memberships.request_to_join(db, circle=circle, user=asker, message=f"Please {content}")
        else:  # open and secret circles take no requests; the row is made by hand for the ids
            pending = Membership(
                user_id=asker.id,  # type: ignore[arg-type]
                circle_id=circle.id,  # type: ignore[arg-type]
                state="pending",
                request_message=f"Please {content}",
            )
            db.add(pending)
            db.commit()
        invite = make_invite(db, host, circle, note=f"Invite {content}")
        member_session = accounts.start_session(db, user=member).row
        accounts.create_api_token(db, user=member, name=f"token {content}")
        token_id = accounts.list_api_tokens(db, user=member)[-1].id
        reset_token = accounts.create_reset_token(db, user=member)
        member_notification = _notification_of(db, member, thread)
        award = badges.award_manual(db, badge=badge, user=member, by=host, reason="A good neighbour.", circle=circle)
        # The outsider was told about this thread once (say, before the circle closed): the
        # notification must stay invisible to them now.
        db.add(
            Notification(
                user_id=outsider.id,
                kind="reply",
                actor_id=host.id,
                circle_id=circle.id,
                thread_id=thread.id,
                post_id=reply.id,
            )
        )
        db.commit()
        for item in (circle, member, asker, thread, opening, reply, hidden_post, pending, invite):
            db.refresh(item)
        world.circles[visibility] = CircleWorld(
            circle=circle,
            card_marker=card,
            content_marker=content,
            hidden_marker=hidden,
            member=member,
            asker=asker,
            thread=thread,
            opening=opening,
            reply=reply,
            hidden_post=hidden_post,
            pending=pending,
            invite=invite,
            member_session_id=member_session.id,  # type: ignore[arg-type]
            member_token_id=token_id,  # type: ignore[arg-type]
            member_notification_id=member_notification,
            member_reset_token=reset_token,
            award_id=award.id,  # type: ignore[arg-type]
        )
    add_member(db, world.circles["open"].circle, open_host, host=True)
    # SQLite writers lock up front (BEGIN IMMEDIATE): leave no transaction open for the app.
    db.commit()
    return world


def _access(db: Session, user: User, circle: Circle) -> CircleAccess:
    return permissions.circle_access(db, user, circle)


def _opening_post(db: Session, thread: Thread) -> Post:
    return db.exec(select(Post).where(Post.thread_id == thread.id, Post.number == 1)).one()


def _notification_of(db: Session, user: User, thread: Thread) -> int:
    found = db.exec(
        select(Notification.id)
        .where(Notification.user_id == user.id, Notification.thread_id == thread.id)
        .order_by(col(Notification.id))
    ).first()
    assert found is not None, "the member should have been notified of the host's reply"
    return found


# Callers and answers -------------------------------------------------------------------------


@dataclass
class Caller:
    """Someone asking through a browser: a session cookie, or the anonymous one of a visitor."""

    role: str
    user: User | None
    cookie: str = ""
    session_token: str = ""

    @classmethod
    def visitor(cls) -> Caller:
        return cls(role="visitor", user=None, cookie=f"cercle_anon={secrets.token_urlsafe(16)}")

    @classmethod
    def signed_in(cls, role: str, user: User) -> Caller:
        caller = cls(role=role, user=user)
        caller.sign_in()
        return caller

    def sign_in(self) -> None:
        assert self.user is not None
        with open_session() as session:
            self.session_token = accounts.start_session(session, user=self.user).token
        self.cookie = f"cercle_session={self.session_token}"

    def keep_signed_in(self) -> None:
        """A route may have signed this browser out (POST /logout): sign in again for the next."""
        if not self.session_token:
            return
        with open_session(readonly=True) as session:
            signed_out = accounts.session_user(session, self.session_token) is None
        if signed_out:
            self.sign_in()

    def headers(self, method: str) -> dict[str, str]:
        headers = {"Cookie": self.cookie}
        if method not in SAFE_METHODS:  # the valid CSRF token of this cookie, as htmx sends it
            name, _sep, value = self.cookie.partition("=")
            seed = value if name == "cercle_session" else "anon:" + value
            headers["X-CSRF-Token"] = csrf_token_for(seed)
        return headers


@dataclass
class Request:
    endpoint: Endpoint
    url: str
    form: dict[str, str] | None = None
    json: Any = None
    htmx: bool = False

    def __str__(self) -> str:
        return f"{self.endpoint.method} {self.url}{' (htmx)' if self.htmx else ''}"


@dataclass
class Answer:
    request: Request
    status: int
    location: str
    content_type: str
    body: str

    def normalised(self) -> tuple[int, str, str, str]:
        """The answer with the asked URL blanked out, to compare a real object with a missing one."""
        url = self.request.url
        path = url.partition("?")[0]
        variants = {url, path, quote(url, safe=""), quote(path, safe=""), html.escape(url), html.escape(path)}
        # A form sent back with its errors shows what was typed in it: the caller's own input.
        echoes = {f'value="{html.escape(value)}"' for value in (self.request.form or {}).values() if value}

        def blank(text: str) -> str:
            for variant in sorted(variants, key=len, reverse=True):
                text = text.replace(variant, "{URL}")
            for echo in sorted(echoes, key=len, reverse=True):
                text = text.replace(echo, 'value="{SENT}"')
            return text

        return self.status, blank(self.location), self.content_type, blank(self.body)

    def describe(self, around: str = "") -> str:
        """The request and the answer, with the part of the body that matters (not the page head)."""
        body = self.body
        found = body.lower().find(around) if around else -1
        if found >= 0:
            body = "…" + body[max(0, found - 300) : found + 300] + "…"
        else:
            body = body[body.find("<main") :] if "<main" in body else body
            body = body if len(body) < 800 else body[:800] + "…"
        return f"{self.request} → {self.status} {self.location or ''}\n{body}"


def build_url(path: str, values: dict[str, Any], query: dict[str, Any]) -> str:
    url = path
    for name, value in values.items():
        url = re.sub(r"{" + name + r"(?::\w+)?}", quote(str(value), safe=""), url)
    if query:
        url += "?" + urlencode(query)
    return url


def send(client: TestClient, caller: Caller, request: Request) -> Answer:
    client.cookies.clear()  # every request carries exactly the caller's credentials
    method = request.endpoint.method
    headers = caller.headers(method)
    if request.htmx:
        headers["HX-Request"] = "true"
    headers["Accept-Encoding"] = "identity"  # thousands of pages: skip gzipping and ungzipping them
    kwargs: dict[str, Any] = {}
    if request.json is not None:
        kwargs["json"] = request.json
    elif request.form is not None:
        kwargs["data"] = request.form
    response = client.request(method, request.url, headers=headers, follow_redirects=False, **kwargs)
    if method not in SAFE_METHODS:
        caller.keep_signed_in()
    return Answer(
        request=request,
        status=response.status_code,
        location=response.headers.get("location", "") or response.headers.get("hx-redirect", ""),
        content_type=response.headers.get("content-type", "").split(";")[0],
        body=response.text,
    )


# The access matrix: every role beside the circles --------------------------------------------


@dataclass
class AccessCircle:
    """One circle of the access world: the route matrix's circle and a few more people in it."""

    base: CircleWorld
    peer: User  # a plain member: the one hosts and admins act on (remove, award, suspend…)
    peer_reply: Post  # by the peer: reactions, flags, moderation
    member_reply: Post  # by the circle's member: editing and deleting one's own post
    held_post: Post  # a newcomer's first post, held for a host's approval
    removed: User  # removed by a host: "allow back"


@dataclass
class AccessWorld:
    world: World
    ambassador: User  # an ambassador and a member of the three circles
    suspended: User  # a member of the three circles, then suspended
    elsewhere_host: User  # hosts `elsewhere` and is in none of the three circles
    elsewhere: Circle
    elsewhere_thread: Thread  # a thread of `elsewhere`, to move into the circles
    circles: dict[str, AccessCircle] = field(default_factory=dict)


def build_access_world(db: Session) -> AccessWorld:
    """`build_world` with its three circles, plus an ambassador, a suspended member, the host of
    another circle, and in each circle a peer, the member's own reply, a held post and a removed member."""
    from app.services import ambassadors, flags, moderation

    world = build_world(db)
    admin, host = world.admin, world.host
    ambassador = make_user(db, "ambassador_user")
    suspended = make_user(db, "suspended_user")
    elsewhere_host = make_user(db, "elsewhere_host")
    elsewhere = make_circle(db, f"elsewhere-{secrets.token_hex(4)}", visibility="open", by=admin, name="Elsewhere")
    add_member(db, elsewhere, elsewhere_host, host=True)
    elsewhere_thread = make_thread(db, elsewhere, elsewhere_host, title="Elsewhere", body="Elsewhere.")
    circles: dict[str, AccessCircle] = {}
    for visibility, cw in world.circles.items():
        circle, thread = cw.circle, cw.thread
        add_member(db, circle, ambassador)
        add_member(db, circle, suspended)
        peer = make_user(db, f"peer_{visibility}")
        add_member(db, circle, peer)
        peer_reply = make_reply(db, thread, peer, body=f"Peer {cw.content_marker} zebra.")
        member_reply = make_reply(db, thread, cw.member, body=f"Mine {cw.content_marker} zebra.")
        flags.flag_post(db, post=cw.reply, thread=thread, access=_access(db, peer, circle), user=peer, reason="spam")
        newcomer = make_user(db, f"newcomer_{visibility}")
        add_member(db, circle, newcomer)
        circle.hold_first_posts = 1
        db.add(circle)
        db.commit()
        held_post = make_reply(db, thread, newcomer, body=f"Held {cw.content_marker} zebra.")
        circle.hold_first_posts = 0
        db.add(circle)
        db.commit()
        assert held_post.held, "a newcomer's first post should wait for approval"
        removed = make_user(db, f"removed_{visibility}")
        add_member(db, circle, removed)
        memberships.remove_member(db, circle=circle, user_id=removed.id, by=host)  # type: ignore[arg-type]
        for item in (peer, peer_reply, member_reply, held_post, removed):
            db.refresh(item)
        circles[visibility] = AccessCircle(
            base=cw, peer=peer, peer_reply=peer_reply, member_reply=member_reply, held_post=held_post, removed=removed
        )
    ambassadors.grant(db, member=ambassador, by=admin, reason="Welcomes every newcomer.")
    moderation.suspend(db, user=suspended, by=admin, days=30, reason="Matrix")
    for item in (ambassador, suspended, elsewhere_host, elsewhere, elsewhere_thread):
        db.refresh(item)
    db.commit()
    return AccessWorld(
        world=world,
        ambassador=ambassador,
        suspended=suspended,
        elsewhere_host=elsewhere_host,
        elsewhere=elsewhere,
        elsewhere_thread=elsewhere_thread,
        circles=circles,
    )


class AccessCaller(Caller):
    """A caller whose session a test restores with the database (no new sign-in after a logout).

    `anon` adds the anonymous seed cookie beside the session cookie: a browser whose session no
    longer counts (a suspended account) then sends the CSRF token of its anonymous seed, as the
    pages it is shown give it.
    """

    anon: str = ""

    @classmethod
    def signed_in_with_seed(cls, role: str, user: User) -> AccessCaller:
        caller = cls(role=role, user=user)
        caller.sign_in()
        caller.anon = secrets.token_urlsafe(16)
        return caller

    def keep_signed_in(self) -> None:
        return None

    def headers(self, method: str) -> dict[str, str]:
        if not self.anon:
            return super().headers(method)
        headers = {"Cookie": f"{self.cookie}; cercle_anon={self.anon}"}
        if method not in SAFE_METHODS:
            headers["X-CSRF-Token"] = csrf_token_for("anon:" + self.anon)
        return headers


# Database snapshots: what a request changed, and putting it back ------------------------------
#
# Driver-level rows (no type processing: thousands of snapshots must stay cheap), by primary key.

# Bookkeeping that any request may touch: visits, and "last seen" times (touched at most every
# few minutes, so never inside one run, but they are not what a permission guards).
SNAPSHOT_SKIPPED_TABLES = frozenset({"visit"})
SNAPSHOT_SKIPPED_COLUMNS = frozenset({("user_session", "last_seen_at"), ("api_token", "last_used_at")})


@dataclass(frozen=True)
class _TableShape:
    name: str
    columns: tuple[str, ...]  # stored columns (computed ones are left out)
    keys: tuple[int, ...]  # positions of the primary key
    compared: tuple[int, ...]  # positions that count as a change


Snapshot = dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]


@lru_cache(maxsize=1)
def _shapes() -> tuple[_TableShape, ...]:
    from sqlmodel import SQLModel

    shapes = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name in SNAPSHOT_SKIPPED_TABLES:
            continue
        columns = tuple(c.name for c in table.c if c.computed is None)
        keys = tuple(columns.index(c.name) for c in table.primary_key.columns)
        compared = tuple(i for i, name in enumerate(columns) if (table.name, name) not in SNAPSHOT_SKIPPED_COLUMNS)
        shapes.append(_TableShape(table.name, columns, keys, compared))
    return tuple(shapes)


def take_snapshot() -> Snapshot:
    """Every row of every table but visits."""
    from app.db import get_engine

    snapshot: Snapshot = {}
    with get_engine().connect() as conn:
        for shape in _shapes():
            names = ", ".join(f'"{c}"' for c in shape.columns)
            rows = conn.exec_driver_sql(f'SELECT {names} FROM "{shape.name}"').fetchall()
            snapshot[shape.name] = {tuple(row[i] for i in shape.keys): tuple(row) for row in rows}
    return snapshot


def fingerprint() -> tuple[Any, ...]:
    """A cheap summary of `take_snapshot()` (one query): equal fingerprints, no change that counts."""
    from app.db import get_engine

    with get_engine().connect() as conn:
        return tuple(conn.exec_driver_sql(_fingerprint_sql(conn.dialect.name)).fetchall())


@lru_cache(maxsize=2)
def _fingerprint_sql(dialect: str) -> str:
    parts = []
    for shape in _shapes():
        compared = [shape.columns[i] for i in shape.compared]
        order = ", ".join(f'"{shape.columns[i]}"' for i in shape.keys)
        if dialect == "postgresql":
            row = "concat_ws('|', " + ", ".join(f'quote_nullable("{c}")' for c in compared) + ")"
            parts.append(
                f"SELECT '{shape.name}', md5(coalesce(string_agg({row}, ',' ORDER BY {order}), '')) FROM \"{shape.name}\""
            )
        else:
            row = " || '|' || ".join(f'quote("{c}")' for c in compared)
            parts.append(
                f"SELECT '{shape.name}', (SELECT group_concat(r, ',') FROM "
                f'(SELECT {row} AS r FROM "{shape.name}" ORDER BY {order}))'
            )
    return " UNION ALL ".join(parts)


def snapshot_diff(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed, one line per row: `+ table id`, `- table id`, `~ table id: columns`."""
    lines: list[str] = []
    for shape in _shapes():
        old, new = before[shape.name], after[shape.name]
        if old == new:
            continue
        lines += [f"+ {shape.name} {key}" for key in new.keys() - old.keys()]
        lines += [f"- {shape.name} {key}" for key in old.keys() - new.keys()]
        for key in new.keys() & old.keys():
            a, b = old[key], new[key]
            if a != b:
                changed = [shape.columns[i] for i in shape.compared if a[i] != b[i]]
                if changed:
                    lines.append(f"~ {shape.name} {key}: {changed}")
    return sorted(lines)


def restore_snapshot(baseline: Snapshot, current: Snapshot) -> None:
    """Puts the rows back as they were in `baseline`, in any order: SQLite checks foreign keys at
    commit; PostgreSQL skips their triggers (`session_replication_role`, which the test server's
    superuser may set)."""
    from app.db import get_engine

    with get_engine().begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        mark = "%s" if postgres else "?"
        if postgres:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for shape in _shapes():
            old, new = baseline[shape.name], current[shape.name]
            if old == new:
                continue
            key_names = [shape.columns[i] for i in shape.keys]
            where = " AND ".join(f'"{name}" = {mark}' for name in key_names)
            gone = [key for key in new.keys() - old.keys()]
            if gone:
                conn.exec_driver_sql(f'DELETE FROM "{shape.name}" WHERE {where}', gone)
            changed = [old[key] + key for key in old.keys() & new.keys() if old[key] != new[key]]
            if changed:
                assignments = ", ".join(f'"{c}" = {mark}' for c in shape.columns)
                conn.exec_driver_sql(f'UPDATE "{shape.name}" SET {assignments} WHERE {where}', changed)
            missing = [old[key] for key in old.keys() - new.keys()]
            if missing:
                names = ", ".join(f'"{c}"' for c in shape.columns)
                marks = ", ".join(mark for _c in shape.columns)
                conn.exec_driver_sql(f'INSERT INTO "{shape.name}" ({names}) VALUES ({marks})', missing)
