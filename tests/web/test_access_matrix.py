"""The access matrix (issue #8): every route × every role × open, closed and secret circles.

DESIGN.md, "People and powers" and "Circles", as a table: each route (read from the app, so a new
one fails here until it is classified) needs one power — read the circle, post in it, moderate
it, approve its requests, invite to it, be staff, be an administrator, be signed in, nothing.
Every role asks every route about every circle, and the answer's class must match the table:

- allowed: 2xx, or 3xx anywhere but the sign-in page, or a 4xx that judges the input once the
  permission passed (400, 409, 422);
- refused: 401 or a redirect to sign in for visitors, 403, or 404 — and 404 only, the same as a
  missing object, for a signed-in non-member asking inside a closed or secret circle.

Unsafe requests carry a valid CSRF token (this file tests permissions, not CSRF). A refused one
must change nothing in the database; whatever an allowed one changes is put back before the next
request, so every cell meets the same world.

Suspended members: DESIGN says "a suspended account can sign in to nothing". `accounts.session_user`
drops their session, so their browser is a visitor's: the table expects of them what it expects
of visitors, everywhere (and `test_a_suspended_account_signs_in_to_nothing` covers tokens and sign-in).

Where the code answers a refusal otherwise than with 403/404, on purpose, the table says so
(`soft`): the reply and flag forms come back with "join this circle to take part" (422, which
htmx swaps) or as a flash message on a redirect; marking someone else's notification read does
nothing. Such a refusal must still change nothing. Admins hide and delete posts through
moderation, but edit or delete only their own (DESIGN gives authors that power; the code keeps it).

A new route fails `test_every_route_is_classified` until TABLE names the power it needs; a new
path parameter fails until PATH_DEFAULTS (or the route's spec) says which object of the world it
names.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.icons import ICONS
from tests.web.route_matrix_support import (
    VISIBILITIES,
    AccessCaller,
    AccessCircle,
    AccessWorld,
    Answer,
    Caller,
    Endpoint,
    Request,
    build_access_world,
    build_url,
    enumerate_endpoints,
    fingerprint,
    restore_snapshot,
    sample_json,
    send,
    snapshot_diff,
    take_snapshot,
)

ROLES = ("visitor", "outsider", "member", "ambassador", "host_elsewhere", "host", "admin", "suspended")


# Who a role is, in one circle ----------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    role: str
    vis: str
    signed_in: bool  # a suspended account's session counts for nothing
    admin: bool
    member: bool  # an active member of the circle (members, the ambassador, the host)
    host: bool  # hosts this circle
    ambassador: bool
    hosts_any: bool  # staff: hosts some circle


def facts(role: str, vis: str) -> Facts:
    return Facts(
        role=role,
        vis=vis,
        signed_in=role not in ("visitor", "suspended"),
        admin=role == "admin",
        member=role in ("member", "ambassador", "host"),
        host=role == "host",
        ambassador=role == "ambassador",
        hosts_any=role in ("host", "host_elsewhere"),
    )


# Powers (DESIGN.md "People and powers", "Circles") -------------------------------------------

Rule = Callable[[Facts], bool]


def anyone(f: Facts) -> bool:
    return True


def nobody(f: Facts) -> bool:
    return False


def signed_in(f: Facts) -> bool:
    return f.signed_in


def admin(f: Facts) -> bool:
    return f.admin


def staff(f: Facts) -> bool:
    """Admins and hosts of any circle (the queue, the log, the ambassador program, site invites)."""
    return f.admin or f.hosts_any


def see_card(f: Facts) -> bool:
    """Open and closed circles show everyone their card; a secret one only its members."""
    return f.vis != "secret" or f.member or f.admin


def read(f: Facts) -> bool:
    """Content: any signed-in user in an open circle, members only in closed and secret ones."""
    return f.signed_in and (f.admin or f.member or f.vis == "open")


def post(f: Facts) -> bool:
    """Write, react, flag: members (admins: everything). A non-member of an open circle joins first."""
    return read(f) and (f.member or f.admin)


def moderate(f: Facts) -> bool:
    """The circle's hosts and admins — the host of another circle has no power here."""
    return f.admin or f.host


def approve(f: Facts) -> bool:
    """Hosts, and ambassadors in the closed circles they belong to."""
    return moderate(f) or (f.ambassador and f.member and f.vis == "closed")


def invite(f: Facts) -> bool:
    """Members invite unless the host turned it off (it is on here); secret circles: hosts only."""
    return moderate(f) or (f.member and f.vis != "secret")


