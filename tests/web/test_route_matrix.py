"""The route matrix: every route of the app, asked from outside a closed or secret circle.

DESIGN.md, "Circles": a non-member asking for anything inside a closed or secret circle gets
the same 404 as for something that does not exist, and signed-out visitors asking for any
thread, post or member page are redirected to sign-in. The routes are read from the app itself,
so a route added later is walked too; a path parameter this file does not know fails the test
until someone says below which object it names.

For each route, each object it names is filled from a world (route_matrix_support.build_world)
and asked twice: as the real object of the circle under test and as a missing one. The two
answers must be the same once the URL is blanked out, and no answer may carry the circle's
markers. ALLOWED lists, with the reason, the few answers that may legitimately differ.
"""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.route_matrix_support import (
    MISSING_CODE,
    MISSING_ID,
    MISSING_SLUG,
    MISSING_TOKEN,
    MISSING_USERNAME,
    VISIBILITIES,
    Answer,
    Caller,
    CircleWorld,
    Endpoint,
    Request,
    World,
    build_url,
    build_world,
    enumerate_endpoints,
    sample_json,
    send,
)

# What a parameter names ----------------------------------------------------------------------
#
# scope "circle":  an object inside the circle under test; a non-member's answer must equal the
#                  answer for the missing value.
# scope "private": an object of another person (their session, token, notification); it must
#                  answer as if it did not exist.
# scope "site":    an object that exists outside the circle (a person); answers may differ from a
#                  missing one, but must show nothing of the circle.
# scope "value":   not an object (a reaction kind, a decision); the missing variant keeps it.


@dataclass(frozen=True)
class Param:
    scope: str
    targets: Callable[[World, CircleWorld], list[Any]]
    missing: Any = None


CIRCLE_SLUG = Param("circle", lambda w, c: [c.circle.slug], MISSING_SLUG)
BADGE_SLUG = Param("site", lambda w, c: [w.badge_slug], "no-such-badge")
# Every action loads its post or thread the same way first; two of them are enough here.
POST_ACTIONS = Param("value", lambda w, c: ["hide", "restore"])

PATH_PARAMS: dict[str, Param] = {
    "thread_id": Param("circle", lambda w, c: [c.thread.id], MISSING_ID),
    # A reply. (The post a moderator hid has its own walk, as a member who may read the circle.)
    "post_id": Param("circle", lambda w, c: [c.reply.id], MISSING_ID),
    "membership_id": Param("circle", lambda w, c: [c.pending.id], MISSING_ID),
    "invite_id": Param("circle", lambda w, c: [c.invite.id], MISSING_ID),
    "code": Param("circle", lambda w, c: [c.invite.code], MISSING_CODE),
    "user_id": Param("site", lambda w, c: [c.member.id], MISSING_ID),
    # The circle's member (in no other circle) and the host (in all three).
    "username": Param("site", lambda w, c: [c.member.username, w.host.username], MISSING_USERNAME),
    "session_id": Param("private", lambda w, c: [c.member_session_id], MISSING_ID),
    "token_id": Param("private", lambda w, c: [c.member_token_id], MISSING_ID),
    "notification_id": Param("private", lambda w, c: [c.member_notification_id], MISSING_ID),
    # A password-reset token is itself the secret (a capability) and names no circle content.
    "token": Param("site", lambda w, c: [c.member_reset_token], MISSING_TOKEN),
    # Badge awards are public (DESIGN: "badge-award reasons are public on the award"), even one
    # a host gave in this circle; taking one back is for its circle's hosts and admins.
    "award_id": Param("site", lambda w, c: [c.award_id], MISSING_ID),
    "kind": Param("value", lambda w, c: ["like"]),
    "decision": Param("value", lambda w, c: ["approve", "decline"]),
}

# `{slug}` names different things under different prefixes; under any other prefix it fails.
PREFIXED_PARAMS: tuple[tuple[str, str, Param], ...] = (
    ("/c/", "slug", CIRCLE_SLUG),
    ("/api/v1/circles/", "slug", CIRCLE_SLUG),
    ("/t/", "slug", Param("value", lambda w, c: ["a-thread"])),  # a thread URL's decorative suffix
    ("/badges/", "slug", BADGE_SLUG),
    ("/api/v1/badges/", "slug", BADGE_SLUG),
    ("/mod/posts/", "action", POST_ACTIONS),
    ("/api/v1/mod/posts/", "action", POST_ACTIONS),
    ("/t/", "action", Param("value", lambda w, c: ["lock", "move"])),
    ("/api/v1/threads/", "action", Param("value", lambda w, c: ["lock"])),
)

