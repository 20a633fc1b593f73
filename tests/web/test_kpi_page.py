"""The KPI page /admin/kpis and its CSV and JSON downloads."""

import csv
import io
import re

import pytest

from tests.factories import login, make_admin, make_circle, make_user
from tests.unit.test_kpis_builders import at, kpis, member, post, thread, visit

QUERY = "start=2026-03-01&end=2026-03-10"


@pytest.fixture
def community(db):
    admin = make_admin(db)
    coffee = make_circle(db, "coffee", by=admin, name="Coffee lovers")
    tea = make_circle(db, "tea", by=admin, name="Tea time")
    host = make_user(db, "hostess")
    member(db, host, tea, role="host")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    for who in (alice, bob):
        member(db, who, coffee)
        member(db, who, tea)
    t = thread(db, coffee, alice, at("03-02", 9))
    post(db, t, bob, at("03-02", 11))
    visit(db, alice, "02-25", coffee)
    visit(db, bob, "03-04", coffee)
    db.commit()
    return {"admin": admin, "host": host, "alice": alice, "coffee": coffee, "tea": tea}


def test_admin_page_shows_presets_circle_filter_headline_and_charts(client, db, community):
    login(client, community["admin"])

    page = client.get(f"/admin/kpis?{QUERY}")

    assert page.status_code == 200
    html = page.text
    for days in (7, 30, 90, 365):
        assert f'href="/admin/kpis?days={days}&amp;circle="' in html
    assert '<option value="" selected>Whole site</option>' in html
    assert '<option value="coffee"' in html and '<option value="tea"' in html
    for label in ("Engagement rate", "Recommendation rate", "NPS", "Ambassadors", "Retention"):
        assert label in html
    assert 'role="img"' in html and "<svg" in html and "<details" in html
    assert "Cohort retention" in html and "heat-" in html
    assert 'hx-get="/admin/kpis"' in html and 'hx-target="#kpis"' in html and 'hx-push-url="true"' in html
    assert f'href="/admin/kpis.csv?{QUERY.replace("&", "&amp;")}&amp;circle="' in html


def test_page_compares_the_headline_with_the_previous_period(client, db, community):
    login(client, community["admin"])

    html = client.get(f"/admin/kpis?{QUERY}&circle=coffee").text

    # coffee: alice and bob are members; P: both engaged/active (post, reply, visit) → 100 %;
    # P′ (02-19 … 02-28): nobody posted → 0 %: +100.0 pts
    assert "100.0 %" in html
    assert "+100.0 pts vs previous period" in html
    # retention: alice was active in P′ (visit 02-25) and in P (thread) → 1 / 1
    assert re.search(r'id="kpi-retention_rate".*?100\.0 %', html, re.S)


def test_page_has_no_inline_style_or_script(client, db, community):
    login(client, community["admin"])
    html = client.get(f"/admin/kpis?{QUERY}").text
    assert "style=" not in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


def test_htmx_request_gets_only_the_results_fragment(client, db, community):
    login(client, community["admin"])

    response = client.get(f"/admin/kpis?{QUERY}&circle=coffee", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.lstrip().startswith(('<div id="kpis"', '\n<div id="kpis"'))
    assert "<html" not in response.text
    assert "HX-Request" in response.headers["vary"]


def test_preset_is_the_last_days_ending_today_and_marked_current(client, db, community):
    login(client, community["admin"])
    html = client.get("/admin/kpis?days=7&circle=coffee").text
    assert re.search(r'days=7&amp;circle=coffee"[^>]*aria-current="true"', html)


def test_host_sees_only_their_circles_and_lands_on_the_first(client, db, community):
    login(client, community["host"])

    page = client.get(f"/admin/kpis?{QUERY}")

    assert page.status_code == 200
    assert '<option value="tea" selected>Tea time</option>' in page.text
    assert "Whole site" not in page.text
    assert '<option value="coffee"' not in page.text


def test_host_is_refused_another_circle(client, db, community):
    login(client, community["host"])
    assert client.get(f"/admin/kpis?{QUERY}&circle=coffee").status_code == 403


def test_member_is_refused(client, db, community):
    login(client, community["alice"])
    assert client.get(f"/admin/kpis?{QUERY}").status_code == 403
    assert client.get(f"/admin/kpis.csv?{QUERY}").status_code == 403


def test_signed_out_visitor_is_sent_to_sign_in(client, db, community):
    response = client.get("/admin/kpis", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_bad_dates_come_back_with_a_message_and_422(client, db, community):
    login(client, community["admin"])
    response = client.get("/admin/kpis?start=2026-03-10&end=2026-03-01")
    assert response.status_code == 422
    assert "The end date comes before the start date." in response.text


def test_unknown_circle_is_a_404_page(client, db, community):
    login(client, community["admin"])
    assert client.get(f"/admin/kpis?{QUERY}&circle=nowhere").status_code == 404


def test_csv_download_has_a_header_row_and_the_numbers(client, db, community):
    expected = kpis(db, where=community["coffee"])
    login(client, community["admin"])

    response = client.get(f"/admin/kpis.csv?{QUERY}&circle=coffee")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["figure", "key", "value"]
    values = {row[0]: row[2] for row in rows[1:] if row[1] == ""}
    assert values["members_total"] == "2"
    assert values["posts"] == str(expected["posts"]) == "2"
    assert float(values["engagement_rate"]) == expected["engagement_rate"] == 1.0
    assert values["nps"] == ""  # null
    assert ["series_posts", "2026-03-02", "2"] in rows


def test_json_download_is_the_report(client, db, community):
    expected = kpis(db)
    login(client, community["admin"])

    data = client.get(f"/admin/kpis.json?{QUERY}").json()

    data.pop("generated_at")
    expected.pop("generated_at")
    assert data == expected


def test_page_lists_the_most_active_candidates_and_says_how_many_there_are(client, db, monkeypatch):
    from app.analytics import page as kpi_page
    from tests.unit.test_ambassadors import _active

    admin = make_admin(db)
    coffee = make_circle(db, "coffee", by=admin)
    fan = make_user(db, "fan")
    _active(db, coffee, "busiest", reactor=fan, posts=12)
    _active(db, coffee, "busy", reactor=fan)
    monkeypatch.setattr(kpi_page, "CANDIDATES_SHOWN", 1)
    login(client, admin)

    html = client.get("/admin/kpis?days=30").text

    assert "busiest" in html and ">busy<" not in html
    assert "The 1 most active of 2 candidates." in html
    assert 'href="/admin/ambassadors#candidates"' in html