def member_only(f: Facts) -> bool:
    """The member's own things: their session, token, notification, post."""
    return f.role == "member"


def own_post(f: Facts) -> bool:
    return f.role == "member" and read(f)


def active_member(f: Facts) -> bool:
    """Leaving needs a membership."""
    return f.member


def join(f: Facts) -> bool:
    """One click into an open circle; a member's click changes nothing and succeeds."""
    return f.signed_in and (f.member or f.vis == "open")


def ask_to_join(f: Facts) -> bool:
    """Closed circles take requests (a member's request is a no-op that succeeds)."""
    return f.signed_in and (f.member or f.vis == "closed")


def settings_page(f: Facts) -> bool:
    return moderate(f) or invite(f)


# The table -----------------------------------------------------------------------------------


@dataclass
class Ctx:
    aw: AccessWorld
    vis: str
    ac: AccessCircle

    @property
    def cw(self) -> Any:
        return self.ac.base

    @property
    def slug(self) -> str:
        return str(self.ac.base.circle.slug)

    @property
    def dest(self) -> str:
        """Another of the three circles (the host hosts them all): where a thread moves to."""
        others = [v for v in VISIBILITIES if v != self.vis]
        return str(self.aw.world.circles[others[0]].circle.slug)


Value = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Spec:
    rule: Rule
    name: str = ""  # tells variants of one route apart
    path: dict[str, Value] = field(default_factory=dict)  # path values (beside the defaults)
    query: dict[str, Value] = field(default_factory=dict)  # the query (nothing else is sent)
    fields: dict[str, Value] = field(default_factory=dict)  # form or JSON fields (beside the defaults)
    site: bool = False  # names nothing of a circle: asked once, not once per visibility
    inside: bool = True  # names something inside the circle: non-members of closed/secret get 404
    card: bool = False  # a closed circle's card is public: its non-members may be told 403
    # Answers a refusal may also take, the database unchanged: a form that shows why it cannot
    # be sent (422), a flash message on a redirect, an action that does nothing for others.
    soft: frozenset[str] = frozenset()
    must_change: bool = False  # with `soft`: an allowed request does change something
    also: frozenset[str] = frozenset()  # answers an allowed request may also take
    # Checked before anything is looked up: whoever fails it gets the same 403 for any object.
    pre: Rule | None = None
    htmx: bool = False  # asked as htmx asks (HX-Request): the fragment, not the page


def fragment(spec: Spec, **kw: Any) -> Spec:
    """The same request as htmx sends it: fragments answer to the same powers as their pages."""
    return replace(spec, name=f"{spec.name} htmx".strip(), htmx=True, **kw)


def site(rule: Rule, **kw: Any) -> Spec:
    return Spec(rule, site=True, inside=False, **kw)


def people(rule: Rule, **kw: Any) -> Spec:
    """Acts on a person of the circle, not on its content: refusals may be 403 anywhere."""
    return Spec(rule, inside=False, **kw)


def in_circle(rule: Rule, **kw: Any) -> Spec:
    return Spec(rule, **kw)


def via_elsewhere(**path: Value) -> Spec:
    """The circle's object asked for through the address of another circle (one its host runs):
    nobody may act on it so, not even an administrator (the object is not in that circle)."""
    return Spec(nobody, name="via another circle", inside=False, path={"slug": lambda c: c.aw.elsewhere.slug, **path})


def into_circle(**fields: Value) -> Spec:
    """Moving a thread of another circle into this one: it takes moderating both (admins here)."""
    return Spec(
        moderate_both,
        name="into the circle",
        path={"thread_id": lambda c: c.aw.elsewhere_thread.id},
        fields={"circle": _slug, **fields},
    )


def moderate_both(f: Facts) -> bool:
    return f.admin


def _peer(c: Ctx) -> str:
    return str(c.ac.peer.username)


def _ambassador(c: Ctx) -> str:
    return str(c.aw.ambassador.username)


def _suspended(c: Ctx) -> str:
    return str(c.aw.suspended.username)


def _removed_name(c: Ctx) -> str:
    return str(c.ac.removed.username)


def _slug(c: Ctx) -> str:
    return c.slug


