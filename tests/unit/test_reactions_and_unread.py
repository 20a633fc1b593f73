"""Reactions (one per user, kind and post) and unread counts (read marks per thread)."""

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app import permissions
from app.errors import Forbidden, Invalid
from app.models import Circle, Post, Reaction, Thread, User
from app.services import home, posts, threads
from tests.factories import add_member, make_circle, make_reply, make_thread, make_user


def _opening(db: Session, thread: Thread) -> Post:
    return db.exec(select(Post).where(Post.thread_id == thread.id, Post.opening)).one()


def _access(db: Session, circle: Circle, user: User) -> permissions.CircleAccess:
    return permissions.circle_access(db, user, circle)


def _two_members(db: Session) -> tuple[Circle, User, User, Thread]:
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    return circle, alice, bob, make_thread(db, circle, alice)


def _unread_in_circle(db: Session, circle: Circle, viewer: User) -> dict[str, int]:
    db.expire_all()
    rows, _pages = threads.circle_threads(db, access=_access(db, circle, viewer))
    db.commit()
    return {row.thread.title: row.unread for row in rows}


def _read_all(db: Session, thread: Thread, viewer: User) -> None:
    fresh = db.get(Thread, thread.id)
    assert fresh is not None
    db.refresh(fresh)
    db.refresh(viewer)
    db.commit()  # mark_read writes in its own transaction: ours must not hold SQLite's lock
    posts.mark_read(viewer=viewer, thread=fresh, upto=fresh.last_number, previous=None)


# Reactions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["like", "helpful", "thanks"])
def test_a_reaction_toggles_on_then_off(db, kind):
    circle, alice, bob, thread = _two_members(db)
    post = _opening(db, thread)
    access = _access(db, circle, bob)
    assert posts.toggle_reaction(db, post=post, access=access, user=bob, kind=kind) is True
    assert posts.reaction_counts(db, post=post, viewer=bob) == ({kind: 1}, {kind})
    assert posts.toggle_reaction(db, post=post, access=access, user=bob, kind=kind) is False
    assert posts.reaction_counts(db, post=post, viewer=bob) == ({}, set())


def test_reaction_kinds_are_counted_separately_and_per_person(db):
    circle, alice, bob, thread = _two_members(db)
    carol = make_user(db, "carol")
    add_member(db, circle, carol)
    post = _opening(db, thread)
    posts.toggle_reaction(db, post=post, access=_access(db, circle, bob), user=bob, kind="like")
    posts.toggle_reaction(db, post=post, access=_access(db, circle, bob), user=bob, kind="thanks")
    posts.toggle_reaction(db, post=post, access=_access(db, circle, carol), user=carol, kind="like")
    counts, mine = posts.reaction_counts(db, post=post, viewer=carol)
    assert counts == {"like": 2, "thanks": 1}
    assert mine == {"like"}


def test_the_database_keeps_one_reaction_per_user_kind_and_post(db):
    circle, alice, bob, thread = _two_members(db)
    post = _opening(db, thread)
    posts.toggle_reaction(db, post=post, access=_access(db, circle, bob), user=bob, kind="like")
    db.add(Reaction(post_id=post.id, user_id=bob.id, kind="like"))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_nobody_may_react_to_their_own_post(db):
    circle, alice, bob, thread = _two_members(db)
    with pytest.raises(Forbidden):
        posts.toggle_reaction(db, post=_opening(db, thread), access=_access(db, circle, alice), user=alice,
                              kind="like")
    assert db.exec(select(Reaction)).all() == []


def test_an_unknown_reaction_kind_is_refused(db):
    circle, alice, bob, thread = _two_members(db)
    with pytest.raises(Invalid):
        posts.toggle_reaction(db, post=_opening(db, thread), access=_access(db, circle, bob), user=bob,
                              kind="angry")


def test_a_reader_who_has_not_joined_cannot_react(db):
    circle, alice, bob, thread = _two_members(db)
    passer = make_user(db, "passer")
    with pytest.raises(Forbidden):
        posts.toggle_reaction(db, post=_opening(db, thread), access=_access(db, circle, passer), user=passer,
                              kind="like")


