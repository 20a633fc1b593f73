"""KPIs — growth and habit: members, newcomers, referrals, activity, DAU, stickiness, retention.

P = 2026-03-01 … 2026-03-10 (L = 10 days), P′ = 2026-02-19 … 2026-02-28, end_ts = 03-11 00:00Z.
"""

from datetime import date

import pytest

from app.analytics import scope
from app.analytics.activity import whole_weeks
from tests.unit.test_kpis_builders import at, circle, invite, kpis, member, post, react, thread, user, visit


def test_members_total_and_new_members_leave_out_staff_deleted_and_later_accounts(db):
    admin = user(db, "admin", admin=True)
    host = user(db, "host")
    former_host = user(db, "formerhost")
    coffee = circle(db, "coffee", by=admin)
    member(db, host, coffee, role="host")
    member(db, former_host, coffee, left="02-01", state="left")  # a host who left is no longer staff
    user(db, "alice")  # old member
    user(db, "bob", created="03-05")  # joined in P
    user(db, "carol", created="03-10")  # joined on the last day of P
    user(db, "dave", created="03-11")  # after end_ts: not yet a member
    user(db, "erin", deleted="03-05")  # deleted before end_ts
    user(db, "frank", deleted="03-11")  # deleted after end_ts: still counts

    figures = kpis(db)

    # M = formerhost, alice, bob, carol, frank = 5 (admin and host are staff)
    assert figures["members_total"] == 5
    # account created in P: bob, carol = 2
    assert figures["new_members"] == 2


@pytest.mark.parametrize("listed", [True, False], ids=["excluded accounts listed", "too many to list"])
def test_circle_members_are_approved_and_not_ended_memberships(db, monkeypatch, listed):
    if not listed:  # the accounts outside M are looked up in the account table instead
        monkeypatch.setattr(scope, "MAX_LISTED", 0)
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    tea = circle(db, "tea", by=admin)
    host = user(db, "host")
    member(db, host, coffee, role="host")
    member(db, user(db, "alice"), coffee)  # member since 01-02
    member(db, user(db, "bob"), coffee, joined="03-05")  # approved in P
    member(db, user(db, "carl"), coffee, left="03-03")  # left before end_ts
    member(db, user(db, "dina"), coffee, left="03-12")  # left after end_ts
    member(db, user(db, "ed"), coffee, joined=None, state="pending")  # a request, not a member
    member(db, user(db, "rob"), coffee, left="03-04", state="removed")  # removed before end_ts
    member(db, user(db, "frank", deleted="03-05"), coffee)  # account deleted
    member(db, user(db, "gina"), coffee, joined="03-11")  # approved after end_ts
    member(db, user(db, "hank", created="03-02"), tea, joined="03-02")  # another circle only

    figures = kpis(db, where=coffee)

    # M(coffee) = alice, bob, dina = 3
    assert figures["members_total"] == 3
    # membership approved in P: bob = 1 (hank joined tea, not coffee)
    assert figures["new_members"] == 1
    assert figures["circle"] == "coffee"


