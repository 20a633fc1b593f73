"""Notifications: replies, mentions, the list, read marks, the count, and what stops being shown."""

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.models import Circle, Notification, Post, Thread, User
from app.services import memberships, notifications, posts
from tests.factories import add_member, login, make_circle, make_reply, make_thread, make_user, post_form

CONVERSATION_KINDS = ("reply", "mention", "request_approved", "request_declined", "invite_accepted",
                      "join_request")


def _mine(db: Session, user: User) -> list[Notification]:
    """`user`'s notifications as listed, limited to this issue's kinds (badges add their own)."""
    db.expire_all()  # the app wrote through its own sessions
    rows = notifications.list_for(db, viewer=user)
    db.commit()
    return [n for n, _actor, _circle, _thread in rows if n.kind in CONVERSATION_KINDS]


def _stored(db: Session, user: User, kind: str) -> list[Notification]:
    return list(db.exec(select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
                        .order_by(col(Notification.id))).all())


def _setup(db: Session, visibility: str = "open") -> tuple[User, User, Thread]:
    circle = make_circle(db, "espresso", visibility=visibility)
    alice, bob = make_user(db, "alice", display_name="Alice A."), make_user(db, "bob", display_name="Bob B.")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    return alice, bob, make_thread(db, circle, alice, title="Grinders")


def _opening(db: Session, thread: Thread) -> Post:
    return db.exec(select(Post).where(Post.thread_id == thread.id, Post.opening)).one()


def _circle(db: Session, thread: Thread) -> Circle:
    circle = db.get(Circle, thread.circle_id)
    assert circle is not None
    return circle


def _only_conversations(db: Session) -> None:
    """Other features (badges…) notify too; these tests count conversation notifications only.

    Also ends the test session's transaction, so SQLite is free for the app's writes.
    """
    db.exec(delete(Notification).where(col(Notification.kind).not_in(CONVERSATION_KINDS)))  # type: ignore[call-overload]
    db.commit()


def _unread_count(db: Session, user: User) -> int:
    _only_conversations(db)
    count = notifications.unread_count(db, viewer=user)
    db.commit()
    return count


def test_a_reply_to_my_thread_notifies_me(db):
    alice, bob, thread = _setup(db)
    reply = make_reply(db, thread, bob, "Mine is manual.")
    (note,) = _stored(db, alice, "reply")
    assert (note.actor_id, note.thread_id, note.post_id) == (bob.id, thread.id, reply.id)
    assert note.circle_id == thread.circle_id
    assert note.read_at is None


def test_my_own_reply_in_my_thread_notifies_nobody(db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, alice, "bump")
    assert _stored(db, alice, "reply") == []
    assert _stored(db, bob, "reply") == []


def test_a_reply_to_my_post_notifies_me_as_well_as_the_thread_author(db):
    alice, bob, thread = _setup(db)
    carol = make_user(db, "carol")
    add_member(db, _circle(db, thread), carol)
    bobs = make_reply(db, thread, bob, "Mine is manual.")
    carols = make_reply(db, thread, carol, "Which one?", reply_to=bobs)
    assert [n.post_id for n in _stored(db, bob, "reply")] == [carols.id]
    assert [n.post_id for n in _stored(db, alice, "reply")] == [bobs.id, carols.id]


def test_a_mention_notifies_the_mentioned_member(db):
    alice, bob, thread = _setup(db)
    carol = make_user(db, "carol")
    mention = make_reply(db, thread, bob, "@carol knows grinders")
    (note,) = _stored(db, carol, "mention")
    assert (note.actor_id, note.post_id) == (bob.id, mention.id)


def test_notifications_list_newest_first(db):
    alice, bob, thread = _setup(db)
    first = make_reply(db, thread, bob, "one")
    second = make_reply(db, thread, bob, "two @alice")
    assert [(n.kind, n.post_id) for n in _mine(db, alice)] == [("mention", second.id), ("reply", first.id)]


