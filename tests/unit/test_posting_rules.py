"""What a circle asks of a writer: write limits, slow mode, read-only mode, first posts on hold.

Write limits are off in tests unless the `limits` fixture turns them on.
"""

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app import permissions
from app.errors import Forbidden, NotFound, RateLimited
from app.models import Circle, Notification, Post, RateEvent, Thread, User
from app.services import moderation, posts, search, threads
from tests.factories import add_member, make_circle, make_reply, make_thread, make_user


def _circle(db: Session, visibility: str = "open") -> tuple[Circle, User, User, User, Thread]:
    """Espresso with its host Hana, members Mel and Bob, and a thread by Hana."""
    circle = make_circle(db, "espresso", visibility=visibility)
    hana, mel, bob = make_user(db, "hana"), make_user(db, "mel"), make_user(db, "bob")
    add_member(db, circle, hana, host=True)
    add_member(db, circle, mel)
    add_member(db, circle, bob)
    return circle, hana, mel, bob, make_thread(db, circle, hana, title="Grinders", body="Which one?")


def _access(db: Session, user: User, circle: Circle) -> permissions.CircleAccess:
    return permissions.circle_access(db, user, circle)


def _rules(db: Session, circle: Circle, *, read_only: bool = False, slow: int = 0, hold: int = 0) -> None:
    admin = db.exec(select(User).where(User.username == "root_admin")).one()
    moderation.set_circle_rules(db, access=_access(db, admin, circle), by=admin, read_only=read_only,
                                slow_mode_seconds=slow, hold_first_posts=hold)


def _fresh(db: Session, model: Any, id_: int | None) -> Any:
    db.expire_all()
    return db.get(model, id_)


def _age(db: Session, model: Any, seconds: int) -> None:
    """Moves every row of `model` back in time."""
    for row in db.exec(select(model)).all():
        row.created_at -= timedelta(seconds=seconds)
        db.add(row)
    db.commit()


def _approve(db: Session, circle: Circle, post: Post) -> None:
    host = db.exec(select(User).where(User.username == "hana")).one()
    moderation.restore_post(db, post=_fresh(db, Post, post.id), thread=_fresh(db, Thread, post.thread_id),
                            access=_access(db, host, circle), by=host)


# Write limits ------------------------------------------------------------------------------------


def test_replies_beyond_the_limit_in_ten_minutes_are_refused(db: Session, limits: Any) -> None:
    limits(replies_per_10_minutes=3)
    _c, _hana, mel, _bob, thread = _circle(db)
    for n in range(3):
        make_reply(db, thread, mel, f"Reply {n}")
    with pytest.raises(RateLimited, match="many replies") as refused:
        make_reply(db, thread, mel, "One more")
    assert refused.value.retry_after == 600


def test_the_reply_limit_is_counted_per_member(db: Session, limits: Any) -> None:
    limits(replies_per_10_minutes=1)
    _c, _hana, mel, bob, thread = _circle(db)
    make_reply(db, thread, mel, "Mine")
    assert make_reply(db, thread, bob, "Mine too").id is not None


def test_replies_older_than_ten_minutes_no_longer_count_towards_the_limit(db: Session, limits: Any) -> None:
    limits(replies_per_10_minutes=1)
    _c, _hana, mel, _bob, thread = _circle(db)
    make_reply(db, thread, mel, "Early")
    _age(db, RateEvent, 601)
    assert make_reply(db, thread, mel, "Later").id is not None


def test_new_threads_beyond_the_hourly_limit_are_refused(db: Session, limits: Any) -> None:
    limits(threads_per_hour=2)
    circle, _hana, mel, _bob, _thread = _circle(db)
    make_thread(db, circle, mel, title="One")
    make_thread(db, circle, mel, title="Two")
    with pytest.raises(RateLimited, match="many threads") as refused:
        make_thread(db, circle, mel, title="Three")
    assert refused.value.retry_after == 3600


