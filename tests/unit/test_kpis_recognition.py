"""KPIs — ambassadors, badges, NPS and ambassador candidates. P = 2026-03-01 … 03-10."""

from datetime import timedelta

import pytest

from app.analytics import candidate_rows
from app.analytics.recognition import nps_score
from tests.unit.test_kpis_builders import (
    at,
    award,
    badge,
    circle,
    day,
    grant,
    kpis,
    member,
    post,
    pulse,
    react,
    thread,
    user,
    visit,
)


def test_ambassadors_hold_a_grant_at_end_ts_and_new_ones_were_granted_in_the_period(db):
    admin = user(db, "admin", admin=True)
    a, b, c, d, e, f = (user(db, name) for name in "abcdef")
    g = user(db, "g", deleted="03-05")
    grant(db, a, admin, at("01-10"))  # holds it
    grant(db, b, admin, at("01-10"), revoked=at("02-01"))  # revoked …
    grant(db, b, admin, at("03-05"))  # … and granted again in P
    grant(db, c, admin, at("03-03"), revoked=at("03-08"))  # granted and revoked in P
    grant(db, d, admin, at("03-11", 0, 1))  # after end_ts
    grant(db, e, admin, at("01-10"), revoked=at("03-11", 1))  # revoked after end_ts: holds it
    grant(db, admin, admin, at("03-02"))  # staff
    grant(db, g, admin, at("01-10"))  # deleted account

    figures = kpis(db)

    # M = a … f = 6; holding at end_ts: a, b, e = 3
    assert figures["members_total"] == 6
    assert figures["ambassadors"] == 3
    # grant dated in P: b (re-grant), c = 2
    assert figures["new_ambassadors"] == 2
    assert figures["ambassador_rate"] == 0.5  # 3 / 6