OWN_POST = {"post_id": lambda c: c.ac.member_reply.id}
PEER_POST = {"post_id": lambda c: c.ac.peer_reply.id}
HELD_POST = {"post_id": lambda c: c.ac.held_post.id}
SCOPED = {"circle": _slug}
NO_CIRCLE: dict[str, Value] = {"circle": lambda c: None}
FORM_422 = frozenset({"invalid"})  # the reply form shows "join this circle" with status 422 (htmx swaps it)
FLASHED = frozenset({"ok"})  # a redirect back with the refusal in a flash message
NO_OP = frozenset({"ok"})  # succeeds and does nothing for anyone but the owner
SIGN_IN = frozenset({"sign_in"})
MISSING = frozenset({"missing"})

TABLE: dict[str, Spec | list[Spec]] = {
    # Public pages and sign-in
    "GET /": site(anyone),
    "GET /healthz": site(anyone),
    "GET /theme.css": site(anyone),
    "GET /register": site(anyone),
    "POST /register": site(anyone),
    "GET /login": site(anyone),
    "POST /login": site(anyone),
    "POST /logout": site(anyone),
    "GET /forgot": site(anyone),
    "POST /forgot": site(anyone),
    "GET /reset/{token}": site(anyone),  # the token is the capability
    "POST /reset/{token}": site(anyone, also=SIGN_IN),  # the new password is set: go and sign in
    # The token travels in a cookie set by /reset/{token}; without it there is nothing to reset.
    "GET /reset": site(anyone, also=MISSING),
    "POST /reset": site(anyone, also=MISSING),
    "POST /language": site(anyone),
    "POST /api/v1/auth/token": site(anyone),
    "GET /notifications/count": site(anyone),
    "GET /c": site(anyone),
    "GET /api/v1/circles": site(anyone),
    # One's own account
    "GET /settings": site(signed_in),
    "POST /settings/profile": site(signed_in),
    "POST /settings/password": site(signed_in),
    "POST /settings/sessions/{session_id}/end": site(member_only),
    "POST /settings/sessions/end-others": site(signed_in),
    "POST /settings/tokens": site(signed_in),
    "POST /settings/tokens/{token_id}/revoke": site(member_only),
    "GET /settings/export": site(signed_in),
    "POST /settings/delete": site(signed_in),
    "GET /api/v1/me": site(signed_in),
    "GET /api/v1/me/tokens": site(signed_in),
    "POST /api/v1/me/tokens": site(signed_in),
    "DELETE /api/v1/me/tokens/{token_id}": site(member_only),
    "GET /api/v1/me/export": site(signed_in),
    "POST /api/v1/me/delete": site(signed_in),
    "GET /notifications": site(signed_in),
    "POST /notifications/read": site(signed_in),
    "POST /notifications/{notification_id}/read": site(member_only, soft=NO_OP),
    "GET /api/v1/notifications": site(signed_in),
    "POST /api/v1/notifications/read": site(signed_in),
    "POST /api/v1/notifications/{notification_id}/read": site(member_only, soft=NO_OP),
    "POST /pulse": site(signed_in),
    "POST /pulse/dismiss": site(signed_in),
    "GET /api/v1/pulse": site(signed_in),
    "POST /api/v1/pulse": site(signed_in),
    "POST /api/v1/pulse/dismiss": site(signed_in),
    # The community: profiles, badges, search, invites
    "GET /u/{username}": people(signed_in),
    "GET /api/v1/users/{username}": people(signed_in),
    "GET /api/v1/users/{username}/badges": people(signed_in),
    "GET /badges": site(signed_in),
    "GET /badges/{slug}": site(signed_in),
    "GET /api/v1/badges": site(signed_in),
    "GET /api/v1/badges/{slug}/awards": site(signed_in),
    "GET /search": [
        site(signed_in, query={"q": lambda c: "zebra"}),
        in_circle(read, name="in circle", query={"q": lambda c: "zebra", "circle": _slug}),
        fragment(in_circle(read, name="in circle", query={"q": lambda c: "zebra", "circle": _slug})),
    ],
    "GET /api/v1/search": [
        site(signed_in, query={"q": lambda c: "zebra"}),
        in_circle(read, name="in circle", query={"q": lambda c: "zebra", "circle": _slug}),
    ],
    "GET /invite/{code}": people(anyone),  # a valid code is a capability
    "POST /invite/{code}/accept": people(signed_in),
    "POST /api/v1/invites/{code}/accept": people(signed_in),
    "GET /invites": site(signed_in),
    "POST /invites": site(staff),
    "POST /invites/{invite_id}/revoke": in_circle(moderate),  # the host's invite: its maker, hosts, admins
    "GET /api/v1/invites": [site(signed_in), in_circle(read, name="in circle", query=SCOPED)],
    "POST /api/v1/invites": [site(staff, fields=NO_CIRCLE), in_circle(invite, name="in circle", fields=SCOPED)],
    "DELETE /api/v1/invites/{invite_id}": in_circle(moderate),
    # Circles: card, membership
    "GET /c/{slug}": [in_circle(see_card, card=True), fragment(in_circle(see_card, card=True))],
    "GET /api/v1/circles/{slug}": in_circle(see_card, card=True),
    "POST /c/{slug}/join": in_circle(join, card=True),
    "POST /api/v1/circles/{slug}/join": in_circle(join, card=True),
    "POST /c/{slug}/request": in_circle(ask_to_join, card=True),
    "POST /api/v1/circles/{slug}/requests": in_circle(ask_to_join, card=True),
    "POST /c/{slug}/request/cancel": in_circle(nobody, card=True),  # nobody here has a pending request
    "POST /c/{slug}/leave": in_circle(active_member),
    "DELETE /api/v1/circles/{slug}/membership": in_circle(active_member),
    "GET /c/{slug}/members": in_circle(read),
    "GET /api/v1/circles/{slug}/members": in_circle(read),
    "GET /c/{slug}/requests": in_circle(approve),
    "GET /api/v1/circles/{slug}/requests": in_circle(approve),
    "POST /c/{slug}/requests/{membership_id}/{decision}": [in_circle(approve), via_elsewhere()],
    "POST /api/v1/circles/{slug}/requests/{membership_id}/approve": [in_circle(approve), via_elsewhere()],
    "POST /api/v1/circles/{slug}/requests/{membership_id}/decline": [in_circle(approve), via_elsewhere()],
    "POST /c/{slug}/members/{user_id}/remove": [in_circle(moderate), via_elsewhere()],
    "DELETE /api/v1/circles/{slug}/members/{username}": [in_circle(moderate), via_elsewhere()],
    "POST /c/{slug}/members/{user_id}/allow-back": [
        in_circle(moderate, path={"user_id": lambda c: c.ac.removed.id}),
        via_elsewhere(user_id=lambda c: c.ac.removed.id),
    ],
    "POST /api/v1/circles/{slug}/members/{username}/allow-back": [
        in_circle(moderate, path={"username": _removed_name}),
        via_elsewhere(username=_removed_name),
    ],
    "GET /c/{slug}/settings": in_circle(settings_page),
    "POST /c/{slug}/settings": in_circle(moderate),
    "PATCH /api/v1/circles/{slug}": in_circle(moderate),
    "POST /c/{slug}/invites": in_circle(invite),
    "POST /c/{slug}/rules": in_circle(moderate),
    "PUT /api/v1/circles/{slug}/rules": in_circle(moderate),
    # Threads and posts
    "GET /api/v1/circles/{slug}/threads": in_circle(read),
    "GET /c/{slug}/new": in_circle(post),
    "POST /c/{slug}/new": in_circle(post),
    "POST /api/v1/circles/{slug}/threads": in_circle(post),
    "GET /t/{thread_id}": [in_circle(read), fragment(in_circle(read))],
    "GET /t/{thread_id}/{slug}": [in_circle(read), fragment(in_circle(read))],
    "GET /t/{thread_id}/unread/first": in_circle(read),
    "GET /api/v1/threads/{thread_id}": in_circle(read),
    "GET /api/v1/threads/{thread_id}/posts": in_circle(read),
    "POST /api/v1/threads/{thread_id}/read": in_circle(read),
    "POST /t/{thread_id}/reply": [
        in_circle(post, soft=FORM_422, must_change=True),
        fragment(in_circle(post, soft=FORM_422, must_change=True)),
    ],
    "POST /api/v1/threads/{thread_id}/posts": in_circle(post),
    "GET /p/{post_id}": in_circle(read),
    "GET /api/v1/posts/{post_id}": in_circle(read),
    "GET /p/{post_id}/revisions": in_circle(read),
    "GET /p/{post_id}/edit": in_circle(own_post, path=OWN_POST),
    "POST /p/{post_id}/edit": in_circle(own_post, path=OWN_POST),
    "PATCH /api/v1/posts/{post_id}": in_circle(own_post, path=OWN_POST),
    "POST /p/{post_id}/delete": in_circle(own_post, path=OWN_POST),
    "DELETE /api/v1/posts/{post_id}": in_circle(own_post, path=OWN_POST),
    "POST /p/{post_id}/react/{kind}": [in_circle(post, path=PEER_POST), fragment(in_circle(post, path=PEER_POST))],
    "POST /api/v1/posts/{post_id}/reactions/{kind}": in_circle(post, path=PEER_POST),
    "POST /p/{post_id}/flag": [
        in_circle(post, path=PEER_POST, soft=FLASHED, must_change=True),
        fragment(in_circle(post, path=PEER_POST, soft=FORM_422, must_change=True)),  # the refusal in the fragment
    ],
    "POST /api/v1/posts/{post_id}/flags": in_circle(post, path=PEER_POST),
    # Moderation
    "GET /mod": site(staff),
    "GET /api/v1/mod/queue": site(staff),
    "GET /mod/log": [site(staff), in_circle(moderate, name="of the circle", query=SCOPED, pre=staff)],
    "GET /api/v1/mod/log": [site(staff), in_circle(moderate, name="of the circle", query=SCOPED, pre=staff)],
    "POST /mod/posts/{post_id}/{action}": [
        in_circle(moderate, name="hide", path={**PEER_POST, "action": lambda c: "hide"}),
        in_circle(moderate, name="approve held", path={**HELD_POST, "action": lambda c: "approve"}),
    ],
    "POST /api/v1/mod/posts/{post_id}/{action}": [
        in_circle(moderate, name="hide", path={**PEER_POST, "action": lambda c: "hide"}),
        in_circle(moderate, name="approve held", path={**HELD_POST, "action": lambda c: "approve"}),
    ],
    "POST /t/{thread_id}/{action}": [
        in_circle(moderate, name="lock", path={"action": lambda c: "lock"}),
        in_circle(moderate, name="move", path={"action": lambda c: "move"}, fields={"circle": lambda c: c.dest}),
        # The form names the circle: a refusal comes back as the thread page with the form's error
        # (422, "no circle you host has this address"), the same as for a missing circle.
        replace(into_circle(), path={**into_circle().path, "action": lambda c: "move"}, inside=False, soft=FORM_422),
    ],
    "POST /api/v1/threads/{thread_id}/moderation/{action}": in_circle(moderate, path={"action": lambda c: "lock"}),
    "POST /api/v1/threads/{thread_id}/move": [in_circle(moderate, fields={"circle": lambda c: c.dest}), into_circle()],
    # Recognition: badges and ambassadors
    "POST /u/{username}/badges": in_circle(moderate, fields=SCOPED),
    "POST /api/v1/badges/{slug}/awards": in_circle(moderate, fields=SCOPED),
    "POST /awards/{award_id}/revoke": people(moderate),  # the award a host gave in the circle
    "POST /api/v1/awards/{award_id}/revoke": people(moderate),
    "POST /u/{username}/ambassador": people(moderate),  # the peer: a member of this circle only
    "POST /api/v1/users/{username}/ambassador": people(moderate),
    "POST /u/{username}/ambassador/revoke": people(moderate, path={"username": _ambassador}),
    "POST /api/v1/users/{username}/ambassador/revoke": people(moderate, path={"username": _ambassador}),
    "GET /admin/ambassadors": site(staff),
    "GET /api/v1/ambassadors": site(staff),
    # KPIs: admins everywhere, hosts of their circles (the page opens on the first they host)
    "GET /admin/kpis": [
        site(staff),
        in_circle(moderate, name="of the circle", query=SCOPED),
        fragment(in_circle(moderate, name="of the circle", query=SCOPED)),
    ],
    "GET /admin/kpis.csv": [site(staff), in_circle(moderate, name="of the circle", query=SCOPED)],
    "GET /admin/kpis.json": [site(staff), in_circle(moderate, name="of the circle", query=SCOPED)],
    "GET /api/v1/kpis": [site(admin), in_circle(moderate, name="of the circle", query=SCOPED)],
    # Administration
    "GET /admin": site(admin),
    "POST /admin/site": site(admin),
    "GET /admin/circles": site(admin),
    "POST /admin/circles": site(admin),
    "POST /api/v1/circles": site(admin),
    "POST /c/{slug}/archive": in_circle(admin),
    "POST /c/{slug}/hosts": in_circle(admin),
    "POST /c/{slug}/hosts/{user_id}/remove": in_circle(admin, path={"user_id": lambda c: c.aw.world.host.id}),
    "PUT /api/v1/circles/{slug}/hosts/{username}": in_circle(admin, pre=admin),
    "GET /admin/badges": site(admin),
    "POST /admin/badges": site(admin),
    "POST /api/v1/badges": site(admin),
    "GET /admin/pulse": site(admin),
    "GET /api/v1/pulse/answers": site(admin),
    "POST /u/{username}/suspend": people(admin),
    "POST /api/v1/users/{username}/suspension": people(admin),
    "POST /u/{username}/unsuspend": people(admin, path={"username": _suspended}),
    "DELETE /api/v1/users/{username}/suspension": people(admin, path={"username": _suspended}),
}


