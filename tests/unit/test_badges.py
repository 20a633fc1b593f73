"""Badges: each automatic rule fires exactly when it should and never twice; recompute; manual badges."""

from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app import permissions
from app.errors import Forbidden, Invalid
from app.models import (
    Badge,
    BadgeAward,
    Circle,
    ModerationAction,
    Notification,
    Post,
    Reaction,
    Thread,
    User,
    Visit,
    utcnow,
)
from app.services import badges, moderation, posts
from tests.factories import add_member, make_admin, make_circle, make_reply, make_thread, make_user

# Helpers ---------------------------------------------------------------------------------------


def _held(db: Session, user: User) -> set[str]:
    """The slugs of the badges `user` holds now (not revoked)."""
    rows = db.exec(
        select(Badge.slug).join(BadgeAward, col(BadgeAward.badge_id) == Badge.id)
        .where(BadgeAward.user_id == user.id, col(BadgeAward.revoked_at).is_(None))
    ).all()
    db.commit()
    return set(rows)


def _award_rows(db: Session, user: User, slug: str) -> int:
    """Rows for this badge and holder, revoked ones included."""
    count = db.exec(
        select(func.count()).select_from(BadgeAward).join(Badge, col(Badge.id) == BadgeAward.badge_id)
        .where(BadgeAward.user_id == user.id, Badge.slug == slug)
    ).one()
    db.commit()
    return count


def _badge_notifications(db: Session, user: User) -> list[Notification]:
    rows = list(db.exec(
        select(Notification).where(Notification.user_id == user.id, Notification.kind == "badge_awarded")
        .order_by(col(Notification.id))
    ).all())
    db.commit()
    return rows


def _circle(db: Session, *members: User, **options: object) -> Circle:
    circle = make_circle(db, **options)  # type: ignore[arg-type]
    for member in members:
        add_member(db, circle, member)
    return circle


def _opening(db: Session, thread: Thread) -> Post:
    post = db.exec(select(Post).where(Post.thread_id == thread.id, col(Post.opening).is_(True))).one()
    db.commit()
    return post


def _raw_thread(db: Session, circle: Circle, author: User, *, hidden: bool = False) -> Thread:
    """A thread and its opening post written straight into the tables: no event hook runs."""
    now = utcnow()
    thread = Thread(circle_id=circle.id, author_id=author.id, title="Raw", created_at=now, last_post_at=now,  # type: ignore[arg-type]
                    post_count=1, last_number=1, hidden=hidden)
    db.add(thread)
    db.flush()
    db.add(Post(thread_id=thread.id, number=1, author_id=author.id, body_md="Hi", body_html="<p>Hi</p>",  # type: ignore[arg-type]
                opening=True, created_at=now, hidden=hidden))
    db.commit()
    return thread


def _raw_reply(db: Session, thread: Thread, author: User, *, hidden: bool = False, deleted: bool = False,
               created_at: object = None) -> Post:
    """A reply written straight into the table: no event hook runs."""
    number = db.exec(select(func.max(Post.number)).where(Post.thread_id == thread.id)).one() or 0
    post = Post(thread_id=thread.id, number=number + 1, author_id=author.id, body_md="Re", body_html="<p>Re</p>",  # type: ignore[arg-type]
                opening=False, created_at=created_at or utcnow(), hidden=hidden,
                deleted_at=utcnow() if deleted else None)
    db.add(post)
    db.commit()
    return post


def _react(db: Session, post: Post, user: User, kind: str = "helpful") -> None:
    circle = db.exec(select(Circle).join(Thread, col(Thread.circle_id) == Circle.id)
                     .where(Thread.id == post.thread_id)).one()
    posts.toggle_reaction(db, post=post, access=permissions.circle_access(db, user, circle), user=user, kind=kind)


def _raw_reaction(db: Session, post: Post, user: User, kind: str = "helpful") -> None:
    db.add(Reaction(post_id=post.id, user_id=user.id, kind=kind, created_at=utcnow()))  # type: ignore[arg-type]
    db.commit()


def _visit(db: Session, user: User, days_ago: int) -> None:
    db.add(Visit(user_id=user.id, day=(utcnow() - timedelta(days=days_ago)).date(), circle_id=None, scope=0))  # type: ignore[arg-type]
    db.commit()


def _daily_visit(db: Session, user: User) -> None:
    badges.on_daily_visit(db, user_id=user.id)  # type: ignore[arg-type]
    db.commit()


