"""Flags: one per member and post, never on one's own; enough of them hide a post until a host
reviews it; the review queue shows each moderator the flags, held posts and requests of their circles."""

from typing import Any

import pytest
from sqlmodel import Session, col, select

from app import permissions
from app.errors import Forbidden, Invalid, NotFound, RateLimited
from app.models import Circle, Flag, ModerationAction, Post, Thread, User
from app.services import flags, memberships, moderation, posts, site, threads
from app.services.moderation import AUTO_HIDDEN
from tests.factories import add_member, make_circle, make_reply, make_thread, make_user


def _circle(db: Session, slug: str = "espresso", *, flaggers: int = 4, visibility: str = "open",
            host: str = "hana") -> tuple[Circle, User, User, list[User], Thread, Post]:
    """A circle with its host, an author, `flaggers` other members, a thread and a reply by the author."""
    circle = make_circle(db, slug, visibility=visibility)
    hostess, author = make_user(db, host), make_user(db, f"{slug[:3]}_author")
    add_member(db, circle, hostess, host=True)
    add_member(db, circle, author)
    members = [make_user(db, f"{slug[:3]}_m{n}") for n in range(flaggers)]
    for member in members:
        add_member(db, circle, member)
    thread = make_thread(db, circle, hostess, title=f"About {slug}", body="Tell us everything.")
    reply = make_reply(db, thread, author, "Cheap watches at example.com!")
    return circle, hostess, author, members, thread, reply


def _flag(db: Session, user: User, post: Post, reason: str = "spam", text: str = "") -> Flag:
    post, thread, access = posts.get_post(db, post_id=post.id, viewer=user)  # type: ignore[arg-type]
    return flags.flag_post(db, post=post, thread=thread, access=access, user=user, reason=reason, text=text)


def _fresh(db: Session, model: Any, id_: int | None) -> Any:
    db.expire_all()
    return db.get(model, id_)


def _access(db: Session, user: User, circle: Circle) -> permissions.CircleAccess:
    return permissions.circle_access(db, user, circle)


# Raising a flag --------------------------------------------------------------------------------


def test_a_member_flags_a_post_with_a_reason_and_details(db: Session) -> None:
    _circle_, _host, _author, (mel, *_rest), _thread, reply = _circle(db)
    flag = _flag(db, mel, reply, "other", "  Links to a shop  ")
    assert (flag.post_id, flag.user_id, flag.reason, flag.text, flag.resolved_at) == (
        reply.id, mel.id, "other", "Links to a shop", None)


def test_a_member_can_flag_a_post_only_once(db: Session) -> None:
    _c, _host, _author, (mel, *_rest), _thread, reply = _circle(db)
    _flag(db, mel, reply)
    with pytest.raises(Invalid, match="already flagged"):
        _flag(db, mel, reply, "off_topic")
    db.rollback()
    assert len(db.exec(select(Flag)).all()) == 1


def test_nobody_can_flag_their_own_post(db: Session) -> None:
    _c, _host, author, _members, _thread, reply = _circle(db)
    with pytest.raises(Invalid, match="your own post"):
        _flag(db, author, reply)


def test_the_other_reason_needs_details(db: Session) -> None:
    _c, _host, _author, (mel, *_rest), _thread, reply = _circle(db)
    with pytest.raises(Invalid) as refused:
        _flag(db, mel, reply, "other", "   ")
    assert "text" in refused.value.fields


def test_an_unknown_flag_reason_is_refused(db: Session) -> None:
    _c, _host, _author, (mel, *_rest), _thread, reply = _circle(db)
    with pytest.raises(Invalid) as refused:
        _flag(db, mel, reply, "boring")
    assert "reason" in refused.value.fields


def test_flag_details_are_limited_to_a_thousand_characters(db: Session) -> None:
    _c, _host, _author, (mel, *_rest), _thread, reply = _circle(db)
    with pytest.raises(Invalid):
        _flag(db, mel, reply, "other", "x" * 1001)


def test_someone_outside_an_open_circle_cannot_flag_its_posts(db: Session) -> None:
    _c, _host, _author, _members, _thread, reply = _circle(db)
    with pytest.raises(Forbidden):
        _flag(db, make_user(db, "visitor"), reply)


def test_someone_outside_a_closed_circle_cannot_even_find_its_posts_to_flag(db: Session) -> None:
    _c, _host, _author, _members, _thread, reply = _circle(db, visibility="closed")
    with pytest.raises(NotFound):
        _flag(db, make_user(db, "visitor"), reply)