# Filling in a request ------------------------------------------------------------------------

PATH_DEFAULTS: dict[str, Value] = {
    "thread_id": lambda c: c.cw.thread.id,
    "post_id": lambda c: c.cw.reply.id,  # the host's reply
    "membership_id": lambda c: c.cw.pending.id,
    "invite_id": lambda c: c.cw.invite.id,  # made by the host
    "code": lambda c: c.cw.invite.code,
    "user_id": lambda c: c.ac.peer.id,
    "username": _peer,
    "session_id": lambda c: c.cw.member_session_id,
    "token_id": lambda c: c.cw.member_token_id,
    "notification_id": lambda c: c.cw.member_notification_id,
    "token": lambda c: c.cw.member_reset_token,
    "award_id": lambda c: c.cw.award_id,  # the host gave it to the member, in this circle
    "kind": lambda c: "like",
    "decision": lambda c: "approve",
}


def _path_value(endpoint: Endpoint, name: str, spec: Spec, ctx: Ctx) -> Any:
    if name in spec.path:
        return spec.path[name](ctx)
    if name == "slug":
        if endpoint.path.startswith(("/c/", "/api/v1/circles/")):
            return ctx.slug
        if endpoint.path.startswith(("/badges/", "/api/v1/badges/")):
            return ctx.aw.world.badge_slug
        if endpoint.path.startswith("/t/"):
            return "a-thread"
    if name in PATH_DEFAULTS:
        return PATH_DEFAULTS[name](ctx)
    pytest.fail(
        f"{endpoint}: the access matrix does not know what {{{name}}} names; add it to PATH_DEFAULTS or the spec"
    )


