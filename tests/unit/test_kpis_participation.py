"""KPIs — participation (90-9-1) and concentration. P = 2026-03-01 … 03-10."""

from app.analytics.activity import _writers
from tests.unit.test_kpis_builders import at, circle, kpis, member, post, thread, user, visit


def _write(db, t, who, count, *, hidden=False):
    for n in range(count):
        post(db, t, who, at("03-05", 8, n), hidden=hidden)


def test_lurkers_contributors_core_top_share_and_absence_factor(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    people = [user(db, f"m{n}") for n in range(1, 11)]
    t = thread(db, coffee, admin, at("03-01"))  # staff opening post: left out
    for who, count in zip(people[:6], (12, 10, 5, 3, 1, 1), strict=True):
        _write(db, t, who, count)
    _write(db, t, people[4], 3, hidden=True)  # m5's hidden posts count nowhere
    _write(db, t, admin, 20)  # staff posts: left out
    for who in people[6:9]:
        visit(db, who, "03-06")  # m7, m8, m9 only visit; m10 does nothing

    figures = kpis(db)

    # active members: m1 … m9 = 9; writers m1 … m6 = 6
    assert figures["active_members"] == 9
    assert figures["lurkers"] == 3  # m7, m8, m9
    assert figures["contributors"] == 4  # m3 (5), m4 (3), m5 (1), m6 (1)
    assert figures["core"] == 2  # m1 (12), m2 (10)
    # n = 6 writers, k = ceil(6 / 10) = 1; member posts 12+10+5+3+1+1 = 32 → 12 / 32
    assert figures["top10_post_share"] == 12 / 32
    # sorted 12, 10, …: 12 < 16 (half of 32), 12 + 10 = 22 ≥ 16 → 2 members
    assert figures["absence_factor"] == 2


def test_top_share_takes_the_ceiling_of_a_tenth_of_the_writers(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    t = thread(db, coffee, admin, at("03-01"))
    counts = (5, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)
    for n, count in enumerate(counts):
        _write(db, t, user(db, f"w{n}"), count)

    figures = kpis(db)

    # n = 11 writers, k = ceil(11 / 10) = 2; total 5 + 3 + 9 × 1 = 17 → (5 + 3) / 17
    assert figures["top10_post_share"] == 8 / 17
    # cumulative 5, 8, 9: 2 × 9 = 18 ≥ 17 first at the third member
    assert figures["absence_factor"] == 3
    assert (figures["contributors"], figures["core"], figures["lurkers"]) == (11, 0, 0)


def test_participation_of_a_circle_counts_its_posts_only(db):
    admin = user(db, "admin", admin=True)
    coffee, tea = circle(db, "coffee", by=admin), circle(db, "tea", by=admin)
    a, b = user(db, "a"), user(db, "b")
    for who in (a, b):
        member(db, who, coffee)
        member(db, who, tea)
    _write(db, thread(db, tea, admin, at("03-01")), a, 12)  # tea posts do not count
    _write(db, thread(db, coffee, admin, at("03-01")), b, 2)
    visit(db, a, "03-02", coffee)

    figures = kpis(db, where=coffee)

    # coffee: a active (visit) without coffee posts → lurker; b 2 posts → contributor
    assert (figures["lurkers"], figures["contributors"], figures["core"]) == (1, 1, 0)
    assert figures["top10_post_share"] == 1.0  # k = 1: b wrote 2 of 2
    assert figures["absence_factor"] == 1


def test_top_share_is_null_and_absence_factor_zero_when_members_wrote_nothing(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    _write(db, thread(db, coffee, admin, at("03-01")), admin, 3)  # only staff writes
    visit(db, user(db, "a"), "03-02")

    figures = kpis(db)

    assert figures["top10_post_share"] is None
    assert figures["absence_factor"] == 0
    assert figures["lurkers"] == 1


def test_writers_ranking_from_the_members_by_number_of_posts_splits_ties_at_the_cut():
    # 25 writers: 2 wrote 10 posts, 23 wrote 4 (and lurkers, with 0, count nowhere here).
    figures = _writers({0: 40, 10: 2, 4: 23})

    assert (figures["writers"], figures["contributors"], figures["core"]) == (25, 23, 2)
    assert figures["total_posts"] == 2 * 10 + 23 * 4  # 112
    assert figures["top_posts"] == 10 + 10 + 4  # k = ceil(25 / 10) = 3: the cut falls among the 4s
    assert figures["absence_factor"] == 2 + 9  # 20 + 9 × 4 = 56 ≥ 112 / 2, 20 + 8 × 4 = 52 is not


def test_writers_ranking_without_writers_is_all_zero():
    assert _writers({0: 5}) == dict.fromkeys(
        ("writers", "contributors", "core", "top_posts", "total_posts", "absence_factor"), 0
    )