def test_circle_ambassadors_are_the_circles_members_who_hold_the_role(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a, b, c = user(db, "a"), user(db, "b"), user(db, "c")
    member(db, a, coffee)
    member(db, b, coffee)
    for who in (a, c):
        grant(db, who, admin, at("03-02"))

    figures = kpis(db, where=coffee)

    # coffee members a, b; ambassadors among them: a (c is not in coffee)
    assert (figures["ambassadors"], figures["new_ambassadors"]) == (1, 1)
    assert figures["ambassador_rate"] == 0.5


def test_badges_awarded_in_the_period_to_members(db):
    admin = user(db, "admin", admin=True)
    a, b, c, d = (user(db, name) for name in "abcd")
    helper, writer = badge(db, "helper"), badge(db, "writer")
    award(db, helper, a, at("03-02"))
    award(db, writer, a, at("03-04"))
    award(db, helper, b, at("03-05"), revoked=at("03-06"))  # made in P (revoked later): counts
    award(db, helper, c, at("02-25"))  # before P
    award(db, helper, admin, at("03-03"))  # staff
    award(db, helper, d, at("03-11", 0, 5))  # after end_ts

    figures = kpis(db)

    # awards made in P to members: a ×2, b = 3, to 2 distinct members
    assert figures["badges_awarded"] == 3
    assert figures["recognised_members"] == 2


def test_nps_counts_each_members_latest_answer_of_the_period(db):
    admin = user(db, "admin", admin=True)
    p1, p2, p3, p4, p5, p6 = (user(db, f"p{n}") for n in range(1, 7))
    gone = user(db, "gone", deleted="03-07")
    pulse(db, p1, 10, at("03-02"))
    pulse(db, p1, 3, at("03-05"))  # latest of P: detractor
    pulse(db, p2, 9, at("03-03"))  # promoter
    pulse(db, p3, 7, at("03-04"))  # passive
    pulse(db, p4, 0, at("02-25"))  # before P: ignored …
    pulse(db, p4, 10, at("03-06"))  # … promoter
    pulse(db, p5, 2, at("03-09"))  # detractor (its 9 comes after end_ts)
    pulse(db, p5, 9, at("03-11", 2))
    pulse(db, p6, 6, at("03-10", 23))  # detractor
    pulse(db, admin, 0, at("03-05"))  # staff
    pulse(db, gone, 10, at("03-02"))  # deleted before end_ts

    figures = kpis(db)

    # 6 answers: promoters p2, p4 = 2; detractors p1, p5, p6 = 3
    # 100 × (2/6 − 3/6) = −16.666… → −16.7
    assert figures["nps_responses"] == 6
    assert figures["nps"] == -16.7


def test_nps_rounds_half_away_from_zero(db):
    people = [user(db, f"p{n}") for n in range(16)]
    pulse(db, people[0], 10, at("03-02"))
    for who in people[1:]:
        pulse(db, who, 8, at("03-02"))  # passives

    figures = kpis(db)

    # 100 × 1/16 = 6.25 → 6.3 (half away from zero, not to even)
    assert figures["nps_responses"] == 16
    assert figures["nps"] == 6.3


@pytest.mark.parametrize(
    ("promoters", "detractors", "responses", "expected"),
    [
        (1, 0, 16, 6.3),
        (0, 1, 16, -6.3),
        (1, 0, 8, 12.5),
        (2, 3, 6, -16.7),
        (1, 1, 3, 0.0),
        (3, 0, 3, 100.0),
        (0, 0, 0, None),
        (1, 2, 2000, -0.1),
        (0, 1, 3000, 0.0),
    ],
)
def test_nps_score_arithmetic(promoters, detractors, responses, expected):
    # e.g. −1/2000 × 100 = −0.05 → −0.1; −1/3000 × 100 = −0.033 → 0.0 (never −0.0)
    score = nps_score(promoters, detractors, responses)
    assert score == expected
    assert str(score) != "-0.0"


def test_nps_is_null_without_answers(db):
    user(db, "a")
    figures = kpis(db)
    assert figures["nps"] is None
    assert figures["nps_responses"] == 0


def _busy_member(db, where, name, *, others, posts=10, days=8, reactions=5, start="03-01", hidden=0):
    """`posts` visible posts spread over `days` distinct days from `start`, `reactions` from others."""
    who = user(db, name)
    member(db, who, where)
    t = thread(db, where, others[0], at("2025-12-01"))
    first = day(start)
    made = []
    for n in range(posts):
        when = first + timedelta(days=n % days)
        made.append(post(db, t, who, at(when.isoformat(), 10, n)))
    for n in range(hidden):
        post(db, t, who, at(start, 11, n), hidden=True)
    for n in range(reactions):
        react(
            db,
            made[n % len(made)],
            others[n % len(others)],
            at(start, 12, n),
            kind=("like", "helpful", "thanks")[n // len(others) % 3],
        )
    return who


@pytest.mark.parametrize(
    "start",
    ["03-10", "03-01", "01-10", "2025-03-11"],
    ids=["1-day period", "10-day period", "60-day period (the window starts in P′)", "365-day period"],
)
def test_ambassador_candidates_need_days_posts_and_reactions_from_others_in_the_last_90_days(db, start):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    others = [user(db, f"r{n}") for n in range(5)]
    k1 = _busy_member(db, coffee, "k1", others=others)  # 8 days, 10 posts, 5 reactions
    k2 = _busy_member(db, coffee, "k2", others=others, reactions=4)  # 4 reactions from others …
    react(db, post(db, thread(db, coffee, k2, at("03-02")), k2, at("03-02", 9)), k2, at("03-02", 10))  # … + self
    _busy_member(db, coffee, "k3", others=others, posts=9, hidden=2)  # 9 visible posts
    k4 = _busy_member(db, coffee, "k4", others=others)
    grant(db, k4, admin, at("02-01"))  # already an ambassador
    k5 = _busy_member(db, coffee, "k5", others=others, days=2)  # posts on 2 days …
    for n in range(3, 9):
        visit(db, k5, f"03-0{n}")  # … + visits on 6 more
    _busy_member(db, coffee, "k6", others=others, start="2025-12-01")  # before the 90 days
    staff = _busy_member(db, coffee, "staffer", others=others)
    staff.is_admin = True
    db.add(staff)

    figures = kpis(db, start=start)

    # Whatever the period's length: k2 has 12 posts but only 4 reactions from others (its own does not count), k3 9 visible posts,
    # k4 is an ambassador, k6's activity is older than 90 days (window 2025-12-11 … 03-10),
    # staffer is staff → k1 and k5
    assert figures["ambassador_candidates"] == 2
    rows = candidate_rows(db, end=day("03-10"), circle=None)
    # (user, active days, posts, reactions received)
    assert [(u.username, d, p, r) for u, d, p, r in rows] == [("k1", 8, 10, 5), ("k5", 8, 10, 5)]
    assert rows[0][0].id == k1.id


def test_ambassador_candidates_of_a_circle_count_that_circles_activity(db):
    admin = user(db, "admin", admin=True)
    coffee, tea = circle(db, "coffee", by=admin), circle(db, "tea", by=admin)
    others = [user(db, f"r{n}") for n in range(5)]
    k1 = _busy_member(db, coffee, "k1", others=others)
    member(db, k1, tea)

    assert kpis(db, where=coffee)["ambassador_candidates"] == 1
    assert kpis(db, where=tea)["ambassador_candidates"] == 0  # k1 wrote nothing in tea
    assert [u.username for u, *_figures in candidate_rows(db, end=day("03-10"), circle=coffee)] == ["k1"]
    assert candidate_rows(db, end=day("03-10"), circle=tea) == []