# Query parameters, form fields and JSON body fields that name an object. Other optional query
# parameters are left out; other form fields get "matrix"; JSON bodies get their required fields.
QUERY_PARAMS: dict[str, Param] = {
    "circle": CIRCLE_SLUG,
    # Every title and body in the world contains "zebra": search must still find nothing.
    "q": Param("value", lambda w, c: ["zebra"]),
}
BODY_FIELDS: dict[str, Param] = {
    "circle": CIRCLE_SLUG,
    "badge": Param("value", lambda w, c: [w.badge_slug]),
    "username": Param("site", lambda w, c: [c.member.username], MISSING_USERNAME),
}
COMPARED_SCOPES = ("circle", "private")


# Answers that may legitimately differ from a missing object ------------------------------------


@dataclass(frozen=True)
class Allowed:
    method: str
    path: str
    visibilities: tuple[str, ...]
    why: str
    shows_card: bool = False  # may show the circle's name and description
    run_last: bool = False  # changes the world (the outsider asks or joins): run after the rest
    expect: Callable[[Answer, CircleWorld, str], None] | None = None


def _public_card(answer: Answer, cw: CircleWorld, role: str) -> None:
    assert answer.status == 200, answer.describe()
    assert f"Circle {cw.card_marker}" in answer.body, "the card shows the circle's name"
    assert f"About {cw.card_marker}" in answer.body, "the card shows the circle's description"


ALLOWED: tuple[Allowed, ...] = (
    Allowed(
        "GET",
        "/c/{slug}",
        ("closed",),
        "DESIGN 'Circles': a closed circle's public card (name, description, size, ask-to-join "
        "or sign-in button) is shown to everyone; its threads are not.",
        shows_card=True,
        expect=_public_card,
    ),
    Allowed(
        "GET",
        "/api/v1/circles/{slug}",
        ("closed",),
        "The same public card, as JSON.",
        shows_card=True,
        expect=_public_card,
    ),
    Allowed(
        "POST",
        "/c/{slug}/join",
        ("closed",),
        "A button of the public card: a listed closed circle answers 'ask to join instead'.",
    ),
    Allowed("POST", "/api/v1/circles/{slug}/join", ("closed",), "The same, as JSON."),
    Allowed(
        "POST",
        "/c/{slug}/request",
        ("closed",),
        "Asking to join a closed circle is what its public card is for.",
        run_last=True,
    ),
    Allowed("POST", "/api/v1/circles/{slug}/requests", ("closed",), "The same, as JSON.", run_last=True),
    Allowed(
        "POST",
        "/c/{slug}/request/cancel",
        ("closed",),
        "Withdrawing one's own request, from the public card.",
        run_last=True,
    ),
    Allowed(
        "GET",
        "/invite/{code}",
        ("closed", "secret"),
        "A valid invite code is a capability: whoever holds the link may see the invited "
        "circle's name and description (visitors are sent to register with it).",
        shows_card=True,
    ),
    Allowed(
        "POST",
        "/invite/{code}/accept",
        ("closed", "secret"),
        "Accepting a valid invite is how one joins a closed or secret circle.",
        shows_card=True,
        run_last=True,
    ),
    Allowed(
        "POST",
        "/api/v1/invites/{code}/accept",
        ("closed", "secret"),
        "The same, as JSON.",
        shows_card=True,
        run_last=True,
    ),
)

# Listings that show every closed circle's card by design (the directory).
CLOSED_CARD_LISTINGS = {("GET", "/c"), ("GET", "/api/v1/circles")}


# Building the requests -----------------------------------------------------------------------


@dataclass
class Slot:
    where: str  # "path", "query" or "body"
    name: str
    param: Param
    targets: list[Any]


