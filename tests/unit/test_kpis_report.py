"""KPIs — the report as a whole: keys, arguments, permissions, the CLI, SQL-only computation."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Connection
from sqlmodel import func, select
from typer.testing import CliRunner

from app import permissions
from app.analytics import FIGURES, parse_day, period_from, previous_period, report
from app.analytics.page import resolve_scope
from app.analytics.report import HEADLINE, report_and_previous
from app.analytics.snapshot import shared_snapshot
from app.cli import app as cli_app
from app.db import open_session
from app.errors import Forbidden, Invalid, NotFound, SignInRequired
from app.models import User
from app.models.base import utctoday
from tests.unit.test_kpis_builders import at, circle, day, kpis, member, post, thread, user, visit

ENVELOPE = {"start", "end", "circle", "generated_at"}


def test_report_has_exactly_the_keys_of_the_contract(db):
    figures = kpis(db)
    assert set(figures) == ENVELOPE | set(FIGURES)
    assert len(FIGURES) == 35
    assert (figures["start"], figures["end"], figures["circle"]) == ("2026-03-01", "2026-03-10", None)
    assert figures["generated_at"].endswith("+00:00")


def test_empty_community_gives_zero_counts_and_null_ratios(db):
    figures = kpis(db)

    nulls = {
        "stickiness",
        "engagement_rate",
        "recommendation_rate",
        "nps",
        "ambassador_rate",
        "retention_rate",
        "member_post_share",
        "reply_rate",
        "median_first_reply_hours",
        "peer_reply_share",
        "avg_replies_per_thread",
        "avg_participants_per_thread",
        "top10_post_share",
    }
    for key in nulls:
        assert figures[key] is None, key
    zero = set(FIGURES) - nulls - {"dau_avg", "cohorts", "series"}
    for key in zero:
        assert figures[key] == 0, key
    assert figures["dau_avg"] == 0.0  # 0 member-days / 10 days: L is never 0
    assert len(figures["series"]) == 10
    assert all(row["size"] == 0 for row in figures["cohorts"])


def test_ratios_are_plain_unrounded_floats(db):
    admin = user(db, "admin", admin=True)
    a, b, c = user(db, "a"), user(db, "b"), user(db, "c")
    t = thread(db, circle(db, "coffee", by=admin), a, at("03-02"))
    visit(db, b, "03-03")
    visit(db, c, "03-04")

    figures = kpis(db)

    assert figures["engagement_rate"] == 1 / 3  # a posted; 3 members
    assert isinstance(figures["engagement_rate"], float)
    assert t.id


def test_end_before_start_is_refused(db):
    with pytest.raises(Invalid, match="end date comes before"):
        report(db, start=date(2026, 3, 10), end=date(2026, 3, 1), circle=None)


def test_a_period_longer_than_three_years_is_refused(db):
    start = date(2023, 1, 1)
    report(db, start=start, end=start + timedelta(days=1095), circle=None)  # 1096 days: allowed
    with pytest.raises(Invalid, match="three years"):
        report(db, start=start, end=start + timedelta(days=1096), circle=None)


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday", "2026-3-1", "20260301", "2026-W10-1", ""])
def test_malformed_dates_are_refused_with_a_clear_message(value):
    with pytest.raises(Invalid, match="YYYY-MM-DD"):
        parse_day(value, "start")


def test_period_defaults_to_the_last_30_days_ending_today():
    today = date(2026, 3, 31)
    assert period_from(None, None, today=today) == (date(2026, 3, 2), today)
    assert period_from(None, "2026-02-28", today=today) == (date(2026, 1, 30), date(2026, 2, 28))
    assert period_from("2026-03-01", None, today=today) == (date(2026, 3, 1), today)
    assert period_from(None, None, days="7", today=today) == (date(2026, 3, 25), today)
    with pytest.raises(Invalid):
        period_from(None, None, days="0", today=today)
    with pytest.raises(Invalid):
        period_from(None, None, days="lots", today=today)


def test_previous_period_is_the_same_length_just_before():
    # P = 03-01 … 03-10 (10 days) → P′ = 02-19 … 02-28
    assert previous_period(date(2026, 3, 1), date(2026, 3, 10)) == (date(2026, 2, 19), date(2026, 2, 28))


def test_unknown_circle_is_not_found(db):
    admin = user(db, "admin", admin=True)
    with pytest.raises(NotFound):
        resolve_scope(db, viewer=admin, slug="nowhere")


def test_kpi_permissions_admins_everything_hosts_their_circles(db):
    admin = user(db, "admin", admin=True)
    host, plain, outsider = user(db, "host"), user(db, "plain"), user(db, "outsider")
    coffee = circle(db, "coffee", by=admin)
    tea = circle(db, "tea", by=admin)
    secret = circle(db, "secret", by=admin, visibility="secret")
    member(db, host, coffee, role="host")
    member(db, host, tea)
    member(db, plain, coffee)
    db.commit()

    assert permissions.require_kpis(db, admin, None) is admin
    assert permissions.require_kpis(db, admin, secret) is admin
    assert permissions.require_kpis(db, host, coffee) is host
    with pytest.raises(Forbidden):
        permissions.require_kpis(db, host, None)  # site-wide: admins only
    with pytest.raises(Forbidden):
        permissions.require_kpis(db, host, tea)  # a member there, not its host
    with pytest.raises(NotFound):
        permissions.require_kpis(db, host, secret)  # no existence leak
    with pytest.raises(Forbidden):
        permissions.require_kpis(db, plain, coffee)
    with pytest.raises(Forbidden):
        permissions.require_kpis(db, outsider, None)
    with pytest.raises(SignInRequired):
        permissions.require_kpis(db, None, coffee)


def test_host_who_names_no_circle_gets_the_first_circle_they_host(db):
    admin = user(db, "admin", admin=True)
    host = user(db, "host")
    member(db, host, circle(db, "tea", by=admin), role="host")
    db.commit()

    assert resolve_scope(db, viewer=host, slug="", default_to_hosted=True).slug == "tea"
    with pytest.raises(Forbidden):
        resolve_scope(db, viewer=host, slug="")


def _community_of(db, size: int) -> None:
    boss = user(db, f"boss{size}", admin=True)
    coffee = circle(db, f"coffee{size}", by=boss)
    for n in range(size):
        who = user(db, f"u{size}x{n}", created="02-01")
        member(db, who, coffee)
        t = thread(db, coffee, who, at("03-02", 9, n % 60))
        post(db, t, boss, at("03-02", 11, n % 60))
        visit(db, who, "03-03")


def test_the_number_of_queries_does_not_grow_with_the_rows(db, count_queries):
    _community_of(db, 3)
    db.commit()
    with count_queries() as few:
        report(db, start=day("03-01"), end=day("03-10"), circle=None)
    _community_of(db, 30)
    db.commit()
    with count_queries() as many:
        report(db, start=day("03-01"), end=day("03-10"), circle=None)
    assert many.count == few.count
    assert few.count <= 25


def test_the_previous_headline_is_the_headline_of_the_previous_periods_own_report(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    for n, joined in enumerate(("01-10", "02-20", "03-02")):
        who = user(db, f"u{n}", created=joined)
        member(db, who, coffee)
        if joined < "02-22":
            visit(db, who, "02-22")
        post(db, thread(db, coffee, who, at("03-03", 9, n)), who, at("03-04", 10, n))
    db.commit()

    current, previous = report_and_previous(db, start=day("03-01"), end=day("03-10"), circle=None)
    before = report(db, start=day("02-19"), end=day("02-28"), circle=None)

    alone = report(db, start=day("03-01"), end=day("03-10"), circle=None)
    assert current == {**alone, "generated_at": current["generated_at"]}
    assert set(previous) == set(HEADLINE) | ENVELOPE
    assert {key: previous[key] for key in HEADLINE} == {key: before[key] for key in HEADLINE}
    assert (previous["start"], previous["end"]) == ("2026-02-19", "2026-02-28")
    assert previous["active_members"] == 2  # u0 and u1 visited on 02-22


def test_cli_prints_the_same_json_as_the_report(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a = user(db, "a")
    member(db, a, coffee)
    thread(db, coffee, a, at("03-02"))
    expected = kpis(db, where=coffee)

    result = CliRunner().invoke(
        cli_app, ["kpis", "--start", "2026-03-01", "--end", "2026-03-10", "--circle", "coffee", "--json"]
    )

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    printed.pop("generated_at")
    expected.pop("generated_at")
    assert printed == expected


def test_cli_prints_readable_tables(db):
    user(db, "a")
    db.commit()
    result = CliRunner().invoke(cli_app, ["kpis", "--start", "2026-03-01", "--end", "2026-03-10"])
    assert result.exit_code == 0, result.output
    assert "Engagement rate" in result.stdout and "Cohort retention" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-03-10", "--end", "2026-03-01"], "end date comes before"),
        (["--start", "2026/03/01"], "YYYY-MM-DD"),
        (["--start", "2020-01-01", "--end", "2026-01-01"], "three years"),
        (["--circle", "nowhere"], "nowhere"),
    ],
)
def test_cli_refuses_bad_arguments_with_a_message(db, args, message):
    result = CliRunner().invoke(cli_app, ["kpis", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_default_cli_period_ends_today(db):
    result = CliRunner().invoke(cli_app, ["kpis", "--json"])
    data = json.loads(result.stdout)
    assert data["end"] == utctoday().isoformat()
    assert data["start"] == (utctoday() - timedelta(days=29)).isoformat()


# Figure groups computed side by side ----------------------------------------------------------


def _accounts(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(User)).scalar_one()


def test_a_reports_connections_see_one_snapshot_even_when_a_write_commits_between_their_reads(db):
    user(db, "ann")
    db.commit()
    with shared_snapshot(db, 2) as (first, second):
        assert _accounts(first) == 1
        with open_session() as writer:
            user(writer, "bob")
            writer.commit()
        assert _accounts(second) == 1
    with open_session() as later:
        assert later.exec(select(func.count()).select_from(User)).one() == 2


def test_a_session_that_has_written_gets_its_report_from_its_own_connection(db):
    user(db, "ann")
    db.commit()
    user(db, "bob")  # not committed: only this session sees it (on SQLite, it holds the write lock)
    figures = report(db, start=day("03-01"), end=day("03-10"), circle=None)
    assert figures["members_total"] == 2
    db.rollback()
