"""KPIs — depth of conversation. P = 2026-03-01 … 03-10, end_ts = 03-11 00:00Z."""

from tests.unit.test_kpis_builders import at, circle, kpis, member, opening, post, react, thread, user


def _community(db):
    """Staff: admin A, host H. Members m1, m2, m3. Former member f (deleted on 03-08).

    T1  m1 03-02 10:00   replies: m2 03-02 12:00 · H 03-03 · m1 03-04 · m3 hidden · m3 deleted
    T2  H  03-05 12:00   replies: f 03-06 12:00
    T3  m2 03-06 hidden  replies: m1 03-06                       (hidden thread: nothing counts)
    T4  m3 03-08 10:00   replies: A 03-08 11:30 · m1 03-08 12:00
    T5  m2 03-09         replies: m2 03-09 (self) · m1 hidden
    T6  m1 03-10 20:00   replies: m2 03-11 (after end_ts)
    T0  m1 02-10 (old)   replies: m3 02-11 · m2 03-07
    Reactions: m2 and H on T1's opening (P) · m1 on m3's hidden reply · m1 on T3's reply
    (hidden thread) · m3 on m2's T0 reply 03-07 · m2 on T0's opening 02-15 (before P).
    """
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    host = user(db, "host")
    member(db, host, coffee, role="host")
    m1, m2, m3 = user(db, "m1"), user(db, "m2"), user(db, "m3")
    former = user(db, "f", deleted="03-08")
    t1 = thread(db, coffee, m1, at("03-02", 10))
    post(db, t1, m2, at("03-02", 12))
    post(db, t1, host, at("03-03"))
    post(db, t1, m1, at("03-04"))
    hidden_reply = post(db, t1, m3, at("03-04", 13), hidden=True)
    post(db, t1, m3, at("03-05"), deleted=True)
    t2 = thread(db, coffee, host, at("03-05", 12))
    post(db, t2, former, at("03-06", 12))
    t3 = thread(db, coffee, m2, at("03-06"), hidden=True)
    in_hidden_thread = post(db, t3, m1, at("03-06", 13))
    t4 = thread(db, coffee, m3, at("03-08", 10))
    post(db, t4, admin, at("03-08", 11, 30))
    post(db, t4, m1, at("03-08", 12))
    t5 = thread(db, coffee, m2, at("03-09"))
    post(db, t5, m2, at("03-09", 13))
    post(db, t5, m1, at("03-09", 14), hidden=True)
    t6 = thread(db, coffee, m1, at("03-10", 20))
    post(db, t6, m2, at("03-11", 1))
    t0 = thread(db, coffee, m1, at("02-10"))
    post(db, t0, m3, at("02-11"))
    late_reply = post(db, t0, m2, at("03-07"))
    react(db, opening(db, t1), m2, at("03-02", 13))
    react(db, opening(db, t1), host, at("03-03", 9))
    react(db, hidden_reply, m1, at("03-05"))
    react(db, in_hidden_thread, m1, at("03-06", 14))
    react(db, late_reply, m3, at("03-07", 9))
    react(db, opening(db, t0), m2, at("02-15"))
    return coffee


def test_volumes_count_visible_threads_posts_replies_and_reactions_of_the_period(db):
    _community(db)

    figures = kpis(db)

    # threads created in P, not hidden: T1, T2, T4, T5, T6 = 5
    assert figures["threads"] == 5
    # visible posts in P: T1 4 (opening, m2, H, m1) + T2 2 + T4 3 + T5 2 + T6 1 + T0 1 (m2 03-07) = 13
    assert figures["posts"] == 13
    # replies = 13 posts − 5 opening posts = 8
    assert figures["replies"] == 8
    # reactions in P on visible posts: m2 and H on T1, m3 on T0's reply = 3
    assert figures["reactions"] == 3
    # posts by members of M: T1 m1, m2, m1 · T4 m3, m1 · T5 m2, m2 · T6 m1 · T0 m2 = 9
    # (the rest: H twice and A are staff, f is a former member) → 9 / 13
    assert figures["member_post_share"] == 9 / 13


def test_reply_rate_median_and_peer_share_of_first_replies(db):
    _community(db)

    figures = kpis(db)

    # answered by someone else before end_ts: T1 (m2 after 2 h), T2 (f after 24 h), T4 (A after 1.5 h);
    # T5 has only its author's reply (and a hidden one), T6's reply comes after end_ts → 3 / 5
    assert figures["reply_rate"] == 3 / 5
    # median of [1.5, 2, 24] hours
    assert figures["median_first_reply_hours"] == 2.0
    # first replies by non-staff: m2, f (a former member) = 2 of 3 (A is staff)
    assert figures["peer_reply_share"] == 2 / 3