# Form fields and JSON fields: values that pass validation, so an allowed request does its work.
FIELD_DEFAULTS: dict[str, Value] = {
    "username": _peer,
    "badge": lambda c: c.aw.world.badge_slug,
    "circle": _slug,
    "reason": lambda c: "spam",  # a flag reason, and a reason anywhere else
    "text": lambda c: "",
    "score": lambda c: 8,
    "comment": lambda c: "",
    "days": lambda c: 1,
    "title": lambda c: "Matrix thread",
    "body": lambda c: "Matrix body.",
    "reply_to": lambda c: "",
    "message": lambda c: "Matrix, please.",
    "name": lambda c: "Matrix",
    "description": lambda c: "",
    "visibility": lambda c: "",  # the form keeps the circle's own
    "member_invites": lambda c: "1",
    "expires_in_days": lambda c: 14,
    "max_uses": lambda c: "",
    "note": lambda c: "matrix",
    "password": lambda c: "not the password",
    "current_password": lambda c: "not the password",
    "new_password": lambda c: "another long password",
    "display_name": lambda c: "Matrix",
    "bio": lambda c: "",
    "language": lambda c: "en",
    "next": lambda c: "/",
    "login": lambda c: "nobody@example.com",
    "archived": lambda c: "1",
    "read_only": lambda c: "",
    "slow_mode_seconds": lambda c: "0",
    "hold_first_posts": lambda c: "0",
    "tier": lambda c: "bronze",
    "icon": lambda c: ICONS[0],
    "slug": lambda c: "matrix-new",
    "posts": lambda c: "keep",
    "confirm": lambda c: "",
    "registration": lambda c: "",
    "grant_type": lambda c: "password",
}
JSON_FIELDS = ("username", "circle", "reason", "score", "days", "password", "title", "body", "name", "message")


