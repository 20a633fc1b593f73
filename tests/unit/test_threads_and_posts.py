"""Threads and posts: start, reply, quote, edit with revisions, delete, lock, mention, paginate."""

import pytest
from sqlmodel import Session, col, select

from app import permissions
from app.errors import Forbidden, Invalid, NotFound
from app.models import Notification, Post, PostRevision, Thread, User
from app.services import posts, threads
from tests.factories import add_member, make_circle, make_reply, make_thread, make_user


def _fresh_thread(db: Session, thread: Thread) -> Thread:
    db.expire_all()
    found = db.get(Thread, thread.id)
    assert found is not None
    return found


CONVERSATION_KINDS = ("reply", "mention")


def _kinds_for(db: Session, user: User) -> list[str]:
    """The conversation notifications of `user` (other features, like badges, add their own)."""
    return sorted(db.exec(select(Notification.kind).where(
        Notification.user_id == user.id, col(Notification.kind).in_(CONVERSATION_KINDS))).all())


def _access(db: Session, thread: Thread, user: User) -> permissions.CircleAccess:
    return threads.open_thread(db, thread_id=thread.id, viewer=user)[1]  # type: ignore[arg-type]


def test_creating_a_thread_stores_the_opening_post_as_sanitised_html(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice, title="  Best   grinder?  ", body="Which **one**? <script>x</script>")
    assert thread.title == "Best grinder?"
    assert (thread.post_count, thread.reply_count, thread.last_number) == (1, 0, 1)
    (post,) = db.exec(select(Post).where(Post.thread_id == thread.id)).all()
    assert post.opening and post.number == 1
    assert post.body_md == "Which **one**? <script>x</script>"
    assert "<strong>one</strong>" in post.body_html
    assert "<script" not in post.body_html


@pytest.mark.parametrize(("title", "body", "field"), [
    ("", "body", "title"),
    ("   ", "body", "title"),
    ("t" * 201, "body", "title"),
    ("Title", "", "body"),
    ("Title", "  \n ", "body"),
    ("Title", "x" * 50_001, "body"),
])
def test_thread_validation_names_the_wrong_field(db, title, body, field):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    with pytest.raises(Invalid) as caught:
        threads.create_thread(db, circle=circle, author=alice, title=title, body=body)
    assert field in caught.value.fields
    db.rollback()
    assert db.exec(select(Thread)).all() == []


