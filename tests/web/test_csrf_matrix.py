"""The CSRF matrix (issue #8): every unsafe route, found in the app itself, refuses a forged request.

Every route of `create_app()` with an unsafe method (POST, PUT, PATCH, DELETE), pages and
`/api/v1` alike, is asked by a signed-in administrator (a session cookie: every route is
reachable, and every route would act) in four forged ways: no token, a wrong token, the right
token from a foreign `Origin`, and the right token with `Sec-Fetch-Site: cross-site`. Each must be
refused with the CSRF 403 and leave the database as it was: the row count and the content of
every table are compared before and after each request.

The controls: the same requests with the right token from our own origin are not refused by
CSRF, route by route (else the matrix could be refusing for another reason and test nothing);
and a route whose path parameter names something this file does not know fails the matrix
until someone says below which object of the world it names.

One world per database for the whole module: the forged requests change nothing, and the
controls, which do change things, run last.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import SQLModel

from app import db as app_db
from app.db import open_session
from app.models import User
from app.security import csrf_token_for
from app.services import accounts
from tests.conftest import _truncate, empty_database
from tests.web.route_matrix_support import Endpoint, World, build_url, build_world, enumerate_endpoints, sample_json

REFUSAL = "This form has expired or came from another site."
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
OUR_ORIGIN = "http://testserver"
FOREIGN_ORIGIN = "https://evil.example"
WRONG_TOKEN = "0" * 64
# Columns a request may touch before any route runs: the session's last-seen time.
VOLATILE_COLUMNS = {("user_session", "last_seen_at")}


# What each input names, in the open circle of the world -------------------------------------


def _path_values(world: World) -> dict[str, Any]:
    cw = world.circles["open"]
    return {
        "thread_id": cw.thread.id,
        "post_id": cw.reply.id,
        "membership_id": cw.pending.id,
        "invite_id": cw.invite.id,
        "code": cw.invite.code,
        "user_id": cw.member.id,
        "username": cw.member.username,
        "session_id": cw.member_session_id,
        "token_id": cw.member_token_id,
        "notification_id": cw.member_notification_id,
        "token": cw.member_reset_token,
        "award_id": cw.award_id,
        "kind": "like",
        "decision": "approve",
    }


# `{slug}` and `{action}` mean different things under different prefixes.
PREFIXED = (
    ("/c/", "slug", lambda w: w.circles["open"].circle.slug),
    ("/api/v1/circles/", "slug", lambda w: w.circles["open"].circle.slug),
    ("/badges/", "slug", lambda w: w.badge_slug),
    ("/api/v1/badges/", "slug", lambda w: w.badge_slug),
    ("/mod/posts/", "action", lambda w: "hide"),
    ("/api/v1/mod/posts/", "action", lambda w: "hide"),
    ("/t/", "action", lambda w: "lock"),
    ("/api/v1/threads/", "action", lambda w: "lock"),
)


def _body_refs(world: World) -> dict[str, Any]:
    """Form and JSON fields that name an object; other form fields get "matrix"."""
    cw = world.circles["open"]
    return {"circle": cw.circle.slug, "badge": world.badge_slug, "username": cw.member.username}


@dataclass
class Filled:
    endpoint: Endpoint
    url: str
    form: dict[str, str] | None
    json: Any

    @property
    def family(self) -> str:
        if self.json is not None:
            return "api json"
        if self.form is not None:
            return "api form" if self.endpoint.is_api else "html form"
        return "api no body" if self.endpoint.is_api else "html no body"

    def __str__(self) -> str:
        return f"{self.endpoint.method} {self.url}"


class Unfillable(Exception):
    pass


def fill(endpoint: Endpoint, world: World) -> Filled:
    values = _path_values(world)
    path: dict[str, Any] = {}
    for name in endpoint.path_params:
        prefixed = [get for prefix, param, get in PREFIXED if param == name and endpoint.path.startswith(prefix)]
        if prefixed:
            path[name] = prefixed[0](world)
        elif name in values:
            path[name] = values[name]
        else:
            raise Unfillable(f"{endpoint}: path parameter {{{name}}} is unknown to the CSRF matrix")
    required = [name for name, needed in endpoint.query_params if needed]
    if required:
        raise Unfillable(f"{endpoint}: required query parameters {required} are unknown to the CSRF matrix")
    refs = _body_refs(world)
    json = None
    if endpoint.json_model is not None:
        properties = endpoint.json_model.model_json_schema().get("properties", {})
        json = sample_json(endpoint.json_model, {k: v for k, v in refs.items() if k in properties})
        if endpoint.json_embed_name:
            json = {endpoint.json_embed_name: json}
    form = {name: str(refs.get(name, "matrix")) for name in endpoint.form_fields} if endpoint.form_fields else None
    return Filled(endpoint, build_url(endpoint.path, path, {}), form, json)


# The database, before and after --------------------------------------------------------------


def fingerprint() -> dict[str, tuple[int, str]]:
    """Every table: its row count and a digest of its rows (volatile columns left out)."""
    found: dict[str, tuple[int, str]] = {}
    with open_session(readonly=True) as session:
        connection = session.connection()
        for table in SQLModel.metadata.sorted_tables:
            columns = [c.name for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS]
            keys = [c.name for c in table.primary_key.columns] or columns
            listed = ", ".join(f'"{c}"' for c in columns)
            order = ", ".join(f'"{c}"' for c in keys)
            rows = connection.execute(text(f'SELECT {listed} FROM "{table.name}" ORDER BY {order}')).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()[:16]
            found[table.name] = (len(rows), digest)
        session.rollback()
    return found


def _changes(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return [
        f"{name}: {before.get(name)} -> {after.get(name)}"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


# The module's world --------------------------------------------------------------------------


@dataclass
class Matrix:
    world: World
    client: TestClient
    admin: User
    session_token: str
    endpoints: list[Endpoint]

    def sign_in(self) -> None:
        with open_session() as session:
            self.session_token = accounts.start_session(session, user=self.admin).token

    def keep_signed_in(self) -> None:
        """A control may sign the administrator out (POST /logout): sign in again for the next."""
        with open_session(readonly=True) as session:
            signed_out = accounts.session_user(session, self.session_token) is None
        if signed_out:
            self.sign_in()

    def send(self, filled: Filled, *, token: str | None, headers: dict[str, str] | None = None) -> Any:
        """`token` goes in the form field of a form, in the X-CSRF-Token header otherwise."""
        self.client.cookies.clear()
        sent = {"Cookie": f"cercle_session={self.session_token}", "Accept-Encoding": "identity", **(headers or {})}
        kwargs: dict[str, Any] = {}
        if filled.json is not None:
            kwargs["json"] = filled.json
        elif filled.form is not None:
            kwargs["data"] = {**filled.form, **({"csrf_token": token} if token is not None else {})}
        if token is not None and filled.form is None:
            sent["X-CSRF-Token"] = token
        return self.client.request(
            filled.endpoint.method, filled.url, headers=sent, follow_redirects=False, **kwargs
        )

    @property
    def right_token(self) -> str:
        return csrf_token_for(self.session_token)


@pytest.fixture(scope="module")
def matrix(database_url: str) -> Iterator[Matrix]:
    from app.main import create_app

    empty_database(database_url)
    with app_db.open_session() as session:
        world = build_world(session, ("open",))
        admin = world.admin
    app = create_app()
    unsafe = [e for e in enumerate_endpoints(app) if e.method in UNSAFE_METHODS]
    with TestClient(app, base_url=OUR_ORIGIN, raise_server_exceptions=False) as client:
        found = Matrix(world=world, client=client, admin=admin, session_token="", endpoints=unsafe)
        found.sign_in()
        # The day's first request of a session records a visit: make it before any comparison.
        client.cookies.clear()
        assert client.get("/", headers={"Cookie": f"cercle_session={found.session_token}"}).status_code == 200
        yield found
    with app_db.open_session() as session:
        _truncate(session)


# The tests -----------------------------------------------------------------------------------


def test_every_unsafe_route_is_filled_by_the_matrix(matrix: Matrix) -> None:
    problems = []
    for endpoint in matrix.endpoints:
        try:
            fill(endpoint, matrix.world)
        except Unfillable as problem:
            problems.append(str(problem))
    assert not problems, (
        "new unsafe routes the CSRF matrix cannot fill: say which object of the world each "
        "parameter names in tests/web/test_csrf_matrix.py\n" + "\n".join(problems)
    )
    assert len(matrix.endpoints) >= 80, "the matrix should walk every unsafe route of the app"
    assert {e.is_api for e in matrix.endpoints} == {True, False}, "pages and API alike"


# (name, token: "none" | "wrong" | "right", extra headers)
FORGERIES = {
    "no-token": ("none", {}),
    "wrong-token": ("wrong", {}),
    "right-token-foreign-origin": ("right", {"Origin": FOREIGN_ORIGIN}),
    "right-token-cross-site-fetch": ("right", {"Sec-Fetch-Site": "cross-site"}),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_unsafe_request_is_refused_and_changes_nothing(matrix: Matrix, forgery: str) -> None:
    kind, headers = FORGERIES[forgery]
    before = fingerprint()
    failures = []
    for endpoint in matrix.endpoints:
        filled = fill(endpoint, matrix.world)
        token = {"none": None, "wrong": WRONG_TOKEN, "right": matrix.right_token}[kind]
        response = matrix.send(filled, token=token, headers=headers)
        after = fingerprint()
        if response.status_code != 403 or REFUSAL not in response.text:
            failures.append(f"{filled} ({filled.family}) → {response.status_code}, not the CSRF refusal")
        changes = _changes(before, after)
        if changes:
            failures.append(f"{filled} ({filled.family}) changed the database: {'; '.join(changes)}")
            before = after
        matrix.keep_signed_in()  # in case a route acted anyway and signed the administrator out
    print(f"\n[csrf matrix] {forgery}: {len(matrix.endpoints)} unsafe routes refused")
    assert not failures, "\n".join(failures)


def test_right_token_from_our_origin_is_not_refused_by_csrf_on_any_unsafe_route(matrix: Matrix) -> None:
    """The control: run last (it changes the world); a route refused here is untestable above."""
    refused = []
    accepted: Counter[str] = Counter()
    for endpoint in matrix.endpoints:
        filled = fill(endpoint, matrix.world)
        response = matrix.send(
            filled, token=matrix.right_token, headers={"Origin": OUR_ORIGIN, "Sec-Fetch-Site": "same-origin"}
        )
        if response.status_code == 403 and REFUSAL in response.text:
            refused.append(f"{filled} ({filled.family})")
        else:
            accepted[filled.family] += 1
        matrix.keep_signed_in()
    print(f"\n[csrf matrix] controls not refused by CSRF, by family: {dict(accepted)}")
    assert not refused, "refused by CSRF with the right token from our own origin:\n" + "\n".join(refused)
    assert set(accepted) == {"html form", "html no body", "api json", "api form", "api no body"}