def _request(endpoint: Endpoint, spec: Spec, ctx: Ctx) -> Request:
    path = {name: _path_value(endpoint, name, spec, ctx) for name in endpoint.path_params}
    known = {name for name, _required in endpoint.query_params}
    unknown = set(spec.query) - known
    assert not unknown, f"{endpoint}: the table sends query parameters it does not take: {unknown}"
    query = {name: value(ctx) for name, value in spec.query.items()}
    values = {**FIELD_DEFAULTS, **spec.fields}
    form = None
    if endpoint.form_fields:
        form = {}
        for name in endpoint.form_fields:
            value = values[name](ctx) if name in values else "matrix"
            if value is not None:
                form[name] = str(value)
    json = None
    if endpoint.json_model is not None:
        properties = endpoint.json_model.model_json_schema().get("properties", {})
        refs = {n: values[n](ctx) for n in properties if n in spec.fields or (n in JSON_FIELDS and n in values)}
        json = sample_json(endpoint.json_model, refs)
        if endpoint.json_embed_name:
            json = {endpoint.json_embed_name: json}
    return Request(endpoint, build_url(endpoint.path, path, query), form=form, json=json, htmx=spec.htmx)


# Answers -------------------------------------------------------------------------------------


def outcome(answer: Answer) -> str:
    status = answer.status
    if status >= 500:
        return "error"
    if status == 401 or (300 <= status < 400 and answer.location.startswith("/login")):
        return "sign_in"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "missing"
    if status < 400:
        return "ok"
    return "invalid"