def test_replies_and_participants_per_thread_of_the_period(db):
    _community(db)

    figures = kpis(db)

    # visible replies before end_ts: T1 3 + T2 1 + T4 2 + T5 1 + T6 0 = 7, over 5 threads
    assert figures["avg_replies_per_thread"] == 7 / 5
    # authors: T1 {m1, m2, H} 3 + T2 {H, f} 2 + T4 {m3, A, m1} 3 + T5 {m2} 1 + T6 {m1} 1 = 10, over 5
    assert figures["avg_participants_per_thread"] == 2.0


def test_median_first_reply_of_an_even_count_is_the_mean_of_the_two_middle_values(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a, b = user(db, "a"), user(db, "b")
    for day_, delay_minutes in (("03-01", 60), ("03-02", 180), ("03-03", 240), ("03-04", 600)):
        t = thread(db, coffee, a, at(day_, 8))
        post(db, t, b, at(day_, 8 + delay_minutes // 60, delay_minutes % 60))

    figures = kpis(db)

    # delays 1 h, 3 h, 4 h, 10 h → (3 + 4) / 2
    assert figures["median_first_reply_hours"] == 3.5
    assert figures["reply_rate"] == 1.0


def test_first_reply_hours_are_not_rounded(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    a, b = user(db, "a"), user(db, "b")
    t = thread(db, coffee, a, at("03-01", 8))
    post(db, t, b, at("03-01", 8, 20))

    # 20 minutes = 1/3 hour
    assert kpis(db)["median_first_reply_hours"] == 20 / 60


def test_of_two_first_replies_at_the_same_moment_the_earlier_written_one_is_the_first(db):
    admin = user(db, "admin", admin=True)
    coffee = circle(db, "coffee", by=admin)
    host, a, b = user(db, "host"), user(db, "a"), user(db, "b")
    member(db, host, coffee, role="host")
    by_host = thread(db, coffee, a, at("03-01", 8))
    post(db, by_host, host, at("03-01", 9))
    post(db, by_host, b, at("03-01", 9))
    by_member = thread(db, coffee, a, at("03-02", 8))
    post(db, by_member, b, at("03-02", 9))
    post(db, by_member, host, at("03-02", 9))

    figures = kpis(db)

    # same second: the host answered T1 first (written first), b answered T2 first → 1 of 2 by peers
    assert figures["peer_reply_share"] == 1 / 2
    assert figures["median_first_reply_hours"] == 1.0


def test_conversation_figures_of_a_circle_ignore_other_circles(db):
    admin = user(db, "admin", admin=True)
    coffee, tea = circle(db, "coffee", by=admin), circle(db, "tea", by=admin)
    a, b = user(db, "a"), user(db, "b")
    for where in (coffee, tea):
        member(db, a, where)
        member(db, b, where)
    t = thread(db, coffee, a, at("03-02", 9))
    react(db, post(db, t, b, at("03-02", 10)), a, at("03-02", 11))
    other = thread(db, tea, b, at("03-03"))
    post(db, other, a, at("03-03", 13))
    post(db, other, b, at("03-03", 14))

    figures = kpis(db, where=coffee)

    # coffee only: 1 thread, 2 posts (opening + b's reply), 1 reply, 1 reaction
    assert (figures["threads"], figures["posts"], figures["replies"], figures["reactions"]) == (1, 2, 1, 1)
    assert figures["reply_rate"] == 1.0
    assert figures["median_first_reply_hours"] == 1.0  # 09:00 → 10:00
    assert figures["avg_participants_per_thread"] == 2.0  # a, b
    assert figures["member_post_share"] == 1.0  # 2 / 2


def test_conversation_ratios_are_null_without_threads_or_posts(db):
    user(db, "a")

    figures = kpis(db)

    assert (figures["threads"], figures["posts"], figures["replies"], figures["reactions"]) == (0, 0, 0, 0)
    for key in (
        "member_post_share",
        "reply_rate",
        "median_first_reply_hours",
        "peer_reply_share",
        "avg_replies_per_thread",
        "avg_participants_per_thread",
    ):
        assert figures[key] is None, key