@dataclass
class Case:
    """One request to a real object, and the same request to missing ones."""

    endpoint: Endpoint
    target: Request
    missing: list[Request]
    compared: bool  # some input names something inside the circle (or someone's private object)
    in_circle: bool  # some input names something inside the circle
    allowed: Allowed | None
    urls_with_slug: bool
    mixed: bool = False  # acts on the open circle's objects, names the circle under test


def _param_for(endpoint: Endpoint, name: str) -> Param:
    for prefix, param_name, param in PREFIXED_PARAMS:
        if param_name == name and endpoint.path.startswith(prefix):
            return param
    if name in PATH_PARAMS:
        return PATH_PARAMS[name]
    pytest.fail(
        f"{endpoint}: path parameter {{{name}}} is unknown to the route matrix. Say which object "
        f"of the world it names, and its scope, in PATH_PARAMS (or PREFIXED_PARAMS when the name "
        f"means different things under different prefixes) in tests/web/test_route_matrix.py."
    )


def _slots(endpoint: Endpoint, world: World, cw: CircleWorld, overrides: dict[str, Param] | None = None) -> list[Slot]:
    overrides = overrides or {}
    slots = [
        Slot("path", n, p, p.targets(world, cw))
        for n in endpoint.path_params
        for p in [overrides.get(n) or _param_for(endpoint, n)]
    ]
    for name, required in endpoint.query_params:
        if name in QUERY_PARAMS:
            param = QUERY_PARAMS[name]
            slots.append(Slot("query", name, param, param.targets(world, cw)))
        elif required:
            pytest.fail(
                f"{endpoint}: required query parameter {name!r} is unknown to the route "
                f"matrix; add it to QUERY_PARAMS in tests/web/test_route_matrix.py."
            )
    fields = set(endpoint.form_fields)
    if endpoint.json_model is not None:
        fields |= set(endpoint.json_model.model_json_schema().get("properties", {}))
    for name, param in BODY_FIELDS.items():
        if name in fields:
            slots.append(Slot("body", name, param, param.targets(world, cw)))
    return slots


def _request(endpoint: Endpoint, slots: list[Slot], values: list[Any], htmx: bool) -> Request:
    path = {s.name: v for s, v in zip(slots, values, strict=True) if s.where == "path"}
    query = {s.name: v for s, v in zip(slots, values, strict=True) if s.where == "query"}
    body = {s.name: v for s, v in zip(slots, values, strict=True) if s.where == "body"}
    json = None
    if endpoint.json_model is not None:
        json = sample_json(endpoint.json_model, body)
        if endpoint.json_embed_name:
            json = {endpoint.json_embed_name: json}
    form = {name: str(body.get(name, "matrix")) for name in endpoint.form_fields} if endpoint.form_fields else None
    return Request(endpoint, build_url(endpoint.path, path, query), form=form, json=json, htmx=htmx)


def _allowed(endpoint: Endpoint, visibility: str) -> Allowed | None:
    for entry in ALLOWED:
        if (entry.method, entry.path) == (endpoint.method, endpoint.path) and visibility in entry.visibilities:
            return entry
    return None


def _case(
    endpoint: Endpoint,
    slots: list[Slot],
    values: list[Any],
    swappable: list[int],
    htmx: bool,
    visibility: str,
    in_circle: bool,
    one_at_a_time: bool,
) -> Case:
    compared = any(slots[i].param.scope in COMPARED_SCOPES for i in swappable)
    missing_sets = [
        [s.param.missing if i in swappable else v for i, (s, v) in enumerate(zip(slots, values, strict=True))]
    ]
    if compared and len(swappable) > 1 and one_at_a_time:
        for i in swappable:  # and one object missing at a time
            missing_sets.append([slots[i].param.missing if j == i else v for j, v in enumerate(values)])
    return Case(
        endpoint=endpoint,
        target=_request(endpoint, slots, values, htmx),
        missing=[_request(endpoint, slots, m, htmx) for m in missing_sets] if compared else [],
        compared=compared,
        in_circle=in_circle,
        allowed=_allowed(endpoint, visibility),
        urls_with_slug=any(slots[i].name in ("slug", "circle") and slots[i].param.scope == "circle" for i in swappable),
    )


