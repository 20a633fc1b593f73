"""GET /api/v1/kpis: the report as JSON, for admins (everything) and hosts (their circles)."""

from datetime import timedelta

import pytest

from app.analytics import FIGURES
from app.models.base import utctoday
from tests.factories import login, make_admin, make_circle, make_user
from tests.unit.test_kpis_builders import at, kpis, member, thread, visit

PERIOD = {"start": "2026-03-01", "end": "2026-03-10"}


@pytest.fixture
def community(db):
    admin = make_admin(db)
    coffee = make_circle(db, "coffee", by=admin)
    tea = make_circle(db, "tea", by=admin)
    secret = make_circle(db, "vault", by=admin, visibility="secret")
    host = make_user(db, "hostess")
    member(db, host, coffee, role="host")
    member(db, host, tea)
    alice = make_user(db, "alice")
    member(db, alice, coffee)  # approved on 2026-01-02
    thread(db, coffee, alice, at("03-02"))
    visit(db, alice, "03-03", coffee)
    db.commit()
    return {"admin": admin, "host": host, "alice": alice, "coffee": coffee, "tea": tea, "secret": secret}


def test_admin_gets_the_site_wide_report(client, db, community):
    login(client, community["admin"])

    response = client.get("/api/v1/kpis", params=PERIOD)

    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"start", "end", "circle", "generated_at", *FIGURES}
    assert (data["start"], data["end"], data["circle"]) == ("2026-03-01", "2026-03-10", None)


def test_api_numbers_are_the_reports_numbers(client, db, community):
    expected = kpis(db, where=community["coffee"])
    login(client, community["admin"])

    data = client.get("/api/v1/kpis", params={**PERIOD, "circle": "coffee"}).json()

    data.pop("generated_at")
    expected.pop("generated_at")
    assert data == expected
    # alice is coffee's only member (hostess is staff): she posted → engagement 1 / 1
    assert data["members_total"] == 1 and data["engagement_rate"] == 1.0


def test_default_period_is_the_last_30_days_ending_today(client, db, community):
    login(client, community["admin"])
    data = client.get("/api/v1/kpis").json()
    assert data["end"] == utctoday().isoformat()
    assert data["start"] == (utctoday() - timedelta(days=29)).isoformat()
    assert len(data["series"]) == 30


def test_admin_sees_any_circle_even_a_secret_one(client, db, community):
    login(client, community["admin"])
    assert client.get("/api/v1/kpis", params={**PERIOD, "circle": "vault"}).status_code == 200


def test_host_sees_the_circle_they_host(client, db, community):
    login(client, community["host"])
    response = client.get("/api/v1/kpis", params={**PERIOD, "circle": "coffee"})
    assert response.status_code == 200
    assert response.json()["circle"] == "coffee"


def test_host_may_not_see_site_wide_kpis(client, db, community):
    login(client, community["host"])
    assert client.get("/api/v1/kpis", params=PERIOD).status_code == 403


def test_host_may_not_see_a_circle_they_only_belong_to(client, db, community):
    login(client, community["host"])
    assert client.get("/api/v1/kpis", params={**PERIOD, "circle": "tea"}).status_code == 403


def test_host_learns_nothing_of_a_secret_circle_they_are_not_in(client, db, community):
    login(client, community["host"])
    assert client.get("/api/v1/kpis", params={**PERIOD, "circle": "vault"}).status_code == 404


def test_member_is_refused(client, db, community):
    login(client, community["alice"])
    assert client.get("/api/v1/kpis", params=PERIOD).status_code == 403
    assert client.get("/api/v1/kpis", params={**PERIOD, "circle": "coffee"}).status_code == 403


def test_signed_out_is_asked_to_sign_in(client, db, community):
    assert client.get("/api/v1/kpis", params=PERIOD).status_code == 401


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, 422, "end date comes before"),
        ({"start": "01/03/2026", "end": "2026-03-10"}, 422, "YYYY-MM-DD"),
        ({"start": "2026-02-30", "end": "2026-03-10"}, 422, "YYYY-MM-DD"),
        ({"start": "2020-01-01", "end": "2026-03-10"}, 422, "three years"),
        ({"start": "0001-01-01", "end": "0001-01-02"}, 422, "between"),
        ({**PERIOD, "circle": "nowhere"}, 404, ""),
    ],
)
def test_bad_arguments_get_a_clear_json_4xx(client, db, community, params, status, words):
    login(client, community["admin"])
    response = client.get("/api/v1/kpis", params=params)
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_kpis_are_in_the_openapi_document(client, db):
    assert "/api/v1/kpis" in client.get("/openapi.json").json()["paths"]