def test_the_daily_flag_limit_stops_a_member_flagging_everything(db: Session, limits: Any) -> None:
    limits(flags_per_day=2)
    _c, _host, author, (mel, *_rest), thread, _reply = _circle(db)
    replies = [make_reply(db, thread, author, f"Post {n}") for n in range(3)]
    _flag(db, mel, replies[0])
    _flag(db, mel, replies[1])
    with pytest.raises(RateLimited, match="flagged many posts today"):
        _flag(db, mel, replies[2])


# The threshold ---------------------------------------------------------------------------------


def test_three_flags_from_distinct_members_hide_the_post_pending_review(db: Session) -> None:
    _c, _host, _author, members, _thread, reply = _circle(db)
    for member in members[:3]:
        _flag(db, member, reply)
    post = _fresh(db, Post, reply.id)
    assert (post.hidden, post.hidden_reason, post.held) == (True, AUTO_HIDDEN, False)


def test_a_post_hidden_by_flags_leaves_the_thread_counters(db: Session) -> None:
    _c, _host, _author, members, thread, reply = _circle(db)
    assert (_fresh(db, Thread, thread.id).reply_count, thread.post_count) == (1, 2)
    for member in members[:3]:
        _flag(db, member, reply)
    fresh = _fresh(db, Thread, thread.id)
    assert (fresh.reply_count, fresh.post_count) == (0, 1)


def test_two_flags_do_not_hide_a_post(db: Session) -> None:
    _c, _host, _author, members, thread, reply = _circle(db)
    for member in members[:2]:
        _flag(db, member, reply)
    assert not _fresh(db, Post, reply.id).hidden
    assert _fresh(db, Thread, thread.id).reply_count == 1


def test_hiding_by_flags_is_logged_as_automatic(db: Session) -> None:
    circle, _host, author, members, thread, reply = _circle(db)
    for member in members[:3]:
        _flag(db, member, reply)
    (row,) = db.exec(select(ModerationAction).where(ModerationAction.action == "post_auto_hidden")).all()
    assert (row.actor_id, row.target_user_id, row.circle_id, row.thread_id, row.post_id, row.detail) == (
        None, author.id, circle.id, thread.id, reply.id, "3 flags")


def test_a_post_hidden_by_flags_disappears_for_members_but_not_for_hosts(db: Session) -> None:
    circle, host, _author, members, thread, reply = _circle(db)
    for member in members[:3]:
        _flag(db, member, reply)
    bystander = members[3]
    with pytest.raises(NotFound):
        posts.get_post(db, post_id=reply.id, viewer=bystander)  # type: ignore[arg-type]
    page = threads.thread_page(db, thread=_fresh(db, Thread, thread.id), access=_access(db, host, circle))
    assert reply.id in [view.post.id for view in page.posts]


@pytest.mark.parametrize(("threshold", "count", "hidden"), [(2, 2, True), (1, 1, True), (5, 3, False), (5, 4, False)])
def test_the_site_flag_threshold_decides_how_many_flags_hide_a_post(db: Session, threshold: int, count: int,
                                                                     hidden: bool) -> None:
    site.update(db, flag_threshold=threshold)
    _c, _host, _author, members, _thread, reply = _circle(db)
    for member in members[:count]:
        _flag(db, member, reply)
    assert _fresh(db, Post, reply.id).hidden is hidden


def test_the_flag_threshold_is_three_by_default(db: Session) -> None:
    assert flags.threshold(db) == 3


def test_keeping_a_post_hidden_by_flags_brings_it_back_and_counts_it_again(db: Session) -> None:
    circle, host, _author, members, thread, reply = _circle(db)
    for member in members[:3]:
        _flag(db, member, reply)
    post, thread_ = _fresh(db, Post, reply.id), _fresh(db, Thread, thread.id)
    moderation.keep_post(db, post=post, thread=thread_, access=_access(db, host, circle), by=host)
    post, thread_ = _fresh(db, Post, reply.id), _fresh(db, Thread, thread.id)
    assert (post.hidden, post.hidden_reason) == (False, "")
    assert (thread_.reply_count, thread_.post_count) == (1, 2)
    assert {f.resolution for f in db.exec(select(Flag)).all()} == {"kept"}


def test_keeping_a_post_hidden_by_flags_is_logged_once_as_a_restore(db: Session) -> None:
    circle, host, author, members, thread, reply = _circle(db)
    for member in members[:3]:
        _flag(db, member, reply)
    before = len(db.exec(select(ModerationAction)).all())
    moderation.keep_post(db, post=_fresh(db, Post, reply.id), thread=_fresh(db, Thread, thread.id),
                         access=_access(db, host, circle), by=host)
    rows = db.exec(select(ModerationAction).order_by(col(ModerationAction.id))).all()[before:]
    assert [(r.action, r.actor_id, r.target_user_id, r.circle_id, r.post_id, r.reason) for r in rows] == [
        ("post_restored", host.id, author.id, circle.id, reply.id, "Flags dismissed")]