def test_the_thread_page_carries_reaction_counts_and_my_own(db):
    circle, alice, bob, thread = _two_members(db)
    post = _opening(db, thread)
    posts.toggle_reaction(db, post=post, access=_access(db, circle, bob), user=bob, kind="helpful")
    page = threads.thread_page(db, thread=thread, access=_access(db, circle, bob))
    (view,) = page.posts
    assert view.reactions == {"helpful": 1}
    assert view.mine == {"helpful"}
    alice_view = threads.thread_page(db, thread=thread, access=_access(db, circle, alice)).posts[0]
    assert alice_view.mine == set()


# Unread ------------------------------------------------------------------------------------


def test_a_thread_never_opened_counts_all_its_posts_as_unread(db):
    circle, alice, bob, thread = _two_members(db)
    make_reply(db, thread, alice, "more")
    assert _unread_in_circle(db, circle, bob) == {"A thread": 2}


def test_my_own_posts_are_never_unread(db):
    circle, alice, bob, thread = _two_members(db)
    make_reply(db, thread, alice, "more")
    assert _unread_in_circle(db, circle, alice) == {"A thread": 0}


def test_reading_a_thread_drops_its_unread_count_to_zero(db):
    circle, alice, bob, thread = _two_members(db)
    make_reply(db, thread, alice, "more")
    _read_all(db, thread, bob)
    assert _unread_in_circle(db, circle, bob) == {"A thread": 0}


def test_only_posts_after_my_read_mark_are_unread(db):
    circle, alice, bob, thread = _two_members(db)
    _read_all(db, thread, bob)
    make_reply(db, thread, alice, "new one")
    make_reply(db, thread, alice, "new two")
    assert _unread_in_circle(db, circle, bob) == {"A thread": 2}
    page = threads.thread_page(db, thread=db.get(Thread, thread.id), access=_access(db, circle, bob))  # type: ignore[arg-type]
    assert page.first_unread == 2
    assert page.last_read == 1


def test_a_read_mark_never_moves_backwards(db):
    circle, alice, bob, thread = _two_members(db)
    make_reply(db, thread, alice, "two")
    make_reply(db, thread, alice, "three")
    _read_all(db, thread, bob)
    db.commit()
    posts.mark_read(viewer=bob, thread=thread, upto=1, previous=None)
    assert _unread_in_circle(db, circle, bob) == {"A thread": 0}


def test_home_counts_threads_with_news_per_circle(db):
    circle = make_circle(db, "espresso")
    other = make_circle(db, "tea")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    for c in (circle, other):
        add_member(db, c, alice)
        add_member(db, c, bob)
    first = make_thread(db, circle, alice, title="First")
    make_thread(db, circle, alice, title="Second")
    make_thread(db, other, alice, title="Third")
    db.expire_all()
    page = home.home_for(db, viewer=bob)
    db.commit()
    assert {c.circle.slug: c.unread_threads for c in page.circles} == {"espresso": 2, "tea": 1}
    assert {row.thread.title: row.unread for row in page.latest} == {"First": 1, "Second": 1, "Third": 1}
    _read_all(db, first, bob)
    db.expire_all()
    page = home.home_for(db, viewer=bob)
    assert {c.circle.slug: c.unread_threads for c in page.circles} == {"espresso": 1, "tea": 1}
    assert {row.thread.title: row.unread for row in page.latest}["First"] == 0


def test_home_lists_only_my_circles_and_their_visible_threads(db):
    mine = make_circle(db, "espresso")
    theirs = make_circle(db, "tea")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, mine, alice)
    add_member(db, theirs, alice)
    add_member(db, mine, bob)
    make_thread(db, mine, alice, title="Mine")
    make_thread(db, theirs, alice, title="Theirs")
    gone = make_thread(db, mine, alice, title="Gone")
    posts.delete_post(db, post=_opening(db, gone), thread=gone, by=alice)
    page = home.home_for(db, viewer=bob)
    assert [c.circle.slug for c in page.circles] == ["espresso"]
    assert [row.thread.title for row in page.latest] == ["Mine"]