ALLOWED = frozenset({"ok", "invalid"})


def expected(spec: Spec, endpoint: Endpoint, f: Facts) -> frozenset[str]:
    """The answer classes DESIGN.md allows this role for this route and circle."""
    if spec.rule(f):
        return ALLOWED | spec.also
    if not f.signed_in:  # visitors, and suspended accounts: sent to sign in, whether it exists or not
        if spec.card:  # a secret circle's card is missing to them, as to any non-member
            return frozenset({"sign_in", "missing"})
        return frozenset({"sign_in"})
    if endpoint.gate == "admin" or (spec.pre is not None and not spec.pre(f)):
        return frozenset({"forbidden"})  # refused before anything is looked up
    hidden = f.vis == "secret" or (f.vis == "closed" and not spec.card)
    if spec.inside and hidden and not read(f):
        return frozenset({"missing"}) | spec.soft  # the same 404 as for something missing
    return frozenset({"forbidden", "missing"}) | spec.soft


def _gist(answer: Answer) -> str:
    """The message of an answer, in a few words."""
    body = answer.body
    if answer.content_type == "application/json":
        return body[:160]
    start = body.find("<main")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body[start:] if start >= 0 else body)).strip()
    return text[:160]


@dataclass
class Cell:
    endpoint: Endpoint
    spec: Spec
    role: str
    vis: str
    request: Request

    def __str__(self) -> str:
        name = f" [{self.spec.name}]" if self.spec.name else ""
        return f"{self.request.endpoint.method} {self.endpoint.path}{name} as {self.role}, {self.vis} circle"


def _specs(endpoint: Endpoint) -> list[Spec]:
    entry = TABLE.get(f"{endpoint.method} {endpoint.path}")
    if entry is None:
        return []
    return entry if isinstance(entry, list) else [entry]


def build_cells(endpoints: list[Endpoint], aw: AccessWorld) -> list[Cell]:
    cells: list[Cell] = []
    for endpoint in endpoints:
        for spec in _specs(endpoint):
            for vis in ("open",) if spec.site else VISIBILITIES:
                ctx = Ctx(aw=aw, vis=vis, ac=aw.circles[vis])
                request = _request(endpoint, spec, ctx)
                cells += [Cell(endpoint, spec, role, vis, request) for role in ROLES]
    return cells


# The tests -----------------------------------------------------------------------------------


def test_every_route_is_classified(app: Any) -> None:
    """A new route fails here until the table says which power it needs."""
    endpoints = enumerate_endpoints(app)
    known = {f"{e.method} {e.path}" for e in endpoints}
    unclassified = sorted(k for k in known if k not in TABLE)
    assert not unclassified, (
        "routes the access matrix does not classify; add them to TABLE in tests/web/test_access_matrix.py "
        f"with the power DESIGN.md gives them: {unclassified}"
    )
    stale = sorted(k for k in TABLE if k not in known)
    assert not stale, f"TABLE entries for routes that no longer exist: {stale}"


@pytest.fixture
def browser(app: Any) -> Iterator[TestClient]:
    """One client for every role (each request carries its caller's cookies); 5xx as answers."""
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as test_client:
        yield test_client


def _callers(aw: AccessWorld) -> dict[tuple[str, str], Caller]:
    world = aw.world
    users = {
        "outsider": world.outsider,
        "ambassador": aw.ambassador,
        "host_elsewhere": aw.elsewhere_host,
        "host": world.host,
        "admin": world.admin,
    }
    visitor = Caller.visitor()
    suspended = AccessCaller.signed_in_with_seed("suspended", aw.suspended)
    callers: dict[tuple[str, str], Caller] = {}
    shared = {role: AccessCaller.signed_in(role, user) for role, user in users.items()}
    for vis in VISIBILITIES:
        own = {
            "visitor": visitor,
            "suspended": suspended,
            "member": AccessCaller.signed_in("member", aw.circles[vis].base.member),
        }
        for role in ROLES:
            callers[role, vis] = own.get(role) or shared[role]
    return callers


