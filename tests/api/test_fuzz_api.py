"""Fuzzing the JSON API from its own OpenAPI description (issue #8).

schemathesis reads `/openapi.json` from the app, keeps the `/api/v1` operations and, for each,
sends requests as a member of two circles with a Bearer token, then as an administrator, against
a small world on SQLite and on PostgreSQL: its coverage phase (boundary values, wrong types,
missing parameters, other methods; as the member), then random valid data, random invalid data,
and random valid data on real objects of the world (path parameters filled from it). Every answer
must be no server error, carry a status code the operation documents, and match the documented
schema of that status. Generation is derandomized: a failure found once is found again.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from app.db import open_session
from app.models import User
from app.services import accounts
from tests.factories import add_member
from tests.web.route_matrix_support import World, build_world

# Per operation and pass (random valid data, invalid data, valid data on real objects); raise
# it for a deeper run: CERCLE_FUZZ_EXAMPLES=200 pytest tests/api/test_fuzz_api.py -p no:xdist
EXAMPLES_PER_MODE = int(os.environ.get("CERCLE_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


class Bearer:
    """A personal API token of `user`, made again whenever a fuzzed request revoked it."""

    def __init__(self, user: User) -> None:
        self.user_id = user.id
        self.token = self._new()

    def _new(self) -> str:
        with open_session() as session:
            user = session.get(User, self.user_id)
            assert user is not None
            return accounts.create_api_token(session, user=user, name="fuzzing")

    def headers(self) -> dict[str, str]:
        with open_session(readonly=True) as session:
            valid = accounts.api_token_user(session, self.token) is not None
        if not valid:
            self.token = self._new()
        return {"Authorization": f"Bearer {self.token}"}


def _fuzz(app: Any, bearer: Bearer, known: dict[str, Any], *, coverage: bool) -> Tally:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=r"^/api/v1/")
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, "the API should have been found in the OpenAPI description"
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        badge = "/api/v1/badges/" in operation.path
        real = {name: known["badge_slug" if badge and name == "slug" else name] for name in names if name in known}
        # Random values first (mostly missing objects), then real objects of the world.
        passes = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if real:
            passes.append((GenerationMode.POSITIVE, real))
        runs = [("coverage", _coverage_runner(schema, operation, bearer, tally))] if coverage else []
        runs += [
            ("world" if path_parameters else mode.value, _runner(operation, mode, path_parameters, bearer, tally))
            for mode, path_parameters in passes
        ]
        for where, run in runs:
            try:
                run()
            except Unsatisfiable:  # nothing invalid can be sent (no parameter, or free strings only)
                continue
            except (Exception, BaseExceptionGroup) as error:  # collected: every operation is fuzzed
                tally.failures.append(f"{operation.label} [{where}]: {error}")
    return tally


def _call_and_check(case: Any, bearer: Bearer, tally: Tally) -> None:
    response = case.call(headers=bearer.headers())
    tally.requests += 1
    tally.statuses[response.status_code] += 1
    if response.status_code >= 500:
        tally.server_errors += 1
    case.validate_response(response, checks=CHECKS)


def _coverage_runner(schema: Any, operation: Any, bearer: Bearer, tally: Tally) -> Callable[[], None]:
    """schemathesis's coverage phase: boundary values, wrong types, missing parameters and other
    methods, as explicit examples. (Its pytest plugin, which runs it, does not work with pytest 9:
    the builder it uses is called directly; the version is pinned in pyproject.toml.)"""
    from schemathesis.generation.hypothesis.builder import HypothesisTestConfig, HypothesisTestMode, create_test

    def run(case: Any) -> None:
        _call_and_check(case, bearer, tally)

    config = HypothesisTestConfig(
        project=schema.config,
        modes=[HypothesisTestMode.COVERAGE],
        settings=settings(
            phases=[Phase.explicit],
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    return create_test(operation=operation, test_func=run, config=config)


def _runner(
    operation: Any, mode: GenerationMode, path_parameters: dict[str, Any] | None, bearer: Bearer, tally: Tally
) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: Any) -> None:
        _call_and_check(case, bearer, tally)

    return run


def _report(role: str, database: str, tally: Tally, seconds: float) -> None:
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
    print(
        f"\n[fuzz] {role} on {database}: {tally.requests} requests, {tally.server_errors} server errors, "
        f"{len(tally.failures)} failing operations, {seconds:.0f}s ({statuses})"
    )


def _world(db: Session) -> tuple[World, User]:
    world = build_world(db)
    member = world.circles["closed"].member
    add_member(db, world.circles["open"].circle, member)  # a member of two circles
    db.commit()
    return world, member


def _known(world: World) -> dict[str, Any]:
    """Path parameters naming real objects: the closed circle's, where the member belongs."""
    cw = world.circles["closed"]
    return {
        "slug": cw.circle.slug,
        "badge_slug": world.badge_slug,
        "thread_id": cw.thread.id,
        "post_id": cw.reply.id,
        "membership_id": cw.pending.id,
        "invite_id": cw.invite.id,
        "code": cw.invite.code,
        "username": cw.member.username,
        "notification_id": cw.member_notification_id,
        "token_id": cw.member_token_id,
        "award_id": cw.award_id,
        "kind": "like",
    }


@pytest.mark.parametrize("role", ["member", "admin"])
def test_api_answers_every_fuzzed_request_without_server_error_and_as_documented(db, app, role: str) -> None:
    world, member = _world(db)
    bearer = Bearer(member if role == "member" else world.admin)
    started = time.monotonic()
    # The coverage phase sends the same ~1,200 edge cases whoever asks: once, as the member.
    tally = _fuzz(app, bearer, _known(world), coverage=role == "member")
    _report(role, db.get_bind().dialect.name, tally, time.monotonic() - started)
    assert tally.requests > 500, "schemathesis should have generated requests"
    assert not tally.failures, "\n\n".join(tally.failures)


def test_every_api_operation_documents_the_error_answers_it_may_give() -> None:
    from app.main import create_app

    spec = create_app().openapi()
    undocumented = [
        f"{method.upper()} {path}: {sorted(missing)}"
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in operations.items()
        for missing in [{"401", "403", "404", "422", "429", "503"} - set(operation["responses"])]
        if missing
    ]
    assert not undocumented, "\n".join(undocumented)
    refusal = spec["components"]["schemas"]["ErrorOut"]
    assert refusal["required"] == ["detail"] and "errors" in refusal["properties"]