def test_hosts_are_not_slowed_by_write_limits(db: Session, limits: Any) -> None:
    limits(replies_per_10_minutes=1, threads_per_hour=1)
    circle, hana, _mel, _bob, thread = _circle(db)
    for n in range(3):
        make_reply(db, thread, hana, f"Announcement {n}")
        make_thread(db, circle, hana, title=f"Thread {n}")


def test_a_limit_of_zero_means_no_limit(db: Session, limits: Any) -> None:
    limits(replies_per_10_minutes=0)
    _c, _hana, mel, _bob, thread = _circle(db)
    for n in range(25):
        make_reply(db, thread, mel, f"Reply {n}")
    assert _fresh(db, Thread, thread.id).reply_count == 25


# Slow mode ---------------------------------------------------------------------------------------


def test_slow_mode_makes_a_member_wait_before_replying_again(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, slow=60)
    make_reply(db, thread, mel, "First")
    with pytest.raises(RateLimited, match="Slow mode") as refused:
        make_reply(db, thread, mel, "Second")
    assert 0 < refused.value.retry_after <= 60


def test_slow_mode_lets_a_member_reply_once_the_time_has_passed(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, slow=60)
    make_reply(db, thread, mel, "First")
    _age(db, Post, 61)
    assert make_reply(db, thread, mel, "Second").id is not None


def test_hosts_are_exempt_from_slow_mode(db: Session) -> None:
    circle, hana, _mel, _bob, thread = _circle(db)
    _rules(db, circle, slow=60)
    make_reply(db, thread, hana, "First")
    assert make_reply(db, thread, hana, "Second").id is not None


def test_slow_mode_waits_for_each_member_separately(db: Session) -> None:
    circle, _hana, mel, bob, thread = _circle(db)
    _rules(db, circle, slow=60)
    make_reply(db, thread, mel, "Mel first")
    assert make_reply(db, thread, bob, "Bob right after").id is not None


def test_slow_mode_of_one_circle_does_not_slow_a_member_elsewhere(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, slow=60)
    tea = make_circle(db, "tea")
    add_member(db, tea, mel)
    elsewhere = make_thread(db, tea, mel, title="Oolong")
    make_reply(db, thread, mel, "In espresso")
    assert make_reply(db, elsewhere, mel, "In tea").id is not None


def test_slow_mode_off_lets_members_reply_at_once(db: Session) -> None:
    _c, _hana, mel, _bob, thread = _circle(db)
    make_reply(db, thread, mel, "First")
    assert make_reply(db, thread, mel, "Second").id is not None


# Read-only circles ----------------------------------------------------------------------------


def test_members_cannot_start_threads_in_a_read_only_circle(db: Session) -> None:
    circle, _hana, mel, _bob, _thread = _circle(db)
    _rules(db, circle, read_only=True)
    with pytest.raises(Forbidden, match="read-only"):
        make_thread(db, circle, mel, title="Mine")


def test_hosts_and_admins_still_start_threads_in_a_read_only_circle(db: Session) -> None:
    circle, hana, _mel, _bob, _thread = _circle(db)
    _rules(db, circle, read_only=True)
    admin = db.exec(select(User).where(User.username == "root_admin")).one()
    assert make_thread(db, circle, hana, title="News").id is not None
    assert make_thread(db, circle, admin, title="More news").id is not None


def test_members_still_reply_in_a_read_only_circle(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, read_only=True)
    assert make_reply(db, thread, mel, "Thanks for the news").id is not None


def test_slow_mode_makes_a_member_wait_before_starting_a_thread(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, slow=60)
    make_reply(db, thread, mel, "First")
    with pytest.raises(RateLimited, match="Slow mode") as refused:
        make_thread(db, circle, mel, title="Right after")
    assert 0 < refused.value.retry_after <= 60
    assert db.exec(select(Thread).where(Thread.title == "Right after")).all() == []