def test_flags_already_reviewed_do_not_count_towards_hiding_again(db: Session) -> None:
    circle, host, _author, members, thread, reply = _circle(db)
    for member in members[:3]:
        _flag(db, member, reply)
    moderation.keep_post(db, post=_fresh(db, Post, reply.id), thread=_fresh(db, Thread, thread.id),
                         access=_access(db, host, circle), by=host)
    _flag(db, members[3], reply)
    assert not _fresh(db, Post, reply.id).hidden


def test_a_host_hiding_a_post_hidden_by_flags_does_not_count_it_out_twice(db: Session) -> None:
    circle, host, _author, members, thread, reply = _circle(db)
    for member in members[:3]:
        _flag(db, member, reply)
    moderation.hide_post(db, post=_fresh(db, Post, reply.id), thread=_fresh(db, Thread, thread.id),
                         access=_access(db, host, circle), by=host, reason="Spam")
    fresh = _fresh(db, Thread, thread.id)
    assert (fresh.reply_count, fresh.post_count) == (0, 1)
    assert _fresh(db, Post, reply.id).hidden_reason == "Spam"


# The review queue --------------------------------------------------------------------------------


def test_the_queue_shows_a_flagged_post_with_its_context_count_and_reasons(db: Session) -> None:
    circle, host, author, members, thread, reply = _circle(db)
    _flag(db, members[0], reply, "spam")
    _flag(db, members[1], reply, "other", "Sells watches")
    (item,) = flags.flagged_posts(db, viewer=host)
    assert (item.post.id, item.thread.id, item.circle.id, item.author.id, item.count) == (
        reply.id, thread.id, circle.id, author.id, 2)
    assert item.reasons == [("spam", ""), ("other", "Sells watches")]


def test_the_queue_puts_the_most_flagged_post_first(db: Session) -> None:
    _c, host, author, members, thread, reply = _circle(db)
    worse = make_reply(db, thread, author, "Even cheaper watches")
    _flag(db, members[0], reply)
    _flag(db, members[0], worse)
    _flag(db, members[1], worse)
    assert [item.post.id for item in flags.flagged_posts(db, viewer=host)] == [worse.id, reply.id]


def test_a_host_sees_only_the_flags_of_the_circles_they_host(db: Session) -> None:
    _c, hana, _author, members, _thread, reply = _circle(db, "espresso", host="hana")
    _c2, otto, _author2, tea_members, _thread2, tea_reply = _circle(db, "tea", host="otto")
    _flag(db, members[0], reply)
    _flag(db, tea_members[0], tea_reply)
    assert [item.post.id for item in flags.flagged_posts(db, viewer=hana)] == [reply.id]
    assert [item.post.id for item in flags.flagged_posts(db, viewer=otto)] == [tea_reply.id]
    assert flags.flagged_posts(db, viewer=members[0]) == []


def test_an_admin_sees_the_flags_of_every_circle(db: Session) -> None:
    _c, _hana, _author, members, _thread, reply = _circle(db, "espresso", host="hana")
    _c2, _otto, _author2, tea_members, _thread2, tea_reply = _circle(db, "tea", host="otto")
    _flag(db, members[0], reply)
    _flag(db, tea_members[0], tea_reply)
    admin = make_user(db, "ada", admin=True)
    assert {item.post.id for item in flags.flagged_posts(db, viewer=admin)} == {reply.id, tea_reply.id}


@pytest.mark.parametrize("decision", ["keep", "hide"])
def test_a_decision_by_one_host_takes_the_post_out_of_every_moderators_queue(db: Session, decision: str) -> None:
    circle, hana, _author, members, thread, reply = _circle(db)
    cohost, admin = make_user(db, "cora"), make_user(db, "ada", admin=True)
    add_member(db, circle, cohost, host=True)
    _flag(db, members[0], reply)
    for viewer in (hana, cohost, admin):
        assert [item.post.id for item in flags.flagged_posts(db, viewer=viewer)] == [reply.id]
    access = _access(db, cohost, circle)
    if decision == "keep":
        moderation.keep_post(db, post=reply, thread=thread, access=access, by=cohost)
    else:
        moderation.hide_post(db, post=reply, thread=thread, access=access, by=cohost, reason="Spam")
    for viewer in (hana, cohost, admin):
        assert flags.flagged_posts(db, viewer=viewer) == [], viewer.username


def test_a_flagged_post_its_author_deleted_leaves_the_queue(db: Session) -> None:
    _c, host, author, members, thread, reply = _circle(db)
    _flag(db, members[0], reply)
    posts.delete_post(db, post=reply, thread=thread, by=author)
    assert flags.flagged_posts(db, viewer=host) == []