def build_cases(
    endpoint: Endpoint,
    world: World,
    cw: CircleWorld,
    visibility: str,
    *,
    first_only: bool = False,
    fragments: bool = True,
    overrides: dict[str, Param] | None = None,
) -> list[Case]:
    """The requests of one endpoint for one circle; `first_only` keeps one per endpoint.

    `fragments=False` (for visitors, who are sent to sign in before anything is looked up) asks
    no htmx variant and compares with everything missing at once only.
    """
    slots = _slots(endpoint, world, cw, overrides)
    objects = [i for i, s in enumerate(slots) if s.param.scope != "value"]
    in_circle = any(s.param.scope == "circle" for s in slots)
    compared = any(s.param.scope in COMPARED_SCOPES for s in slots)
    # htmx asks for fragments: they must keep the secret as well as the pages.
    htmx_too = compared and endpoint.is_safe and not endpoint.is_api and not first_only and fragments
    header_variants = (False, True) if htmx_too else (False,)

    def combinations(of: list[Slot]) -> list[tuple[Any, ...]]:
        every = list(itertools.product(*(s.targets for s in of)))
        return every[:1] if first_only else every

    cases = [
        _case(endpoint, slots, list(values), objects, htmx, visibility, in_circle, fragments)
        for values in combinations(slots)
        for htmx in header_variants
    ]
    # A route that acts on something of the open circle and names the circle under test in its
    # query or body (move a thread there, award a badge in it) must not tell that circle from a
    # missing one either.
    references = [i for i, s in enumerate(slots) if s.where != "path" and s.param.scope == "circle"]
    if references and any(s.where == "path" and s.param.scope != "value" for s in slots):
        home = _slots(endpoint, world, world.circles["open"], overrides)
        mixed = [s if i in references else h for i, (s, h) in enumerate(zip(slots, home, strict=True))]
        cases += [
            replace(_case(endpoint, mixed, list(values), references, htmx, visibility, False, fragments), mixed=True)
            for values in combinations(mixed)
            for htmx in header_variants
        ]
    return cases


# Checking the answers ------------------------------------------------------------------------


def _sign_in_page(endpoint: Endpoint) -> bool:
    """Pages DESIGN.md sends signed-out visitors to sign in for: threads, posts, members."""
    return (
        endpoint.method == "GET"
        and not endpoint.is_api
        and (
            bool({"thread_id", "post_id", "username"} & set(endpoint.path_params)) or endpoint.path.endswith("/members")
        )
    )


def _refused_before_lookup(endpoint: Endpoint, role: str) -> bool:
    """A dependency (sign-in, admin) refuses this caller before the route looks anything up."""
    return endpoint.gate == "admin" or (endpoint.gate == "sign_in" and role == "visitor")


def _check_no_server_error(answer: Answer) -> None:
    assert answer.status < 500, f"server error (see the captured log for the traceback)\n{answer.describe()}"


def _check_nothing_of_the_circle(answer: Answer, case: Case, cw: CircleWorld, visibility: str) -> None:
    text = (answer.body + "\n" + answer.location).lower()
    assert cw.content_marker not in text, (
        f"{visibility} circle content (titles, bodies, notes, requests) leaks\n{answer.describe(cw.content_marker)}"
    )
    shows_card = bool(case.allowed and case.allowed.shows_card) or (
        visibility == "closed" and (case.endpoint.method, case.endpoint.path) in CLOSED_CARD_LISTINGS
    )
    if not shows_card:
        assert cw.card_marker not in text, (
            f"the {visibility} circle's name or description shows where it should not\n"
            f"{answer.describe(cw.card_marker)}"
        )
    if visibility == "secret" and not shows_card and not case.urls_with_slug:
        assert cw.circle.slug not in text, f"the secret circle's address leaks\n{answer.describe(cw.circle.slug)}"


def _check_same_as_missing(target: Answer, missing: list[Answer]) -> None:
    for other in missing:
        assert target.normalised() == other.normalised(), (
            "the answer for a real object inside the circle differs from the answer for a missing one\n"
            f"real:    {target.describe()}\nmissing: {other.describe()}"
        )