def test_marking_one_notification_read_leaves_the_others_unread(db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    make_reply(db, thread, bob, "two")
    newest, oldest = _mine(db, alice)
    notifications.mark_read(db, viewer=alice, notification_id=newest.id)
    assert [n.read_at is not None for n in _mine(db, alice)] == [True, False]
    assert _unread_count(db, alice) == 1


def test_marking_all_read_reads_every_notification(db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    make_reply(db, thread, bob, "two")
    notifications.mark_read(db, viewer=alice)
    assert all(n.read_at is not None for n in _mine(db, alice))
    assert _unread_count(db, alice) == 0


def test_nobody_can_mark_someone_elses_notification_read(db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    (note,) = _mine(db, alice)
    notifications.mark_read(db, viewer=bob, notification_id=note.id)
    assert _mine(db, alice)[0].read_at is None


def test_reading_the_thread_reads_its_notifications(db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    db.refresh(thread)
    db.refresh(alice)
    db.commit()
    posts.mark_read(viewer=alice, thread=thread, upto=thread.last_number, previous=None)
    assert _unread_count(db, alice) == 0


def test_a_notification_about_a_secret_circle_i_left_is_no_longer_listed(db):
    alice, bob, thread = _setup(db, visibility="secret")
    make_reply(db, thread, bob, "@alice see this")
    assert [n.kind for n in _mine(db, alice)] == ["mention"]
    memberships.leave(db, circle=_circle(db, thread), user=alice)
    assert _mine(db, alice) == []
    assert _unread_count(db, alice) == 0


def test_a_notification_about_an_open_circle_i_left_stays_listed(db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    memberships.leave(db, circle=_circle(db, thread), user=alice)
    assert len(_mine(db, alice)) == 1


def test_a_notification_about_a_deleted_post_is_no_longer_listed(db):
    alice, bob, thread = _setup(db)
    reply = make_reply(db, thread, bob, "one")
    posts.delete_post(db, post=reply, thread=thread, by=bob)
    assert _mine(db, alice) == []


def test_a_notification_about_a_hidden_thread_is_no_longer_listed(db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, alice, "@bob here")
    assert len(_mine(db, bob)) == 1
    posts.delete_post(db, post=_opening(db, thread), thread=thread, by=alice)
    assert _mine(db, bob) == []


# Pages -------------------------------------------------------------------------------------


def test_the_notifications_page_lists_replies_and_mentions(client, db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    make_reply(db, thread, bob, "two @alice")
    _only_conversations(db)
    login(client, alice)
    page = client.get("/notifications")
    assert page.status_code == 200
    assert "Bob B. replied in" in page.text
    assert "Bob B. mentioned you in" in page.text
    assert page.text.count(">Grinders</a>") == 2


def test_the_notifications_page_needs_a_signed_in_person(client, db):
    response = client.get("/notifications", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_the_count_fragment_shows_the_unread_number(client, db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    make_reply(db, thread, bob, "two")
    _only_conversations(db)
    login(client, alice)
    fragment = client.get("/notifications/count", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text == '<span class="badge-count" title="2 unread">2</span>'


def test_the_count_fragment_is_empty_without_unread_notifications(client, db):
    alice = make_user(db, "alice")
    _only_conversations(db)
    login(client, alice)
    assert client.get("/notifications/count").text == ""


def test_the_count_fragment_is_empty_for_visitors(client, db):
    assert client.get("/notifications/count").text == ""


def test_marking_one_read_on_the_page(client, db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    make_reply(db, thread, bob, "two")
    newest, oldest = _mine(db, alice)
    _only_conversations(db)
    login(client, alice)
    response = post_form(client, f"/notifications/{newest.id}/read")
    assert response.status_code == 303
    assert response.headers["location"] == "/notifications"
    assert [n.read_at is not None for n in _mine(db, alice)] == [True, False]
    assert ">1</span>" in client.get("/notifications/count").text


def test_marking_all_read_on_the_page(client, db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    make_reply(db, thread, bob, "two")
    _only_conversations(db)
    login(client, alice)
    response = post_form(client, "/notifications/read")
    assert response.status_code == 303
    assert all(n.read_at is not None for n in _mine(db, alice))
    assert client.get("/notifications/count").text == ""
    assert "Mark as read</button>" not in client.get("/notifications").text


def test_marking_read_without_the_csrf_token_is_refused(client, db):
    alice, bob, thread = _setup(db)
    make_reply(db, thread, bob, "one")
    _only_conversations(db)
    login(client, alice)
    response = client.post("/notifications/read", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert _unread_count(db, alice) == 1