def _hide(db: Session, post: Post, by: User) -> None:
    thread = db.get(Thread, post.thread_id)
    circle = db.get(Circle, thread.circle_id)  # type: ignore[union-attr]
    moderation.hide_post(db, post=post, thread=thread, access=permissions.circle_access(db, by, circle),  # type: ignore[arg-type]
                         by=by, reason="Off topic")


def _users(db: Session, prefix: str, n: int) -> list[User]:
    return [make_user(db, f"{prefix}{i}") for i in range(n)]


# First Post, First Reply -------------------------------------------------------------------------


def test_opening_a_thread_awards_first_post(db: Session) -> None:
    alice = make_user(db, "alice")
    make_thread(db, _circle(db, alice), alice)
    assert "first-post" in _held(db, alice)


def test_opening_a_thread_does_not_award_first_reply(db: Session) -> None:
    alice = make_user(db, "alice")
    make_thread(db, _circle(db, alice), alice)
    assert "first-reply" not in _held(db, alice)


def test_a_first_reply_awards_first_reply_and_first_post(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    thread = make_thread(db, _circle(db, alice, bob), alice)
    make_reply(db, thread, bob)
    assert {"first-post", "first-reply"} <= _held(db, bob)


def test_first_post_is_awarded_only_once(db: Session) -> None:
    alice = make_user(db, "alice")
    circle = _circle(db, alice)
    thread = make_thread(db, circle, alice)
    make_thread(db, circle, alice, title="Another")
    make_reply(db, thread, alice)
    assert _award_rows(db, alice, "first-post") == 1


def test_first_reply_is_awarded_only_once(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    thread = make_thread(db, _circle(db, alice, bob), alice)
    make_reply(db, thread, bob)
    make_reply(db, thread, bob, "Again.")
    assert _award_rows(db, bob, "first-reply") == 1


def test_a_badge_award_notifies_the_member_once(db: Session) -> None:
    alice = make_user(db, "alice")
    circle = _circle(db, alice)
    make_thread(db, circle, alice)
    make_thread(db, circle, alice, title="Second")
    notes = _badge_notifications(db, alice)
    assert [n.text for n in notes] == ["first-post"]
    assert notes[0].actor_id is None


def test_a_post_held_for_approval_awards_no_badge(db: Session) -> None:
    alice = make_user(db, "alice")
    circle = _circle(db, alice)
    circle.hold_first_posts = 1
    db.add(circle)
    db.commit()
    make_thread(db, circle, alice)
    assert "first-post" not in _held(db, alice)


def test_approving_a_held_first_post_awards_first_post(db: Session) -> None:
    alice, host = make_user(db, "alice"), make_user(db, "hostess")
    circle = _circle(db, alice)
    add_member(db, circle, host, host=True)
    circle.hold_first_posts = 1
    db.add(circle)
    db.commit()
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    moderation.restore_post(db, post=post, thread=thread, access=permissions.circle_access(db, host, circle), by=host)
    assert "first-post" in _held(db, alice)


# Welcomer ---------------------------------------------------------------------------------------


def test_first_reply_to_a_members_first_thread_awards_welcomer(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    thread = make_thread(db, _circle(db, alice, bob), alice)
    make_reply(db, thread, bob)
    assert "welcomer" in _held(db, bob)


def test_the_second_replier_is_not_a_welcomer(db: Session) -> None:
    alice, bob, carol = make_user(db, "alice"), make_user(db, "bob"), make_user(db, "carol")
    thread = make_thread(db, _circle(db, alice, bob, carol), alice)
    make_reply(db, thread, bob)
    make_reply(db, thread, carol)
    assert "welcomer" not in _held(db, carol)


def test_first_reply_to_a_members_second_thread_is_not_welcomer(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    circle = _circle(db, alice, bob)
    make_thread(db, circle, alice, title="First")
    second = make_thread(db, circle, alice, title="Second")
    make_reply(db, second, bob)
    assert "welcomer" not in _held(db, bob)


def test_the_authors_own_reply_does_not_take_the_welcome(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    thread = make_thread(db, _circle(db, alice, bob), alice)
    make_reply(db, thread, alice, "Anyone?")
    make_reply(db, thread, bob)
    assert "welcomer" in _held(db, bob)
    assert "welcomer" not in _held(db, alice)


def test_welcomer_is_awarded_only_once(db: Session) -> None:
    alice, bob, carol = make_user(db, "alice"), make_user(db, "bob"), make_user(db, "carol")
    circle = _circle(db, alice, bob, carol)
    make_reply(db, make_thread(db, circle, alice), bob)
    make_reply(db, make_thread(db, circle, carol), bob)
    assert _award_rows(db, bob, "welcomer") == 1


def test_a_hidden_first_reply_does_not_award_welcomer(db: Session) -> None:
    alice, bob, host = make_user(db, "alice"), make_user(db, "bob"), make_user(db, "hostess")
    circle = _circle(db, alice, bob)
    add_member(db, circle, host, host=True)
    circle.hold_first_posts = 1
    db.add(circle)
    db.commit()
    # Alice's thread is approved; Bob's reply, his first post in the circle, waits (hidden).
    thread = make_thread(db, circle, alice)
    moderation.restore_post(db, post=_opening(db, thread), thread=thread,
                            access=permissions.circle_access(db, host, circle), by=host)
    make_reply(db, thread, bob)
    assert "welcomer" not in _held(db, bob)


# Helpful 5 / 25 / 100 ---------------------------------------------------------------------------


def test_five_helpful_reactions_award_helpful(db: Session) -> None:
    alice = make_user(db, "alice")
    others = _users(db, "fan", 5)
    circle = _circle(db, alice, *others)
    post = _opening(db, make_thread(db, circle, alice))
    for other in others[:4]:
        _react(db, post, other)
    assert "helpful-5" not in _held(db, alice)
    _react(db, post, others[4])
    assert "helpful-5" in _held(db, alice)


def test_other_reaction_kinds_do_not_count_as_helpful(db: Session) -> None:
    alice = make_user(db, "alice")
    others = _users(db, "fan", 5)
    circle = _circle(db, alice, *others)
    post = _opening(db, make_thread(db, circle, alice))
    for other in others:
        _react(db, post, other, "like")
        _react(db, post, other, "thanks")
    assert "helpful-5" not in _held(db, alice)


def test_reacting_helpful_to_your_own_post_is_refused(db: Session) -> None:
    alice = make_user(db, "alice")
    post = _opening(db, make_thread(db, _circle(db, alice), alice))
    with pytest.raises(Forbidden):
        _react(db, post, alice)


def test_own_helpful_reactions_written_in_the_table_do_not_count(db: Session) -> None:
    alice = make_user(db, "alice")
    others = _users(db, "fan", 4)
    circle = _circle(db, alice, *others)
    post = _opening(db, make_thread(db, circle, alice))
    _raw_reaction(db, post, alice)
    for other in others:
        _react(db, post, other)
    assert "helpful-5" not in _held(db, alice)


def test_helpful_reactions_on_hidden_posts_do_not_count(db: Session) -> None:
    alice, host = make_user(db, "alice"), make_user(db, "hostess")
    others = _users(db, "fan", 5)
    circle = _circle(db, alice, *others)
    add_member(db, circle, host, host=True)
    thread = make_thread(db, circle, host)
    hidden = make_reply(db, thread, alice, "Soon hidden.")
    shown = make_reply(db, thread, alice, "Stays.")
    _react(db, hidden, others[0])
    _hide(db, hidden, host)
    for other in others[1:]:
        _react(db, shown, other)
    assert "helpful-5" not in _held(db, alice)


def test_helpful_is_not_awarded_twice_when_a_reaction_is_taken_back_and_given_again(db: Session) -> None:
    alice = make_user(db, "alice")
    others = _users(db, "fan", 5)
    circle = _circle(db, alice, *others)
    post = _opening(db, make_thread(db, circle, alice))
    for other in others:
        _react(db, post, other)
    _react(db, post, others[0])  # taken back
    _react(db, post, others[0])  # given again
    assert _award_rows(db, alice, "helpful-5") == 1
    assert [n.text for n in _badge_notifications(db, alice)].count("helpful-5") == 1


def test_twenty_five_helpful_reactions_award_very_helpful(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    circle = _circle(db, alice, bob)
    thread = make_thread(db, circle, bob)
    replies = [_raw_reply(db, thread, alice) for _ in range(25)]
    for reply in replies[:24]:
        _raw_reaction(db, reply, bob)
    badges.on_helpful(db, post=replies[0])
    db.commit()
    assert "helpful-25" not in _held(db, alice)
    _react(db, replies[24], bob)
    assert {"helpful-5", "helpful-25"} <= _held(db, alice)
    assert "helpful-100" not in _held(db, alice)


def test_a_hundred_helpful_reactions_award_pillar(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    circle = _circle(db, alice, bob)
    thread = make_thread(db, circle, bob)
    replies = [_raw_reply(db, thread, alice) for _ in range(100)]
    for reply in replies[:99]:
        _raw_reaction(db, reply, bob)
    badges.on_helpful(db, post=replies[0])
    db.commit()
    assert "helpful-100" not in _held(db, alice)
    _react(db, replies[99], bob)
    assert "helpful-100" in _held(db, alice)
    assert _award_rows(db, alice, "helpful-25") == 1


# Conversation Starter ----------------------------------------------------------------------------


def test_replies_from_five_members_award_conversation_starter(db: Session) -> None:
    alice = make_user(db, "alice")
    others = _users(db, "talker", 5)
    thread = make_thread(db, _circle(db, alice, *others), alice)
    for other in others[:4]:
        make_reply(db, thread, other)
    assert "conversation-starter" not in _held(db, alice)
    make_reply(db, thread, others[4])
    assert "conversation-starter" in _held(db, alice)


def test_replies_from_four_members_are_not_enough_for_conversation_starter(db: Session) -> None:
    alice = make_user(db, "alice")
    others = _users(db, "talker", 4)
    thread = make_thread(db, _circle(db, alice, *others), alice)
    for other in others:
        make_reply(db, thread, other)
        make_reply(db, thread, other, "And more.")
    make_reply(db, thread, alice, "Thanks all.")
    assert "conversation-starter" not in _held(db, alice)


def test_a_hidden_reply_does_not_count_for_conversation_starter(db: Session) -> None:
    alice, host = make_user(db, "alice"), make_user(db, "hostess")
    others = _users(db, "talker", 5)
    circle = _circle(db, alice, *others)
    add_member(db, circle, host, host=True)
    thread = make_thread(db, circle, alice)
    first = make_reply(db, thread, others[0])
    _hide(db, first, host)
    for other in others[1:]:
        make_reply(db, thread, other)
    assert "conversation-starter" not in _held(db, alice)


def test_conversation_starter_is_awarded_only_once(db: Session) -> None:
    alice = make_user(db, "alice")
    others = _users(db, "talker", 5)
    circle = _circle(db, alice, *others)
    for title in ("One", "Two"):
        thread = make_thread(db, circle, alice, title=title)
        for other in others:
            make_reply(db, thread, other)
    assert _award_rows(db, alice, "conversation-starter") == 1


# Recruiter 1 / 3 / 10 ------------------------------------------------------------------------------


def _invitees(db: Session, inviter: User, n: int) -> list[User]:
    people = _users(db, f"guest{inviter.username}", n)
    for person in people:
        person.invited_by_id = inviter.id
        db.add(person)
    db.commit()
    return people


def test_an_invitee_who_posts_awards_recruiter(db: Session) -> None:
    carol = make_user(db, "carol")
    (guest,) = _invitees(db, carol, 1)
    make_thread(db, _circle(db, guest), guest)
    assert "recruiter-1" in _held(db, carol)


def test_an_invitee_who_never_posted_awards_nothing(db: Session) -> None:
    carol = make_user(db, "carol")
    (guest,) = _invitees(db, carol, 1)
    other = make_user(db, "other")
    make_thread(db, _circle(db, guest, other), other)
    badges.recompute(db)
    assert "recruiter-1" not in _held(db, carol)


def test_an_invitee_whose_only_post_is_held_awards_nothing(db: Session) -> None:
    carol = make_user(db, "carol")
    (guest,) = _invitees(db, carol, 1)
    circle = _circle(db, guest)
    circle.hold_first_posts = 1
    db.add(circle)
    db.commit()
    make_thread(db, circle, guest)
    assert "recruiter-1" not in _held(db, carol)


def test_an_invitee_whose_only_post_is_deleted_does_not_count(db: Session) -> None:
    carol, bob = make_user(db, "carol"), make_user(db, "bob")
    (guest,) = _invitees(db, carol, 1)
    circle = _circle(db, guest, bob)
    _raw_reply(db, _raw_thread(db, circle, bob), guest, deleted=True)
    badges.recompute(db)
    assert "recruiter-1" not in _held(db, carol)


def test_three_invitees_who_posted_award_connector(db: Session) -> None:
    carol = make_user(db, "carol")
    guests = _invitees(db, carol, 3)
    circle = _circle(db, *guests)
    for guest in guests[:2]:
        make_thread(db, circle, guest)
    assert "recruiter-3" not in _held(db, carol)
    make_thread(db, circle, guests[2])
    assert {"recruiter-1", "recruiter-3"} <= _held(db, carol)
    assert _award_rows(db, carol, "recruiter-1") == 1


def test_ten_invitees_who_posted_award_ambassador_of_the_circle(db: Session) -> None:
    carol = make_user(db, "carol")
    guests = _invitees(db, carol, 10)
    circle = _circle(db, *guests)
    for guest in guests[:9]:
        _raw_thread(db, circle, guest)
    badges.recompute(db)
    assert "recruiter-10" not in _held(db, carol)
    make_thread(db, circle, guests[9])
    assert "recruiter-10" in _held(db, carol)


# Regular ------------------------------------------------------------------------------------------


def test_visits_in_four_distinct_weeks_award_regular(db: Session) -> None:
    alice = make_user(db, "alice")
    for days_ago in (1, 8, 15, 22):
        _visit(db, alice, days_ago)
    _daily_visit(db, alice)
    assert "regular" in _held(db, alice)


def test_visits_in_three_weeks_are_not_enough_for_regular(db: Session) -> None:
    alice = make_user(db, "alice")
    for days_ago in (0, 2, 4, 8, 15):
        _visit(db, alice, days_ago)
    _daily_visit(db, alice)
    assert "regular" not in _held(db, alice)


def test_visits_older_than_eight_weeks_do_not_count_for_regular(db: Session) -> None:
    alice = make_user(db, "alice")
    for days_ago in (0, 7, 14, 60, 70):
        _visit(db, alice, days_ago)
    _daily_visit(db, alice)
    assert "regular" not in _held(db, alice)


def test_a_visit_exactly_eight_weeks_ago_is_outside_the_window(db: Session) -> None:
    alice = make_user(db, "alice")
    for days_ago in (0, 7, 14, 56):
        _visit(db, alice, days_ago)
    _daily_visit(db, alice)
    assert "regular" not in _held(db, alice)


def test_a_visit_in_the_eighth_week_counts_for_regular(db: Session) -> None:
    alice = make_user(db, "alice")
    for days_ago in (0, 7, 14, 55):
        _visit(db, alice, days_ago)
    _daily_visit(db, alice)
    assert "regular" in _held(db, alice)


def test_posts_count_as_activity_for_regular(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    thread = _raw_thread(db, _circle(db, alice, bob), bob)
    for days_ago in (7, 14, 21):
        _visit(db, alice, days_ago)
    _raw_reply(db, thread, alice)
    _daily_visit(db, alice)
    assert "regular" in _held(db, alice)


def test_deleted_or_hidden_posts_do_not_count_as_activity_for_regular(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    thread = _raw_thread(db, _circle(db, alice, bob), bob)
    for days_ago in (7, 14, 21):
        _visit(db, alice, days_ago)
    _raw_reply(db, thread, alice, deleted=True)
    _raw_reply(db, thread, alice, hidden=True, created_at=utcnow() - timedelta(days=28))
    _daily_visit(db, alice)
    assert "regular" not in _held(db, alice)


def test_regular_is_awarded_only_once(db: Session) -> None:
    alice = make_user(db, "alice")
    for days_ago in (1, 8, 15, 22):
        _visit(db, alice, days_ago)
    _daily_visit(db, alice)
    _visit(db, alice, 0)
    _daily_visit(db, alice)
    assert _award_rows(db, alice, "regular") == 1


# Anniversary --------------------------------------------------------------------------------------


def _age(db: Session, user: User, days: int) -> None:
    user.created_at = utcnow() - timedelta(days=days)
    db.add(user)
    db.commit()


def test_an_account_a_year_old_awards_anniversary_on_the_daily_visit(db: Session) -> None:
    alice = make_user(db, "alice")
    _age(db, alice, 365)
    _daily_visit(db, alice)
    assert "anniversary" in _held(db, alice)


def test_an_account_of_364_days_has_no_anniversary(db: Session) -> None:
    alice = make_user(db, "alice")
    _age(db, alice, 364)
    _daily_visit(db, alice)
    assert "anniversary" not in _held(db, alice)


def test_anniversary_is_awarded_only_once(db: Session) -> None:
    alice = make_user(db, "alice")
    _age(db, alice, 800)
    _daily_visit(db, alice)
    _daily_visit(db, alice)
    assert _award_rows(db, alice, "anniversary") == 1
    assert [n.text for n in _badge_notifications(db, alice)] == ["anniversary"]


# Recompute ----------------------------------------------------------------------------------------


def _backfill_world(db: Session) -> tuple[User, User, User]:
    alice, bob, carol = make_user(db, "alice"), make_user(db, "bob"), make_user(db, "carol")
    thread = _raw_thread(db, _circle(db, alice, bob), alice)
    _raw_reply(db, thread, bob)
    carol.created_at = utcnow() - timedelta(days=400)
    db.add(carol)
    db.commit()
    return alice, bob, carol


def test_recompute_backfills_badges_for_rows_written_directly(db: Session) -> None:
    alice, bob, carol = _backfill_world(db)
    assert _held(db, alice) == set()
    awarded = badges.recompute(db)
    assert awarded == 5
    assert _held(db, alice) == {"first-post"}
    assert _held(db, bob) == {"first-post", "first-reply", "welcomer"}
    assert _held(db, carol) == {"anniversary"}


def test_recompute_notifies_each_new_holder(db: Session) -> None:
    _alice, bob, _carol = _backfill_world(db)
    badges.recompute(db)
    assert sorted(n.text for n in _badge_notifications(db, bob)) == ["first-post", "first-reply", "welcomer"]


def test_recompute_run_twice_awards_nothing_the_second_time(db: Session) -> None:
    _backfill_world(db)
    assert badges.recompute(db) > 0
    assert badges.recompute(db) == 0


def test_recompute_ignores_hidden_and_deleted_posts(db: Session) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    circle = _circle(db, alice, bob)
    _raw_thread(db, circle, alice, hidden=True)
    thread = _raw_thread(db, circle, make_user(db, "carol"))
    _raw_reply(db, thread, bob, deleted=True)
    badges.recompute(db)
    assert _held(db, alice) == set()
    assert _held(db, bob) == set()


def test_recompute_does_not_give_back_an_automatic_badge_that_was_revoked(db: Session) -> None:
    admin = make_admin(db)
    alice = make_user(db, "alice")
    make_thread(db, _circle(db, alice), alice)
    award = db.exec(select(BadgeAward).where(BadgeAward.user_id == alice.id)).one()
    badges.revoke_award(db, award_id=award.id, by=admin, reason="Spam account")  # type: ignore[arg-type]
    assert badges.recompute(db) == 0
    assert "first-post" not in _held(db, alice)


def test_cli_badges_recompute_backfills_and_reports_the_count(db: Session) -> None:
    from app.cli import app as cli

    alice, bob, carol = _backfill_world(db)
    runner = CliRunner()
    result = runner.invoke(cli, ["badges", "recompute"])
    assert result.exit_code == 0, result.output
    assert "5 badges awarded." in result.output
    assert _held(db, bob) == {"first-post", "first-reply", "welcomer"}
    again = runner.invoke(cli, ["badges", "recompute"])
    assert again.exit_code == 0, again.output
    assert "0 badges awarded." in again.output


# Manual badges: creation ------------------------------------------------------------------------


def _create(db: Session, by: User, **fields: str) -> Badge:
    values = {"name": "Barista of the Month", "description": "Pulled the best shots.", "tier": "gold",
              "icon": "coffee"} | fields
    return badges.create_badge(db, by=by, **values)


def test_admin_creates_a_manual_badge(db: Session) -> None:
    admin = make_admin(db)
    badge = _create(db, admin)
    assert (badge.slug, badge.name, badge.tier, badge.icon, badge.automatic) == (
        "barista-of-the-month", "Barista of the Month", "gold", "coffee", False)
    assert db.exec(select(ModerationAction.action).where(ModerationAction.actor_id == admin.id)).all() == [
        "badge_created"]


@pytest.mark.parametrize("fields, field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 61}, "name"),
    ({"description": "x" * 301}, "description"),
    ({"tier": "platinum"}, "tier"),
    ({"icon": "skull"}, "icon"),
])
def test_creating_a_badge_validates_its_fields(db: Session, fields: dict[str, str], field: str) -> None:
    admin = make_admin(db)
    with pytest.raises(Invalid) as error:
        _create(db, admin, **fields)
    assert field in error.value.fields


def test_a_badge_name_of_60_and_description_of_300_characters_are_accepted(db: Session) -> None:
    badge = _create(db, make_admin(db), name="n" * 60, description="d" * 300)
    assert len(badge.name) == 60 and len(badge.description) == 300


def test_two_badges_cannot_share_a_name(db: Session) -> None:
    admin = make_admin(db)
    _create(db, admin)
    with pytest.raises(Invalid) as error:
        _create(db, admin)
    assert "name" in error.value.fields


def test_a_member_cannot_create_a_badge(db: Session) -> None:
    with pytest.raises(Forbidden):
        _create(db, make_user(db, "alice"))


def test_a_host_cannot_create_a_badge(db: Session) -> None:
    host = make_user(db, "hostess")
    add_member(db, make_circle(db), host, host=True)
    with pytest.raises(Forbidden):
        _create(db, host)


# Manual badges: awards ----------------------------------------------------------------------------


def _hosted(db: Session) -> tuple[User, User, Circle, Badge]:
    """A host, a member of the circle they host, and a manual badge."""
    host, alice = make_user(db, "hostess"), make_user(db, "alice")
    circle = _circle(db, alice, slug="espresso")
    add_member(db, circle, host, host=True)
    return host, alice, circle, _create(db, make_admin(db))


def test_a_host_awards_a_manual_badge_to_a_member_of_their_circle_with_a_reason(db: Session) -> None:
    host, alice, circle, badge = _hosted(db)
    award = badges.award_manual(db, badge=badge, user=alice, by=host, reason="Great latte art guide.",
                                circle=circle)
    assert (award.reason, award.awarded_by_id, award.circle_id) == ("Great latte art guide.", host.id, circle.id)
    assert "barista-of-the-month" in _held(db, alice)


def test_a_manual_award_notifies_the_member_and_is_audited(db: Session) -> None:
    host, alice, circle, badge = _hosted(db)
    badges.award_manual(db, badge=badge, user=alice, by=host, reason="Great guide.", circle=circle)
    (note,) = _badge_notifications(db, alice)
    assert (note.text, note.actor_id) == ("barista-of-the-month", host.id)
    audit = db.exec(select(ModerationAction).where(ModerationAction.action == "badge_awarded")).one()
    assert (audit.actor_id, audit.target_user_id, audit.reason) == (host.id, alice.id, "Great guide.")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
def test_a_manual_award_needs_a_reason_of_1_to_1000_characters(db: Session, reason: str) -> None:
    host, alice, circle, badge = _hosted(db)
    with pytest.raises(Invalid):
        badges.award_manual(db, badge=badge, user=alice, by=host, reason=reason, circle=circle)
    assert _held(db, alice) == set()


def test_a_host_cannot_award_to_someone_outside_their_circles(db: Session) -> None:
    host, _alice, circle, badge = _hosted(db)
    outsider = make_user(db, "outsider")
    _circle(db, outsider)
    with pytest.raises(Forbidden):
        badges.award_manual(db, badge=badge, user=outsider, by=host, reason="Nice.", circle=circle)
    assert _held(db, outsider) == set()


def test_a_host_cannot_award_through_a_circle_they_do_not_host(db: Session) -> None:
    host, _alice, _circle_hosted, badge = _hosted(db)
    bob = make_user(db, "bob")
    other = _circle(db, bob, host)
    with pytest.raises(Forbidden):
        badges.award_manual(db, badge=badge, user=bob, by=host, reason="Nice.", circle=other)


def test_a_member_cannot_award_a_badge(db: Session) -> None:
    _host, alice, circle, badge = _hosted(db)
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    with pytest.raises(Forbidden):
        badges.award_manual(db, badge=badge, user=bob, by=alice, reason="Nice.", circle=circle)


def test_a_member_without_a_circle_cannot_award_a_badge(db: Session) -> None:
    _host, alice, circle, badge = _hosted(db)
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    with pytest.raises(Forbidden):
        badges.award_manual(db, badge=badge, user=bob, by=alice, reason="Nice.", circle=None)


def test_an_automatic_badge_cannot_be_awarded_by_hand(db: Session) -> None:
    host, alice, circle, _badge = _hosted(db)
    badges.ensure_catalog(db)
    with pytest.raises(Invalid):
        badges.award_manual(db, badge=badges.get_badge(db, "welcomer"), user=alice, by=host, reason="Kind.",
                            circle=circle)


def test_a_manual_badge_is_not_awarded_twice(db: Session) -> None:
    host, alice, circle, badge = _hosted(db)
    badges.award_manual(db, badge=badge, user=alice, by=host, reason="Once.", circle=circle)
    with pytest.raises(Invalid):
        badges.award_manual(db, badge=badge, user=alice, by=host, reason="Twice.", circle=circle)


def test_an_admin_awards_without_choosing_a_circle(db: Session) -> None:
    _host, alice, _circle_, badge = _hosted(db)
    admin = db.exec(select(User).where(User.username == "admin")).one()
    award = badges.award_manual(db, badge=badge, user=alice, by=admin, reason="For everything.", circle=None)
    assert award.circle_id is None


# Revocation and the best badge ----------------------------------------------------------------------


def test_revoking_keeps_the_row_with_revoked_at_and_audits_it(db: Session) -> None:
    host, alice, circle, badge = _hosted(db)
    award = badges.award_manual(db, badge=badge, user=alice, by=host, reason="Great.", circle=circle)
    badges.revoke_award(db, award_id=award.id, by=host, reason="Given by mistake.")  # type: ignore[arg-type]
    row = db.get(BadgeAward, award.id)
    assert row is not None and row.revoked_at is not None and row.revoked_by_id == host.id
    assert "barista-of-the-month" not in _held(db, alice)
    audit = db.exec(select(ModerationAction).where(ModerationAction.action == "badge_revoked")).one()
    assert (audit.actor_id, audit.target_user_id, audit.reason) == (host.id, alice.id, "Given by mistake.")


def test_a_member_cannot_revoke_an_award(db: Session) -> None:
    host, alice, circle, badge = _hosted(db)
    award = badges.award_manual(db, badge=badge, user=alice, by=host, reason="Great.", circle=circle)
    with pytest.raises(Forbidden):
        badges.revoke_award(db, award_id=award.id, by=alice)  # type: ignore[arg-type]


def test_a_host_cannot_revoke_a_site_wide_award(db: Session) -> None:
    host, alice, _circle_, badge = _hosted(db)
    admin = db.exec(select(User).where(User.username == "admin")).one()
    award = badges.award_manual(db, badge=badge, user=alice, by=admin, reason="Great.", circle=None)
    with pytest.raises(Forbidden):
        badges.revoke_award(db, award_id=award.id, by=host)  # type: ignore[arg-type]


def test_a_revoked_manual_badge_can_be_awarded_again(db: Session) -> None:
    host, alice, circle, badge = _hosted(db)
    award = badges.award_manual(db, badge=badge, user=alice, by=host, reason="Great.", circle=circle)
    badges.revoke_award(db, award_id=award.id, by=host)  # type: ignore[arg-type]
    again = badges.award_manual(db, badge=badge, user=alice, by=host, reason="Earned it again.", circle=circle)
    assert again.id == award.id and again.revoked_at is None and again.reason == "Earned it again."


def test_best_badge_follows_the_best_tier_not_revoked(db: Session) -> None:
    host, alice, circle, gold = _hosted(db)
    admin = db.exec(select(User).where(User.username == "admin")).one()
    bronze = _create(db, admin, name="Bean Counter", tier="bronze", icon="star")
    silver = _create(db, admin, name="Milk Frother", tier="silver", icon="heart")
    badges.award_manual(db, badge=bronze, user=alice, by=host, reason="One.", circle=circle)
    assert alice.best_badge_id == bronze.id
    gold_award = badges.award_manual(db, badge=gold, user=alice, by=host, reason="Two.", circle=circle)
    badges.award_manual(db, badge=silver, user=alice, by=host, reason="Three.", circle=circle)
    db.refresh(alice)
    assert alice.best_badge_id == gold.id
    badges.revoke_award(db, award_id=gold_award.id, by=host)  # type: ignore[arg-type]
    db.refresh(alice)
    assert alice.best_badge_id == silver.id


def test_best_badge_is_cleared_when_the_last_badge_is_revoked(db: Session) -> None:
    host, alice, circle, badge = _hosted(db)
    award = badges.award_manual(db, badge=badge, user=alice, by=host, reason="Great.", circle=circle)
    badges.revoke_award(db, award_id=award.id, by=host)  # type: ignore[arg-type]
    db.refresh(alice)
    assert alice.best_badge_id is None


def test_a_members_badges_are_listed_best_first(db: Session) -> None:
    host, alice, circle, gold = _hosted(db)
    admin = db.exec(select(User).where(User.username == "admin")).one()
    bronze = _create(db, admin, name="Bean Counter", tier="bronze", icon="star")
    silver = _create(db, admin, name="Milk Frother", tier="silver", icon="heart")
    for badge in (bronze, gold, silver):
        badges.award_manual(db, badge=badge, user=alice, by=host, reason="Yes.", circle=circle)
    assert [b.tier for _award, b in badges.badges_of(db, user=alice)] == ["gold", "silver", "bronze"]