def test_a_non_member_cannot_start_a_thread_in_an_open_circle(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    with pytest.raises(Forbidden):
        make_thread(db, circle, alice)


def test_a_non_member_of_a_closed_circle_gets_not_found_when_starting_a_thread(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    with pytest.raises(NotFound):
        make_thread(db, circle, alice)


def test_replying_numbers_posts_and_updates_the_counters(db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice)
    first = make_reply(db, thread, bob, "one")
    second = make_reply(db, thread, alice, "two")
    assert (first.number, second.number) == (2, 3)
    fresh = _fresh_thread(db, thread)
    assert (fresh.reply_count, fresh.post_count, fresh.last_number) == (2, 3, 3)
    assert fresh.last_post_at >= second.created_at


def test_a_reply_may_answer_another_post_of_the_same_thread(db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice)
    parent = make_reply(db, thread, bob, "the parent")
    child = make_reply(db, thread, alice, "the child", reply_to=parent)
    assert child.reply_to_id == parent.id
    page = threads.thread_page(db, thread=thread, access=_access(db, thread, alice))
    view = next(v for v in page.posts if v.post.id == child.id)
    assert view.reply_to is not None and view.reply_to.id == parent.id
    assert view.reply_to_author is not None and view.reply_to_author.id == bob.id


def test_a_reply_cannot_answer_a_post_of_another_thread(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    one, other = make_thread(db, circle, alice), make_thread(db, circle, alice, title="Other")
    elsewhere = make_reply(db, other, alice, "elsewhere")
    with pytest.raises(Invalid):
        make_reply(db, one, alice, "answer", reply_to=elsewhere)
    db.rollback()
    assert _fresh_thread(db, one).reply_count == 0


def test_a_reply_cannot_answer_a_missing_post(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    with pytest.raises(Invalid):
        posts.reply(db, thread=thread, access=_access(db, thread, alice), author=alice, body="x",
                    reply_to_id=999_999)


def test_an_empty_reply_is_refused(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    with pytest.raises(Invalid):
        make_reply(db, thread, alice, "   ")


def test_a_locked_thread_refuses_replies(db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice)
    thread.locked = True
    db.add(thread)
    db.commit()
    with pytest.raises(Forbidden):
        make_reply(db, thread, bob, "too late")
    assert _fresh_thread(db, thread).reply_count == 0


def test_a_host_may_still_reply_in_a_locked_thread(db):
    circle = make_circle(db, "espresso")
    alice, host = make_user(db, "alice"), make_user(db, "host")
    add_member(db, circle, alice)
    add_member(db, circle, host, host=True)
    thread = make_thread(db, circle, alice)
    thread.locked = True
    db.add(thread)
    db.commit()
    assert make_reply(db, thread, host, "closing words").number == 2


def test_editing_my_post_keeps_the_previous_version_as_a_revision(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "first version")
    edited = posts.edit_post(db, post=post, thread=thread, access=_access(db, thread, alice), by=alice,
                             body="second *version*")
    assert edited.edited_at is not None
    assert edited.body_md == "second *version*"
    assert "<em>version</em>" in edited.body_html
    (revision,) = posts.revisions(db, post=post)
    assert revision.body_md == "first version"
    assert revision.editor_id == alice.id


def test_saving_an_unchanged_post_makes_no_revision(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "same")
    posts.edit_post(db, post=post, thread=thread, access=_access(db, thread, alice), by=alice, body="same")
    assert post.edited_at is None
    assert db.exec(select(PostRevision)).all() == []


def test_nobody_may_edit_someone_elses_post(db):
    circle = make_circle(db, "espresso")
    alice, host = make_user(db, "alice"), make_user(db, "host")
    add_member(db, circle, alice)
    add_member(db, circle, host, host=True)
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "mine")
    with pytest.raises(Forbidden):
        posts.edit_post(db, post=post, thread=thread, access=_access(db, thread, host), by=host, body="theirs")
    db.expire_all()
    assert db.get(Post, post.id).body_md == "mine"  # type: ignore[union-attr]


def test_deleting_my_reply_is_soft_and_drops_the_counters(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "oops")
    posts.delete_post(db, post=post, thread=thread, by=alice)
    db.expire_all()
    kept = db.get(Post, post.id)
    assert kept is not None and kept.deleted_at is not None
    fresh = _fresh_thread(db, thread)
    assert (fresh.reply_count, fresh.post_count) == (0, 1)
    assert not fresh.hidden


def test_deleting_twice_drops_the_counters_once(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "oops")
    posts.delete_post(db, post=post, thread=thread, by=alice)
    posts.delete_post(db, post=post, thread=thread, by=alice)
    assert _fresh_thread(db, thread).reply_count == 0


def test_nobody_may_delete_someone_elses_post(db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "mine")
    with pytest.raises(Forbidden):
        posts.delete_post(db, post=post, thread=thread, by=bob)


def test_deleting_the_opening_post_hides_the_thread(db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice)
    opening = db.exec(select(Post).where(Post.thread_id == thread.id, Post.opening)).one()
    posts.delete_post(db, post=opening, thread=thread, by=alice)
    assert _fresh_thread(db, thread).hidden
    with pytest.raises(NotFound):
        threads.open_thread(db, thread_id=thread.id, viewer=bob)  # type: ignore[arg-type]
    rows, _pages = threads.circle_threads(db, access=permissions.circle_access(db, bob, circle))
    assert rows == []


def test_a_deleted_post_cannot_be_opened_or_answered(db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "gone soon")
    posts.delete_post(db, post=post, thread=thread, by=alice)
    with pytest.raises(NotFound):
        posts.get_post(db, post_id=post.id, viewer=bob)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        make_reply(db, thread, bob, "answer", reply_to=post)


def test_mentions_notify_the_mentioned_member(db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    make_thread(db, circle, alice, body="What do you think, @Bob?")
    (note,) = db.exec(select(Notification).where(Notification.user_id == bob.id,
                                                 col(Notification.kind).in_(CONVERSATION_KINDS))).all()
    assert note.kind == "mention"
    assert note.actor_id == alice.id


def test_mentions_never_notify_someone_who_cannot_read_the_circle(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice, outsider = make_user(db, "alice"), make_user(db, "outsider")
    add_member(db, circle, alice)
    make_thread(db, circle, alice, body="Hello @outsider")
    assert _kinds_for(db, outsider) == []


def test_mentions_in_an_open_circle_notify_any_signed_in_user(db):
    circle = make_circle(db, "espresso")
    alice, passer = make_user(db, "alice"), make_user(db, "passer")
    add_member(db, circle, alice)
    make_thread(db, circle, alice, body="Hello @passer")
    assert _kinds_for(db, passer) == ["mention"]


def test_mentioning_myself_or_an_unknown_name_notifies_nobody(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    make_thread(db, circle, alice, body="@alice @nobody_here")
    assert _kinds_for(db, alice) == []


def test_a_mentioned_thread_author_gets_one_notification_not_two(db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice)
    make_reply(db, thread, bob, "@alice look")
    assert _kinds_for(db, alice) == ["mention"]


def test_a_thread_page_holds_twenty_posts(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    for number in range(2, 26):
        make_reply(db, thread, alice, f"post {number}")
    access = _access(db, thread, alice)
    first = threads.thread_page(db, thread=_fresh_thread(db, thread), access=access, page=1)
    second = threads.thread_page(db, thread=_fresh_thread(db, thread), access=access, page=2)
    assert [v.post.number for v in first.posts] == list(range(1, 21))
    assert [v.post.number for v in second.posts] == list(range(21, 26))
    assert first.pages == second.pages == 2
    assert threads.page_of_number(20) == 1 and threads.page_of_number(21) == 2


def test_a_page_number_out_of_range_shows_the_nearest_page(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    thread = make_thread(db, circle, alice)
    access = _access(db, thread, alice)
    assert threads.thread_page(db, thread=thread, access=access, page=99).page == 1
    assert threads.thread_page(db, thread=thread, access=access, page=-3).page == 1