def test_access_matrix(db: Any, app: Any, browser: TestClient) -> None:
    import time

    from app.web import forget_site_config

    started = time.perf_counter()
    aw = build_access_world(db)
    callers = _callers(aw)
    endpoints = enumerate_endpoints(app)
    cells = build_cells(endpoints, aw)
    reads = [cell for cell in cells if cell.endpoint.is_safe]
    writes = [cell for cell in cells if not cell.endpoint.is_safe]
    failures: list[str] = []

    def check(cell: Cell, answer: Answer, changed: list[str]) -> None:
        f = facts(cell.role, cell.vis)
        got = outcome(answer)
        wanted = expected(cell.spec, cell.endpoint, f)
        allowed = cell.spec.rule(f)
        verdict = "allowed" if allowed else "refused"
        if got not in wanted:
            failures.append(
                f"{cell}: {cell.spec.rule.__name__} → expected {verdict} {sorted(wanted)}, got {got}: "
                f"{answer.status} {answer.location} {_gist(answer)}"
            )
        elif not allowed and changed:
            failures.append(f"{cell}: refused ({got}) but the database changed: {changed[:5]}")
        elif allowed and cell.spec.must_change and got == "ok" and not changed and not cell.endpoint.is_safe:
            failures.append(f"{cell}: allowed, answered {answer.status}, but nothing changed")

    # Reads first (they change nothing that matters), then writes, each from the same baseline.
    for cell in reads:
        check(cell, send(browser, callers[cell.role, cell.vis], cell.request), [])
    baseline, baseline_print = take_snapshot(), fingerprint()
    restores = 0
    for cell in writes:
        answer = send(browser, callers[cell.role, cell.vis], cell.request)
        changed: list[str] = []
        if fingerprint() != baseline_print:
            now = take_snapshot()
            changed = snapshot_diff(baseline, now)
            restore_snapshot(baseline, now)
            forget_site_config()
            restores += 1
        check(cell, answer, changed)
    db.expire_all()
    assert fingerprint() == baseline_print and not snapshot_diff(baseline, take_snapshot()), "the world is as it was"

    circle_cells = sum(1 for cell in cells if not cell.spec.site)
    print(
        f"\n[access matrix] {db.get_bind().dialect.name}: {len(cells)} cells "
        f"({len(reads)} reads, {len(writes)} writes, {restores} restores) over {len(endpoints)} endpoints × "
        f"{len(ROLES)} roles; {circle_cells} of them × 3 circle visibilities, {len(cells) - circle_cells} site-wide; "
        f"{time.perf_counter() - started:.1f}s"
    )
    assert not failures, f"{len(failures)} of {len(cells)} cells disagree with DESIGN.md:\n" + "\n".join(failures)


def test_a_suspended_account_signs_in_to_nothing(db: Any, app: Any, browser: TestClient) -> None:
    """DESIGN: "a suspended account can sign in to nothing" — not its session, not its API token,
    not a new sign-in by form or by the token endpoint (the matrix walks its old session cookie)."""
    from app.services import accounts, moderation
    from tests.factories import PASSWORD, csrf_from, make_user

    admin_user = make_user(db, "root_admin", admin=True)
    user = make_user(db, "paused_user")
    api_token = accounts.create_api_token(db, user=user, name="script")
    session_token = accounts.start_session(db, user=user).token
    assert browser.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
    moderation.suspend(db, user=user, by=admin_user, days=3, reason="Cooling off")

    assert browser.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"}).status_code == 401
    browser.cookies.set("cercle_session", session_token)
    assert browser.get("/api/v1/me").status_code == 401
    assert browser.get("/settings", follow_redirects=False).headers["location"].startswith("/login")
    browser.cookies.clear()
    token = browser.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD})
    assert token.status_code in (400, 401, 403) and "access_token" not in token.text, token.text
    form = {"username": user.username, "password": PASSWORD, "csrf_token": csrf_from(browser)}
    signed = browser.post("/login", data=form, follow_redirects=False)
    assert signed.status_code == 403 and "Cooling off" in signed.text, signed.status_code
    assert "cercle_session" not in signed.headers.get("set-cookie", "")