def test_slow_mode_makes_a_member_wait_after_starting_a_thread(db: Session) -> None:
    circle, _hana, mel, _bob, _thread = _circle(db)
    _rules(db, circle, slow=60)
    mine = make_thread(db, circle, mel, title="Mine")
    with pytest.raises(RateLimited, match="Slow mode"):
        make_thread(db, circle, mel, title="Mine again")
    with pytest.raises(RateLimited, match="Slow mode"):
        make_reply(db, mine, mel, "And a reply")


def test_slow_mode_lets_a_member_start_a_thread_once_the_time_has_passed(db: Session) -> None:
    circle, _hana, mel, _bob, _thread = _circle(db)
    _rules(db, circle, slow=60)
    make_thread(db, circle, mel, title="Mine")
    _age(db, Post, 61)
    assert make_thread(db, circle, mel, title="Later").id is not None


def test_hosts_and_admins_are_exempt_from_slow_mode_for_new_threads(db: Session) -> None:
    circle, hana, _mel, _bob, _thread = _circle(db)
    admin = db.exec(select(User).where(User.username == "root_admin")).one()
    _rules(db, circle, slow=60)
    for author in (hana, hana, admin, admin):
        assert make_thread(db, circle, author, title="News").id is not None


# First posts on hold ---------------------------------------------------------------------------