def _check_role_answer(answer: Answer, case: Case, role: str) -> None:
    endpoint = case.endpoint
    if role == "visitor":
        if endpoint.is_api:
            assert answer.status in (401, 404), f"a visitor gets 401 or 404\n{answer.describe()}"
        else:
            assert answer.status == 404 or (answer.status == 303 and answer.location.startswith("/login")), (
                f"a visitor is sent to sign in, or told there is nothing\n{answer.describe()}"
            )
    elif case.in_circle:
        assert answer.status >= 400, f"a non-member succeeded inside the circle\n{answer.describe()}"


# The tests -----------------------------------------------------------------------------------


@pytest.fixture
def browser(app: Any) -> Iterator[TestClient]:
    """A client that returns a server error as a 500 answer, so the matrix can name the route."""
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as test_client:
        yield test_client


def test_allow_lists_name_existing_routes(app: Any) -> None:
    known = {(e.method, e.path) for e in enumerate_endpoints(app)}
    stale = [(a.method, a.path) for a in ALLOWED if (a.method, a.path) not in known]
    stale += [entry for entry in sorted(CLOSED_CARD_LISTINGS) if entry not in known]
    assert not stale, f"allow-list entries for routes that no longer exist: {stale}"


# visitor: signed out. outsider: signed in, in no circle. host_elsewhere: hosts the open circle
# only, so a host's powers (queue, log, KPIs, moving threads, awarding badges) meet the circle.
LEAK_ROLES = ("visitor", "outsider", "host_elsewhere")


@pytest.mark.parametrize("role", LEAK_ROLES)
@pytest.mark.parametrize("visibility", ["closed", "secret"])
def test_nothing_inside_a_circle_answers_a_non_member(db, app, browser, visibility: str, role: str) -> None:
    world = build_world(db, (visibility,))
    cw = world.circles[visibility]
    caller = {
        "visitor": Caller.visitor,
        "outsider": lambda: Caller.signed_in(role, world.outsider),
        "host_elsewhere": lambda: Caller.signed_in(role, world.open_host),
    }[role]()
    endpoints = enumerate_endpoints(app)
    cases: list[Case] = []
    for endpoint in endpoints:
        endpoint_cases = build_cases(endpoint, world, cw, visibility, fragments=role != "visitor")
        if _refused_before_lookup(endpoint, role) and not any(c.allowed for c in endpoint_cases):
            # One request shows it; the answer cannot depend on the object.
            endpoint_cases = [replace(endpoint_cases[0], missing=[], compared=False)]
        cases += endpoint_cases
    if role == "host_elsewhere":
        # Host powers show in what one reads (queue, log, KPIs…) and in writes that act on the
        # hosted circle while naming this one (move a thread there, award a badge in it). Its
        # writes on objects inside this circle are refused by the same lookups as the outsider's.
        cases = [case for case in cases if case.endpoint.is_safe or case.mixed]
    # Whatever may change the world (asking to join, accepting an invite) runs last, in allow-list order.
    order = {entry: index for index, entry in enumerate(ALLOWED)}
    cases.sort(key=lambda c: order[c.allowed] + 1 if c.allowed and c.allowed.run_last else 0)

    requests = 0
    for case in cases:
        # The real object and the missing ones are asked back to back: the page around the answer
        # (the header, the CSRF token) is the same for both.
        target = send(browser, caller, case.target)
        missing = [send(browser, caller, request) for request in case.missing]
        requests += 1 + len(missing)
        for answer in [target, *missing]:
            _check_no_server_error(answer)
            _check_nothing_of_the_circle(answer, case, cw, visibility)
        if case.allowed is not None:
            if case.allowed.expect is not None:
                case.allowed.expect(target, cw, role)
            continue
        if case.compared:
            _check_same_as_missing(target, missing)
            _check_role_answer(target, case, role)
        if _refused_before_lookup(case.endpoint, role):
            if role == "visitor":
                _check_role_answer(target, case, role)
            else:
                assert target.status == 403, f"only administrators may do this\n{target.describe()}"
        if role == "visitor" and _sign_in_page(case.endpoint):
            assert target.status == 303 and target.location.startswith("/login"), (
                f"signed-out visitors are sent to sign in\n{target.describe()}"
            )
        if (case.endpoint.method, case.endpoint.path) == ("GET", "/c/{slug}") and visibility == "secret":
            assert target.status == 404, f"a secret circle's card is missing to non-members\n{target.describe()}"

    walked = len({(case.endpoint.method, case.endpoint.path) for case in cases})
    print(
        f"\n[route matrix] {visibility}/{role}: {walked} of {len(endpoints)} endpoints, {len(cases)} cases, "
        f"{requests} requests"
    )