def test_active_engaged_dau_and_stickiness_site_wide(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a, b, c, d = (user(db, name) for name in ("a", "b", "c", "d"))
    gone = user(db, "gone", deleted="02-01")
    t = thread(db, coffee, admin, at("02-01"))  # an old staff thread
    visit(db, a, "03-01")  # a: site visit on 03-01
    visit(db, a, "03-02", coffee)  # a: circle visit on 03-02 …
    post(db, t, a, at("03-02", 15))  # … and a post the same day
    reply = post(db, t, admin, at("03-03"))  # staff activity counts for nobody
    react(db, reply, b, at("03-05", 8))  # b reacts on 03-05 …
    visit(db, b, "03-05")  # … and visits the same day
    visit(db, c, "03-09")  # c only visits
    visit(db, d, "02-20")  # d: only in P′ …
    post(db, t, d, at("03-04"), hidden=True)  # … a hidden post is no activity …
    post(db, t, d, at("03-11", 0, 30))  # … and 03-11 is after end_ts
    post(db, t, d, at("02-28", 23, 59))  # … and 02-28 before start
    visit(db, gone, "03-03")  # not a member any more

    figures = kpis(db)

    # M = a, b, c, d = 4
    assert figures["members_total"] == 4
    # active in P: a (visits, post), b (reaction, visit), c (visit) = 3
    assert figures["active_members"] == 3
    # engaged (posted or reacted): a, b = 2
    assert figures["engaged_members"] == 2
    # member-days: a {03-01, 03-02} + b {03-05} + c {03-09} = 4, over L = 10 days
    assert figures["dau_avg"] == 0.4
    # 0.4 / 3 active members
    assert figures["stickiness"] == 0.4 / 3
    # 2 engaged / 4 members
    assert figures["engagement_rate"] == 0.5


def test_circle_activity_counts_only_that_circles_visits_posts_and_reactions(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    tea = circle(db, "tea", by=admin)
    a, b = user(db, "a"), user(db, "b")
    for who in (a, b):
        member(db, who, coffee)
        member(db, who, tea)
    in_coffee = thread(db, coffee, admin, at("02-01"))
    in_tea = thread(db, tea, admin, at("02-01"))
    visit(db, a, "03-01")  # a site visit: not a coffee visit
    visit(db, a, "03-02", coffee)  # counts: a active on 03-02
    post(db, in_tea, a, at("03-03"))  # tea: not counted for coffee
    visit(db, b, "03-06", tea)  # tea: not counted
    mine = post(db, in_coffee, b, at("03-04", 10))  # b posts in coffee on 03-04 …
    react(db, mine, b, at("03-04", 11))  # … and reacts the same day: one day

    figures = kpis(db, where=coffee)

    # coffee members a, b; a active (coffee visit), b active and engaged (post, reaction)
    assert figures["active_members"] == 2
    assert figures["engaged_members"] == 1
    # member-days: a {03-02} + b {03-04} = 2 over 10 days
    assert figures["dau_avg"] == 0.2
    assert figures["stickiness"] == 0.1  # 0.2 / 2
    assert figures["engagement_rate"] == 0.5  # 1 / 2


def test_recommendation_rate_counts_new_members_invited_by_non_staff(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    host = user(db, "host")
    member(db, host, coffee, role="host")
    alice = user(db, "alice")
    zed = user(db, "zed", deleted="02-01")  # a former member: not staff
    by_alice, by_admin, by_host, by_zed = invite(db, alice), invite(db, admin), invite(db, host), invite(db, zed)
    user(db, "old", created="01-05", invite=by_alice)  # joined before P: not new
    user(db, "n1", created="03-02", invite=by_alice)  # peer referral
    user(db, "n2", created="03-03", invite=by_alice)  # peer referral
    user(db, "n3", created="03-04", invite=by_admin)  # staff invite
    user(db, "n4", created="03-05")  # no invite
    user(db, "n5", created="03-06", invite=by_host)  # staff (host) invite
    user(db, "n6", created="03-07", invite=by_zed)  # invite of a former member: peer

    figures = kpis(db)

    # new members: n1 … n6 = 6; invited by non-staff: n1, n2, n6 = 3
    assert figures["new_members"] == 6
    assert figures["referrals"] == 3
    assert figures["recommendation_rate"] == 0.5  # 3 / 6


def test_circle_recommendation_rate_uses_the_membership_invite(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    host = user(db, "host")
    member(db, host, coffee, role="host")
    alice = user(db, "alice")
    member(db, alice, coffee)
    member(db, user(db, "m1"), coffee, joined="03-02", invite=invite(db, alice, coffee))  # peer
    member(db, user(db, "m2"), coffee, joined="03-03", invite=invite(db, host, coffee))  # host: staff
    member(db, user(db, "m3"), coffee, joined="03-04")  # joined alone

    figures = kpis(db, where=coffee)

    # approved in P: m1, m2, m3 = 3; through a member's invite: m1 = 1
    assert figures["new_members"] == 3
    assert figures["referrals"] == 1
    assert figures["recommendation_rate"] == 1 / 3


def test_retention_is_the_share_of_members_active_in_previous_period_also_active_now(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a, b, c, d, e = (user(db, name) for name in "abcde")
    t = thread(db, coffee, admin, at("02-01"))
    visit(db, a, "02-20")  # P′
    post(db, t, b, at("02-25"))  # P′
    react(db, post(db, t, admin, at("02-27")), c, at("02-28", 23, 59))  # P′ (last minute)
    visit(db, e, "02-18")  # before P′: not counted
    visit(db, a, "03-03")  # P: a comes back
    visit(db, c, "03-10")  # P: c comes back
    post(db, t, b, at("03-04"), hidden=True)  # hidden: b does not come back
    visit(db, d, "03-01")  # d was not active in P′
    visit(db, e, "03-02")
    visit(db, admin, "02-20")  # staff: left out
    visit(db, admin, "03-02")

    figures = kpis(db)

    # active in P′: a, b, c = 3; of them active in P: a, c = 2
    assert figures["retention_rate"] == 2 / 3


def test_retention_is_null_when_nobody_was_active_in_the_previous_period(db):
    admin = user(db, "admin", admin=True)
    visit(db, user(db, "a"), "03-02")
    visit(db, admin, "02-20")  # staff activity in P′ does not count

    assert kpis(db)["retention_rate"] is None


def test_dau_avg_counts_each_member_once_per_day_however_many_actions(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a = user(db, "a")
    t = thread(db, coffee, a, at("03-01", 8))  # a: opening post on 03-01
    post(db, t, a, at("03-01", 9))  # same day
    visit(db, a, "03-01")
    visit(db, a, "03-01", coffee)  # a site and a circle visit, same day

    figures = kpis(db, start="03-01", end="03-04")

    # 1 member-day over L = 4 days
    assert figures["dau_avg"] == 0.25
    assert figures["stickiness"] == 0.25  # 0.25 / 1 active member


def test_a_period_of_whole_weeks_counts_each_day_in_its_own_period(db):
    # P = Monday 03-02 … Sunday 03-15 and P′ = 02-16 … 03-01 are whole weeks: the per-member
    # pass reads them as week rows, and the days around their edges as day rows.
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a, b, c, d = (user(db, name) for name in "abcd")
    t = thread(db, coffee, admin, at("02-01"))
    visit(db, a, "03-01")  # a: the last day of P′ (a Sunday) …
    visit(db, a, "03-02")  # … and the first of P (a Monday): retained
    post(db, t, b, at("02-16"))  # b: the first day of P′ only
    post(db, t, c, at("03-15", 23, 59))  # c: the last minute of P
    visit(db, d, "03-16")  # d: after end_ts, the Monday of the next week
    react(db, post(db, t, admin, at("03-09")), d, at("02-15", 12))  # … and the day before P′

    figures = kpis(db, start="03-02", end="03-15")

    assert figures["active_members"] == 2  # a, c
    assert figures["engaged_members"] == 1  # c
    assert figures["retention_rate"] == 1 / 2  # active in P′: a, b; of them in P: a
    assert figures["contributors"] == 1  # c's post


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        ("2026-03-02", "2026-03-16", ("2026-03-02", "2026-03-16")),  # Monday to Monday: two weeks
        ("2026-03-01", "2026-03-11", ("2026-03-02", "2026-03-09")),  # Sunday to Wednesday: one
        ("2026-03-03", "2026-03-10", None),  # Tuesday to Tuesday: no whole week
        ("2026-03-02", "2026-03-08", None),  # Monday to Sunday, Sunday excluded
    ],
)
def test_whole_weeks_are_the_mondays_of_the_weeks_wholly_inside_the_days(lo, hi, expected):
    weeks = whole_weeks(date.fromisoformat(lo), date.fromisoformat(hi))
    assert weeks == (tuple(date.fromisoformat(monday) for monday in expected) if expected else None)