def test_a_new_members_first_posts_wait_for_approval(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    first, second = make_reply(db, thread, mel, "Hello"), make_reply(db, thread, mel, "Me again")
    assert [(p.held, p.hidden) for p in (_fresh(db, Post, first.id), _fresh(db, Post, second.id))] == [
        (True, True), (True, True)]


def test_held_replies_are_not_counted_in_the_thread(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    make_reply(db, thread, mel, "Hello")
    fresh = _fresh(db, Thread, thread.id)
    assert (fresh.reply_count, fresh.post_count) == (0, 1)


def test_an_approved_reply_is_published_and_counted(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    held = make_reply(db, thread, mel, "Hello")
    _approve(db, circle, held)
    post, fresh = _fresh(db, Post, held.id), _fresh(db, Thread, thread.id)
    assert (post.held, post.hidden) == (False, False)
    assert (fresh.reply_count, fresh.post_count) == (1, 2)


def test_once_enough_posts_were_approved_the_next_one_is_published_at_once(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    for body in ("Hello", "Me again"):
        _approve(db, circle, make_reply(db, thread, mel, body))
    third = make_reply(db, thread, mel, "Third time")
    assert (third.held, third.hidden) == (False, False)
    assert _fresh(db, Thread, thread.id).reply_count == 3


def test_posts_keep_waiting_while_the_first_ones_are_not_approved(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    make_reply(db, thread, mel, "Hello")
    make_reply(db, thread, mel, "Me again")
    assert make_reply(db, thread, mel, "Anyone?").held


def test_members_who_already_wrote_enough_are_not_held(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    make_reply(db, thread, mel, "Old timer 1")
    make_reply(db, thread, mel, "Old timer 2")
    _rules(db, circle, hold=2)
    assert not make_reply(db, thread, mel, "Still here").held


def test_hosts_posts_are_never_held(db: Session) -> None:
    circle, hana, _mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    assert not make_reply(db, thread, hana, "Welcome all").held
    assert not make_thread(db, circle, hana, title="Rules").hidden


def test_a_held_reply_is_seen_by_its_author_and_hosts_but_not_other_members(db: Session) -> None:
    circle, hana, mel, bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    held = make_reply(db, thread, mel, "Hello")
    for viewer, sees in ((mel, True), (hana, True), (bob, False)):
        page = threads.thread_page(db, thread=_fresh(db, Thread, thread.id), access=_access(db, viewer, circle))
        assert (held.id in [v.post.id for v in page.posts]) is sees, viewer.username
    with pytest.raises(NotFound):
        posts.get_post(db, post_id=held.id, viewer=bob)  # type: ignore[arg-type]


def test_a_held_reply_is_not_found_by_search_until_approved(db: Session) -> None:
    circle, _hana, mel, bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    held = make_reply(db, thread, mel, "Mysterious portafilter")
    assert search.search(db, viewer=bob, q="portafilter") == []
    _approve(db, circle, held)
    assert [hit.post.id for hit in search.search(db, viewer=bob, q="portafilter")] == [held.id]


def test_a_held_reply_tells_nobody_until_approved(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    make_reply(db, thread, mel, "Hello @bob")
    kinds = db.exec(select(Notification.kind).where(col(Notification.kind).in_(("reply", "mention")))).all()
    assert kinds == []


def test_a_held_opening_post_keeps_its_thread_out_of_the_circle_list(db: Session) -> None:
    circle, hana, mel, bob, _thread = _circle(db)
    _rules(db, circle, hold=2)
    held = make_thread(db, circle, mel, title="My first thread")
    listed = {
        viewer.username: [row.thread.title for row in threads.circle_threads(db, access=_access(db, viewer, circle))[0]]
        for viewer in (bob, hana)
    }
    assert listed == {"bob": ["Grinders"], "hana": ["My first thread", "Grinders"]}
    assert held.hidden


def test_an_approved_opening_post_brings_its_thread_into_the_list(db: Session) -> None:
    circle, _hana, mel, bob, _thread = _circle(db)
    _rules(db, circle, hold=2)
    held = make_thread(db, circle, mel, title="My first thread")
    opening = db.exec(select(Post).where(Post.thread_id == held.id, Post.opening)).one()
    _approve(db, circle, opening)
    rows, _pages = threads.circle_threads(db, access=_access(db, bob, circle))
    assert [row.thread.title for row in rows] == ["My first thread", "Grinders"]
    assert _fresh(db, Thread, held.id).post_count == 1


def test_the_author_of_a_held_thread_can_open_it_to_see_it_waits(db: Session) -> None:
    circle, _hana, mel, bob, _thread = _circle(db)
    _rules(db, circle, hold=2)
    held = make_thread(db, circle, mel, title="My first thread")
    thread, _access_ = threads.open_thread(db, thread_id=held.id, viewer=mel)  # type: ignore[arg-type]
    assert thread.id == held.id
    with pytest.raises(NotFound):
        threads.open_thread(db, thread_id=held.id, viewer=bob)  # type: ignore[arg-type]


def test_a_held_opening_post_tells_nobody_it_mentions(db: Session) -> None:
    circle, _hana, mel, bob, _thread = _circle(db)
    _rules(db, circle, hold=2)
    make_thread(db, circle, mel, title="Hi", body="Hello @bob, look!")
    assert db.exec(select(Notification).where(Notification.user_id == bob.id)).all() == []


def test_a_rejected_held_post_does_not_count_as_approved(db: Session) -> None:
    circle, hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=1)
    held = make_reply(db, thread, mel, "Buy my stuff")
    moderation.delete_post(db, post=_fresh(db, Post, held.id), thread=_fresh(db, Thread, thread.id),
                           access=_access(db, hana, circle), by=hana, reason="Not approved by a host")
    assert make_reply(db, thread, mel, "Sorry, a real question").held


# Approval makes a held post count as written at that moment ---------------------------------------


def _unread_for(db: Session, viewer: User, circle: Circle) -> dict[str, int]:
    rows, _pages = threads.circle_threads(db, access=_access(db, viewer, circle))
    return {row.thread.title: row.unread for row in rows}


def test_an_approved_reply_comes_last_and_is_unread_for_those_who_read_past_its_old_place(db: Session) -> None:
    circle, hana, mel, bob, thread = _circle(db)
    make_thread(db, circle, hana, title="Newer thread")
    _rules(db, circle, hold=2)
    held = make_reply(db, thread, mel, "Hello")
    make_reply(db, thread, hana, "Meanwhile, an answer")
    page = threads.thread_page(db, thread=_fresh(db, Thread, thread.id), access=_access(db, bob, circle))
    posts.mark_read(viewer=bob, thread=thread, upto=page.posts[-1].post.number, previous=None, session=db)
    assert _unread_for(db, bob, circle)["Grinders"] == 0
    _age(db, Post, 3600)
    before = _fresh(db, Thread, thread.id).last_post_at
    _approve(db, circle, held)
    post, fresh = _fresh(db, Post, held.id), _fresh(db, Thread, thread.id)
    assert post.number == fresh.last_number == 4
    assert fresh.last_post_at > before
    assert post.created_at == fresh.last_post_at
    assert _unread_for(db, bob, circle) == {"Grinders": 1, "Newer thread": 1}
    assert list(_unread_for(db, bob, circle)) == ["Grinders", "Newer thread"]  # moved up like a new reply
    page = threads.thread_page(db, thread=fresh, access=_access(db, bob, circle))
    assert [v.post.body_md for v in page.posts][-1] == "Hello"


def test_an_approved_reply_is_not_unread_for_its_author(db: Session) -> None:
    circle, _hana, mel, _bob, thread = _circle(db)
    _rules(db, circle, hold=2)
    _approve(db, circle, make_reply(db, thread, mel, "Hello"))
    assert _unread_for(db, mel, circle)["Grinders"] == 0


def _kinds(db: Session, post: Post | None = None) -> set[tuple[str, str]]:
    """Who was told of a reply or a mention (of `post` only, when given)."""
    db.expire_all()
    statement = (select(User.username, Notification.kind).join(User, col(User.id) == Notification.user_id)
                 .where(col(Notification.kind).in_(("reply", "mention"))))
    if post is not None:
        statement = statement.where(Notification.post_id == post.id)
    return set(db.exec(statement).all())


def test_approving_a_held_reply_sends_the_notifications_it_held_back(db: Session) -> None:
    circle, hana, mel, bob, thread = _circle(db, "closed")
    olga, _outsider = make_user(db, "olga"), make_user(db, "outsider")
    add_member(db, circle, olga)
    answered = make_reply(db, thread, bob, "Mine is a hand grinder")
    _rules(db, circle, hold=2)
    held = make_reply(db, thread, mel, "Thanks @olga and @outsider, and @mel", reply_to=answered)
    assert _kinds(db, held) == set()
    _approve(db, circle, held)
    # Not the outsider, who cannot read the closed circle, nor the author herself.
    assert _kinds(db, held) == {("hana", "reply"), ("bob", "reply"), ("olga", "mention")}


def test_approving_a_held_opening_post_tells_the_people_it_mentions_and_lists_it_first(db: Session) -> None:
    circle, hana, mel, bob, _thread = _circle(db)
    _rules(db, circle, hold=2)
    held = make_thread(db, circle, mel, title="My first thread", body="Hello @bob and @hana")
    opening = db.exec(select(Post).where(Post.thread_id == held.id, Post.opening)).one()
    _age(db, Thread, 3600)
    assert _kinds(db) == set()
    _approve(db, circle, opening)
    assert _kinds(db) == {("bob", "mention"), ("hana", "mention")}
    fresh = _fresh(db, Thread, held.id)
    assert (fresh.post_count, fresh.reply_count, fresh.last_number) == (1, 0, 1)
    assert list(_unread_for(db, bob, circle)) == ["My first thread", "Grinders"]


def test_restoring_a_hidden_post_does_not_notify_anyone_again(db: Session) -> None:
    circle, hana, mel, bob, thread = _circle(db)
    reply = make_reply(db, thread, mel, "Hello @bob")
    before = _kinds(db)
    moderation.hide_post(db, post=_fresh(db, Post, reply.id), thread=_fresh(db, Thread, thread.id),
                         access=_access(db, hana, circle), by=hana, reason="Check this")
    _approve(db, circle, reply)
    assert _kinds(db) == before
    assert _fresh(db, Post, reply.id).number == 2