def test_the_markers_show_to_those_who_may_see_them(db, app, browser) -> None:
    """The controls of the matrix: a marker it never finds must be one that can be found."""
    world = build_world(db, ("closed",))
    cw = world.circles["closed"]
    member = Caller.signed_in("member", cw.member)
    host = Caller.signed_in("host", world.host)

    def page(caller: Caller, url: str) -> str:
        endpoint = Endpoint("GET", url, (), (), (), None, None)
        answer = send(browser, caller, Request(endpoint, url))
        assert answer.status == 200, answer.describe()
        return answer.body.lower()

    assert cw.content_marker in page(member, f"/t/{cw.thread.id}")
    assert cw.content_marker in page(member, f"/api/v1/threads/{cw.thread.id}")
    assert cw.card_marker in page(member, f"/c/{cw.circle.slug}")
    assert cw.hidden_marker not in page(member, f"/t/{cw.thread.id}")
    assert cw.hidden_marker in page(host, f"/t/{cw.thread.id}")


def test_a_hidden_post_answers_a_member_who_does_not_moderate_like_a_missing_one(db, app, browser) -> None:
    """DESIGN: hidden posts are shown only to the circle's hosts and admins (and their author)."""
    world = build_world(db, ("closed",))
    cw = world.circles["closed"]
    caller = Caller.signed_in("member", cw.member)  # reads the circle; neither host nor the post's author
    only_hidden = {"post_id": Param("circle", lambda w, c: [c.hidden_post.id], MISSING_ID)}
    endpoints = enumerate_endpoints(app)
    checked = 0
    # Reads first: the hidden post's body shows on no page, fragment, search or API answer.
    for endpoint in sorted(endpoints, key=lambda e: not e.is_safe):
        if not endpoint.is_safe and "post_id" not in endpoint.path_params:
            continue
        for case in build_cases(endpoint, world, cw, "closed", overrides=only_hidden):
            if case.allowed is not None and case.allowed.run_last:
                continue
            target = send(browser, caller, case.target)
            checked += 1
            _check_no_server_error(target)
            assert cw.hidden_marker not in target.body.lower(), (
                f"a hidden post shows\n{target.describe(cw.hidden_marker)}"
            )
            if "post_id" in endpoint.path_params:
                missing = [send(browser, caller, request) for request in case.missing]
                _check_same_as_missing(target, missing)
    assert checked


SWEEP_ROLES = ("admin", "host", "member")


def test_no_route_answers_a_server_error(db, app, browser) -> None:
    """Members, hosts and admins get no 5xx either (non-members are walked above).

    Each route is asked once per role, in a circle that rotates with the role: over the three
    roles, every route meets every circle. Reads go first, on the untouched world.
    """
    world = build_world(db)
    users = {
        "admin": lambda cw: world.admin,
        "host": lambda cw: world.host,
        "member": lambda cw: cw.member,  # the member of the circle asked about
    }
    callers = {
        (role, vis): Caller.signed_in(role, users[role](cw))
        for role in SWEEP_ROLES
        for vis, cw in world.circles.items()
    }
    endpoints = enumerate_endpoints(app)
    reads: list[tuple[str, str, Case]] = []
    writes: list[tuple[str, str, Case]] = []
    for shift, role in enumerate(SWEEP_ROLES):
        for index, endpoint in enumerate(endpoints):
            vis = VISIBILITIES[(index + shift) % len(VISIBILITIES)]
            cases = build_cases(endpoint, world, world.circles[vis], vis, first_only=True)
            (reads if endpoint.is_safe else writes).extend((role, vis, case) for case in cases)
    for role, vis, case in reads + writes:
        _check_no_server_error(send(browser, callers[role, vis], case.target))
    print(
        f"\n[route matrix] 5xx sweep as {', '.join(SWEEP_ROLES)}: {len(endpoints)} endpoints, "
        f"{len(reads) + len(writes)} requests"
    )
