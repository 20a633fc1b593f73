"""KPIs — monthly cohorts and the daily series. end = 2026-03-10 unless told."""

from tests.unit.test_kpis_builders import at, circle, kpis, member, opening, post, react, thread, user, visit


def test_cohorts_list_the_twelve_months_ending_with_the_month_of_end(db):
    admin = user(db, "admin", admin=True, created="2026-01-03")
    coffee = circle(db, "coffee", by=admin)
    j1 = user(db, "j1", created="2026-01-05")
    j2 = user(db, "j2", created="2026-01-20")
    j3 = user(db, "j3", created="2026-01-25")
    f1 = user(db, "f1", created="2026-02-10")
    m1 = user(db, "m1", created="2026-03-02")
    old = user(db, "old", created="2025-03-15")  # before the 12 months: in no cohort
    o1 = user(db, "o1", created="2025-04-01")
    user(db, "gone", created="2026-01-10", deleted="2026-02-01")  # not in M
    t = thread(db, coffee, admin, at("2026-01-04"))
    visit(db, j1, "2026-01-06")  # the joining month itself is not a "+k"
    visit(db, j1, "2026-02-03")  # January cohort, +1
    post(db, t, j1, at("2026-03-05"))  # January cohort, +2
    react(db, post(db, t, admin, at("2026-02-14")), j2, at("2026-02-15"))  # January cohort, +1
    visit(db, j3, "2026-03-11")  # after end_ts: never counts
    visit(db, f1, "2026-03-10")  # February cohort, +1
    visit(db, o1, "2025-05-10")  # April 2025 cohort, +1
    visit(db, o1, "2026-03-01")  # April 2025 cohort, +11
    visit(db, old, "2026-03-01")
    visit(db, m1, "2026-03-03")

    cohorts = kpis(db)["cohorts"]

    assert [row["month"] for row in cohorts] == [
        "2025-04",
        "2025-05",
        "2025-06",
        "2025-07",
        "2025-08",
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    # April 2025: o1 alone; active in May (+1) and March 2026 (+11), not in between
    assert cohorts[0] == {"month": "2025-04", "size": 1, "retained": [1.0] + [0.0] * 9 + [1.0]}
    # empty months: as many nulls as months left until March 2026 (May 2025: 10 … Dec 2025: 3)
    assert cohorts[1] == {"month": "2025-05", "size": 0, "retained": [None] * 10}
    assert cohorts[8] == {"month": "2025-12", "size": 0, "retained": [None] * 3}
    # January 2026: j1, j2, j3 (admin is staff, gone is deleted) = 3;
    # +1 February: j1, j2 = 2/3; +2 March: j1 = 1/3 (j3's visit is after end_ts)
    assert cohorts[9] == {"month": "2026-01", "size": 3, "retained": [2 / 3, 1 / 3]}
    # February: f1 = 1, active in March → [1.0]
    assert cohorts[10] == {"month": "2026-02", "size": 1, "retained": [1.0]}
    # the month of end: m1, nothing to measure yet
    assert cohorts[11] == {"month": "2026-03", "size": 1, "retained": []}


def test_circle_cohorts_go_by_the_month_the_membership_was_approved(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a = user(db, "a", created="2025-01-01")
    member(db, a, coffee, joined="2026-02-20")
    visit(db, a, "2026-03-04")  # a site visit: not activity in coffee
    visit(db, a, "2026-03-05", coffee)  # coffee visit: +1

    cohorts = kpis(db, where=coffee)["cohorts"]

    assert cohorts[10] == {"month": "2026-02", "size": 1, "retained": [1.0]}
    assert sum(row["size"] for row in cohorts) == 1  # the 2025 account is not in a 2025 cohort here


def test_series_has_one_row_per_day_with_active_engaged_posts_and_new_members(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a = user(db, "a")
    b = user(db, "b", created="03-02")
    t = thread(db, coffee, admin, at("03-01", 7))  # 03-01: a staff post (counts in posts)
    visit(db, a, "03-01")  # 03-01: a active
    mine = post(db, t, a, at("03-02"))  # 03-02: a active, engaged
    react(db, opening(db, t), a, at("03-02", 13))  # same day, same member
    visit(db, b, "03-02")  # 03-02: b new and active
    react(db, mine, b, at("03-03"))  # 03-03: b engaged
    post(db, t, a, at("03-03", 15), hidden=True)  # hidden: nothing

    figures = kpis(db, start="03-01", end="03-03")

    assert figures["series"] == [
        {"date": "2026-03-01", "active": 1, "engaged": 0, "posts": 1, "new_members": 0},
        {"date": "2026-03-02", "active": 2, "engaged": 1, "posts": 1, "new_members": 1},
        {"date": "2026-03-03", "active": 1, "engaged": 1, "posts": 0, "new_members": 0},
    ]
    # the series adds up to the period's figures: (1 + 2 + 1) / 3 days = dau_avg
    assert figures["dau_avg"] == 4 / 3
    assert figures["posts"] == 2 and figures["new_members"] == 1


def test_circle_series_counts_everyones_posts_but_only_its_members_activity(db):
    admin = user(db, "admin", admin=True)
    coffee, tea = circle(db, "coffee", by=admin), circle(db, "tea", by=admin)
    a, gone, outsider = user(db, "a"), user(db, "gone"), user(db, "outsider")
    member(db, a, coffee)
    member(db, gone, coffee, left="03-03")  # left before end_ts: not in M
    member(db, outsider, tea)
    t = thread(db, coffee, admin, at("03-01", 7))  # 03-01: a staff post (counts in posts)
    visit(db, a, "03-01", coffee)  # 03-01: a active in coffee
    visit(db, outsider, "03-01", tea)  # tea: nothing in coffee
    post(db, t, a, at("03-02", 9))  # 03-02: a active, engaged
    post(db, t, gone, at("03-02", 10))  # counts in posts, not in activity
    visit(db, gone, "03-03", coffee)  # not a member: not active

    figures = kpis(db, start="03-01", end="03-03", where=coffee)

    assert figures["series"] == [
        {"date": "2026-03-01", "active": 1, "engaged": 0, "posts": 1, "new_members": 0},
        {"date": "2026-03-02", "active": 1, "engaged": 1, "posts": 2, "new_members": 0},
        {"date": "2026-03-03", "active": 0, "engaged": 0, "posts": 0, "new_members": 0},
    ]
    assert figures["posts"] == 3
    assert figures["member_post_share"] == 1 / 3  # a's one post of 3
    assert figures["dau_avg"] == 2 / 3


def test_series_of_an_empty_period_is_all_zeros(db):
    figures = kpis(db, start="03-09", end="03-10")
    assert figures["series"] == [
        {"date": "2026-03-09", "active": 0, "engaged": 0, "posts": 0, "new_members": 0},
        {"date": "2026-03-10", "active": 0, "engaged": 0, "posts": 0, "new_members": 0},
    ]