def test_held_posts_wait_in_the_queue_of_their_circles_hosts_only(db: Session) -> None:
    circle, hana, _author, members, thread, _reply = _circle(db, "espresso", host="hana")
    _c2, otto, *_rest = _circle(db, "tea", host="otto")
    moderation.set_circle_rules(db, access=_access(db, hana, circle), by=hana, read_only=False,
                                slow_mode_seconds=0, hold_first_posts=1)
    held = make_reply(db, thread, members[0], "Hello, first time here")
    assert [post.id for post, *_ in flags.held_posts(db, viewer=hana)] == [held.id]
    assert flags.held_posts(db, viewer=otto) == []
    assert [post.id for post, *_ in flags.held_posts(db, viewer=make_user(db, "ada", admin=True))] == [held.id]


def test_join_requests_wait_in_the_queue_of_their_circles_hosts_only(db: Session) -> None:
    circle, hana, *_rest = _circle(db, "espresso", host="hana", visibility="closed")
    _c2, otto, *_others = _circle(db, "tea", host="otto", visibility="closed")
    request = memberships.request_to_join(db, circle=circle, user=make_user(db, "nina"))
    assert [m.id for m, _u, _c in flags.pending_requests(db, viewer=hana)] == [request.id]
    assert flags.pending_requests(db, viewer=otto) == []
    assert [m.id for m, *_ in flags.pending_requests(db, viewer=make_user(db, "ada", admin=True))] == [request.id]


def test_the_queue_forgets_flags_once_handled_but_keeps_their_history(db: Session) -> None:
    circle, host, _author, members, thread, reply = _circle(db)
    _flag(db, members[0], reply)
    moderation.keep_post(db, post=reply, thread=thread, access=_access(db, host, circle), by=host)
    (flag,) = db.exec(select(Flag).order_by(col(Flag.id))).all()
    assert (flag.resolution, flag.resolved_by_id) == ("kept", host.id)
    assert flag.resolved_at is not None


# Flags on an opening post: the thread leaves the lists until a host restores it (as in Discourse) ----


def _listed(db: Session, viewer: User, circle: Circle) -> dict[str, list[str]]:
    from app.services import home, search

    return {
        "circle": [row.thread.title for row in threads.circle_threads(db, access=_access(db, viewer, circle))[0]],
        "home": [row.thread.title for row in home.home_for(db, viewer=viewer).latest],
        "search": sorted({hit.thread.title for hit in search.search(db, viewer=viewer, q="everything")}),
    }


def _flag_opening_out(db: Session) -> tuple[Circle, User, list[User], Thread, Post]:
    circle, hostess, _author, members, thread, _reply = _circle(db)
    make_thread(db, circle, hostess, title="Other news", body="Tell us everything else.")
    opening = db.exec(select(Post).where(Post.thread_id == thread.id, col(Post.opening).is_(True))).one()
    for member in members[:3]:
        _flag(db, member, opening)
    return circle, hostess, members, thread, opening


def test_flags_hiding_an_opening_post_take_its_thread_out_of_members_lists_and_search(db: Session) -> None:
    circle, _hostess, members, thread, opening = _flag_opening_out(db)
    assert _fresh(db, Post, opening.id).hidden
    assert _fresh(db, Thread, thread.id).hidden
    assert _listed(db, members[3], circle) == {"circle": ["Other news"], "home": ["Other news"],
                                               "search": ["Other news"]}
    with pytest.raises(NotFound):
        threads.open_thread(db, thread_id=thread.id, viewer=members[3])  # type: ignore[arg-type]


def test_hosts_still_list_a_thread_whose_opening_post_flags_hid(db: Session) -> None:
    circle, hostess, _members, thread, _opening = _flag_opening_out(db)
    assert "About espresso" in _listed(db, hostess, circle)["circle"]
    assert threads.open_thread(db, thread_id=thread.id, viewer=hostess)[0].id == thread.id  # type: ignore[arg-type]


def test_keeping_an_opening_post_hidden_by_flags_lists_its_thread_again(db: Session) -> None:
    circle, hostess, members, thread, opening = _flag_opening_out(db)
    moderation.keep_post(db, post=_fresh(db, Post, opening.id), thread=_fresh(db, Thread, thread.id),
                         access=_access(db, hostess, circle), by=hostess)
    assert not _fresh(db, Thread, thread.id).hidden
    listed = _listed(db, members[3], circle)
    assert sorted(listed["circle"]) == sorted(listed["home"]) == listed["search"] == ["About espresso", "Other news"]
