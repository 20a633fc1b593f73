"""A member's own data: the export (page and API) and the account deletion (page and API).

The export holds everything about the member and nothing about anyone else. Deletion erases
the personal data row by row (checked in the database), keeps the posts as "former member" or
erases their text with the counters following, and refuses a wrong password without erasing
anything.
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from app import permissions
from app.middleware import SESSION_COOKIE
from app.models import (
    ApiToken,
    Circle,
    Flag,
    Invite,
    Membership,
    Notification,
    PasswordReset,
    Post,
    PostRevision,
    Pulse,
    Reaction,
    Thread,
    User,
    UserSession,
    utcnow,
)
from app.services import accounts, badges, flags, posts, pulse
from tests.factories import (
    PASSWORD,
    add_member,
    login,
    make_admin,
    make_circle,
    make_invite,
    make_reply,
    make_thread,
    make_user,
    post_form,
)

# Words only one member wrote: easy to look for in exports, pages and the search index.
ALICE_WORDS = "zanzibar"
BOB_WORDS = "kilimanjaro"


@dataclass
class World:
    alice_id: int
    bob_id: int
    circle_id: int
    alice_thread_id: int
    bob_thread_id: int
    alice_reply_id: int
    bob_post_id: int
    token: str
    reset_token: str


def build(session: Session) -> World:
    """Alice (the member) and Bob (someone else), with something of every kind each."""
    admin = make_admin(session)
    alice = make_user(session, "alice", display_name="Alice Liddell")
    bob = make_user(session, "bob", display_name="Bob Builder")
    accounts.update_profile(
        session, user=alice, display_name="Alice Liddell", bio=f"I love {ALICE_WORDS}.", language="fr"
    )
    accounts.update_profile(session, user=bob, display_name="Bob Builder", bio=f"Climbing {BOB_WORDS}.", language=None)
    circle = make_circle(session, "travel", by=admin)
    add_member(session, circle, alice)
    add_member(session, circle, bob)
    alice_thread = make_thread(session, circle, alice, title="Islands", body=f"My trip to {ALICE_WORDS} island.")
    bob_thread = make_thread(session, circle, bob, title="Mountains", body=f"Up {BOB_WORDS} in a week.")
    bob_reply = make_reply(session, alice_thread, bob, f"I never went to {BOB_WORDS}-island.")
    alice_reply = make_reply(session, bob_thread, alice, f"Bring {ALICE_WORDS} tea.")
    access = permissions.circle_access(session, alice, circle)
    posts.edit_post(
        session,
        post=alice_reply,
        thread=bob_thread,
        access=access,
        by=alice,
        body=f"Bring {ALICE_WORDS} tea and a coat.",
    )
    posts.toggle_reaction(session, post=bob_reply, access=access, user=alice, kind="thanks")
    bob_access = permissions.circle_access(session, bob, circle)
    posts.toggle_reaction(session, post=alice_reply, access=bob_access, user=bob, kind="like")
    flags.flag_post(
        session,
        post=bob_reply,
        thread=alice_thread,
        access=access,
        user=alice,
        reason="other",
        text=f"Alice's private flag note {ALICE_WORDS}",
    )
    badge = badges.create_badge(session, by=admin, name="Explorer", description="Went far.", tier="gold", icon="leaf")
    badges.award_manual(session, badge=badge, user=alice, by=admin, reason="The island trip.", circle=None)
    for user, comment in ((alice, f"Alice's pulse comment {ALICE_WORDS}"), (bob, f"Bob's pulse {BOB_WORDS}")):
        user.created_at = utcnow() - timedelta(days=40)
        session.add(user)
        session.commit()
        pulse.answer(session, user=user, score=8, comment=comment)
    make_invite(session, alice, circle)
    token = accounts.create_api_token(session, user=alice, name="my script")
    accounts.create_api_token(session, user=bob, name="bob's script")
    reset_token = accounts.create_reset_token(session, user=alice)
    accounts.start_session(session, user=bob, user_agent="Bob's browser", ip="203.0.113.9")
    return World(
        alice.id,
        bob.id,
        circle.id,
        alice_thread.id,
        bob_thread.id,
        alice_reply.id,  # type: ignore[arg-type]
        bob_reply.id,
        token,
        reset_token,
    )  # type: ignore[arg-type]


def counts_of(session: Session, user_id: int) -> dict[str, int]:
    def count(model: Any, column: Any) -> int:
        return session.exec(select(func.count()).select_from(model).where(column == user_id)).one()

    return {
        "sessions": count(UserSession, UserSession.user_id),
        "api tokens": count(ApiToken, ApiToken.user_id),
        "password resets": count(PasswordReset, PasswordReset.user_id),
        "notifications": count(Notification, Notification.user_id),
        "posts": count(Post, Post.author_id),
        "reactions": count(Reaction, Reaction.user_id),
        "pulse answers": count(Pulse, Pulse.user_id),
    }


def fresh(session: Session, model: Any, key: int) -> Any:
    session.expire_all()
    return session.get(model, key)


# Export ------------------------------------------------------------------------------------


def check_export(data: dict[str, Any], world: World, session: Session) -> None:
    assert data["format"] == "cercle-personal-data"
    assert data["account"]["username"] == "alice"
    assert data["account"]["email"] == "alice@example.com"
    assert data["account"]["display_name"] == "Alice Liddell"
    assert ALICE_WORDS in data["account"]["bio"]
    bodies = {p["body"] for p in data["posts"]}
    assert bodies == {f"My trip to {ALICE_WORDS} island.", f"Bring {ALICE_WORDS} tea and a coat."}
    assert [m["circle"] for m in data["memberships"]] == ["travel"]
    assert data["memberships"][0]["state"] == "active"
    assert [(r["post_id"], r["kind"]) for r in data["reactions"]] == [(world.bob_post_id, "thanks")]
    assert {b["badge"] for b in data["badges"]} == {"explorer", "first-post", "first-reply", "welcomer"}
    assert [b["reason"] for b in data["badges"] if b["badge"] == "explorer"] == ["The island trip."]
    assert [(p["score"], p["comment"]) for p in data["pulse_answers"]] == [(8, f"Alice's pulse comment {ALICE_WORDS}")]
    assert len(data["flags"]) == 1 and ALICE_WORDS in data["flags"][0]["text"]
    assert len(data["invites_created"]) == 1
    assert data["notifications"], "Bob's reply to her thread notified her"
    # Nothing of Bob: his e-mail, his words, his profile, his sessions, his answers.
    raw = json.dumps(data, ensure_ascii=False)
    for foreign in (
        "bob@example.com",
        BOB_WORDS,
        "Bob Builder",
        "Bob's browser",
        "203.0.113.9",
        "bob's script",
        "admin@example.com",
    ):
        assert foreign not in raw, foreign
    # Nor secrets of her own: no password hash, no token (hashed or not).
    alice = session.get(User, world.alice_id)
    assert alice is not None and alice.password_hash
    assert alice.password_hash not in raw and "argon2" not in raw
    assert world.token not in raw and world.reset_token not in raw
    for token_hash in session.exec(select(ApiToken.token_hash)).all():
        assert token_hash not in raw


def test_export_page_gives_my_data_and_nothing_of_others(client, db):
    world = build(db)
    login(client, "alice")
    response = client.get("/settings/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == 'attachment; filename="cercle-alice-data.json"'
    check_export(response.json(), world, db)
    print(f"\nexport: {len(response.content):,} bytes, sections {sorted(response.json())}")


def test_export_api_gives_my_data_and_nothing_of_others(client, db):
    world = build(db)
    response = client.get("/api/v1/me/export", headers={"Authorization": f"Bearer {world.token}"})
    assert response.status_code == 200
    check_export(response.json(), world, db)


def test_export_needs_a_signed_in_member(client, db):
    build(db)
    response = client.get("/settings/export", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/api/v1/me/export").status_code == 401


def test_the_settings_page_has_one_delete_form_and_a_plain_title(client, db):
    build(db)
    login(client, "alice")
    page = client.get("/settings").text
    assert page.count('action="/settings/delete"') == 1
    assert page.count('href="/settings/export"') == 1
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "csrf" not in title


# Deletion ----------------------------------------------------------------------------------


def delete_by_form(
    client: TestClient, world: World, *, erase: bool, password: str = PASSWORD, confirm: str = "DELETE"
) -> Any:
    if SESSION_COOKIE not in client.cookies:
        login(client, "alice")
    return post_form(
        client,
        "/settings/delete",
        {"password": password, "confirm": confirm, "posts": "erase" if erase else "keep"},
        csrf_page="/settings",
    )


def delete_by_api(client: TestClient, world: World, *, erase: bool, password: str = PASSWORD) -> Any:
    return client.post(
        "/api/v1/me/delete",
        json={"password": password, "erase_posts": erase},
        headers={"Authorization": f"Bearer {world.token}"},
    )


@pytest.mark.parametrize("erase", [False, True], ids=["keep-posts", "erase-posts"])
@pytest.mark.parametrize("channel", ["page", "api"])
def test_deleting_the_account_erases_the_personal_data(client, make_client, db, channel, erase):
    world = build(db)
    bob_before = counts_of(db, world.bob_id)
    threads_before = {t.id: (t.post_count, t.reply_count, t.last_number) for t in db.exec(select(Thread)).all()}
    members_before = fresh(db, Circle, world.circle_id).member_count
    db.commit()  # on SQLite an open transaction of the test would hold the write lock
    browser = make_client()
    login(browser, "alice")  # another signed-in browser of hers: it must be signed out too
    old_cookie = browser.cookies.get(SESSION_COOKIE)

    if channel == "page":
        response = delete_by_form(client, world, erase=erase)
        assert response.status_code == 303 and response.headers["location"] == "/"
        assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    else:
        response = delete_by_api(client, world, erase=erase)
        assert response.status_code == 204, response.text

    alice = fresh(db, User, world.alice_id)
    # The account: a placeholder name, no personal field left.
    assert alice.username == f"former_{world.alice_id}"
    assert (alice.email, alice.display_name, alice.bio_md, alice.bio_html, alice.password_hash, alice.language) == (
        None,
        "",
        "",
        "",
        None,
        None,
    )
    assert alice.deleted_at is not None
    # The rows: sessions, tokens, resets and notifications gone; the pulse score kept without its comment.
    after = counts_of(db, world.alice_id)
    assert after["sessions"] == after["api tokens"] == after["password resets"] == after["notifications"] == 0
    assert db.exec(select(Pulse.comment).where(Pulse.user_id == world.alice_id)).all() == [""]
    assert db.exec(select(Flag.text).where(Flag.user_id == world.alice_id)).all() == [""]
    assert all(i.revoked_at is not None for i in db.exec(select(Invite).where(Invite.created_by_id == world.alice_id)))
    membership = db.exec(select(Membership).where(Membership.user_id == world.alice_id)).one()
    assert membership.state == "left"
    assert fresh(db, Circle, world.circle_id).member_count == members_before - 1
    # Nobody else lost anything.
    assert counts_of(db, world.bob_id) == bob_before
    bob = fresh(db, User, world.bob_id)
    assert (bob.email, bob.display_name) == ("bob@example.com", "Bob Builder")
    db.commit()

    # Her posts: kept and signed "former member", or their text erased with the counters following.
    viewer = make_client()
    login(viewer, "bob")
    page = viewer.get(f"/t/{world.bob_thread_id}")
    assert page.status_code == 200
    assert "Alice Liddell" not in page.text and "/u/alice" not in page.text
    reply = fresh(db, Post, world.alice_reply_id)
    threads = {t.id: t for t in db.exec(select(Thread)).all()}
    if erase:
        assert ALICE_WORDS not in page.text
        assert (reply.body_md, reply.body_html) == ("", "") and reply.deleted_at is not None
        assert (
            db.exec(
                select(func.count()).select_from(PostRevision).where(col(PostRevision.post_id) == world.alice_reply_id)
            ).one()
            == 0
        )
        assert threads[world.alice_thread_id].hidden  # her opening post is gone
        post_count, reply_count, last_number = threads_before[world.bob_thread_id]
        assert (
            threads[world.bob_thread_id].post_count,
            threads[world.bob_thread_id].reply_count,
            threads[world.bob_thread_id].last_number,
        ) == (post_count - 1, reply_count - 1, last_number)
        assert index_mentions(db, ALICE_WORDS) == 0
        assert viewer.get("/api/v1/search", params={"q": ALICE_WORDS}).json() == []
    else:
        assert "former member" in page.text
        assert f"Bring {ALICE_WORDS} tea and a coat." in page.text
        assert reply.deleted_at is None and ALICE_WORDS in reply.body_md
        assert {k: (t.post_count, t.reply_count, t.last_number) for k, t in threads.items()} == threads_before
        hits = viewer.get("/api/v1/search", params={"q": ALICE_WORDS}).json()
        assert hits and all(hit["author"] is None for hit in hits)
    # Recount: every thread's counters equal its visible rows.
    for thread in threads.values():
        visible = db.exec(
            select(func.count())
            .select_from(Post)
            .where(Post.thread_id == thread.id, col(Post.deleted_at).is_(None), col(Post.hidden).is_(False))
        ).one()
        assert thread.post_count == visible
    db.commit()

    # The deleted account cannot sign in, by any door.
    refused = post_form(make_client(), "/login", {"username": "alice", "password": PASSWORD}, csrf_page="/login")
    assert refused.status_code == 422 and "Wrong username or password." in refused.text
    refused = post_form(
        make_client(), "/login", {"username": "alice@example.com", "password": PASSWORD}, csrf_page="/login"
    )
    assert refused.status_code == 422
    assert client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD}).status_code == 422
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.token}"}).status_code == 401
    assert browser.get("/settings", follow_redirects=False).status_code == 303
    replay = make_client()
    assert old_cookie
    replay.cookies.set(SESSION_COOKIE, old_cookie)
    assert replay.get("/api/v1/me").status_code == 401
    assert client.get(f"/reset/{world.reset_token}").status_code == 404
    print(f"\ndeleted by {channel}, posts {'erased' if erase else 'kept'}: personal rows {after}")


def index_mentions(session: Session, word: str) -> int:
    """Rows of the search index that still hold `word`."""
    if session.get_bind().dialect.name == "sqlite":
        return session.exec(
            text("SELECT count(*) FROM post_fts WHERE post_fts MATCH :q"), params={"q": f'"{word}"'}
        ).one()[0]  # type: ignore[call-overload]
    return session.exec(
        text("SELECT count(*) FROM post WHERE search_vector::text LIKE :q"),  # type: ignore[call-overload]
        params={"q": f"%{word}%"},
    ).one()[0]


def snapshot(session: Session, world: World) -> dict[str, Any]:
    session.expire_all()
    alice = session.get(User, world.alice_id)
    assert alice is not None
    return {
        "account": (
            alice.username,
            alice.email,
            alice.display_name,
            alice.bio_md,
            alice.password_hash,
            alice.deleted_at,
        ),
        "rows": counts_of(session, world.alice_id),
        "pulse": session.exec(select(Pulse.comment).where(Pulse.user_id == world.alice_id)).all(),
        "membership": session.exec(select(Membership.state).where(Membership.user_id == world.alice_id)).all(),
        "posts": session.exec(select(Post.body_md).where(Post.author_id == world.alice_id)).all(),
        "members": session.get(Circle, world.circle_id).member_count,  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("channel", ["page", "api"])
def test_a_wrong_password_erases_nothing(client, db, channel):
    world = build(db)
    if channel == "page":
        login(client, "alice")
    before = snapshot(db, world)
    db.commit()
    if channel == "page":
        response = delete_by_form(client, world, erase=True, password="not my password at all")
        assert response.status_code == 422
        assert "Votre mot de passe est incorrect." in response.text  # Alice chose French
        missing = delete_by_form(client, world, erase=True, confirm="delete")
        assert missing.status_code == 422 and "Tapez DELETE pour confirmer." in missing.text
    else:
        response = delete_by_api(client, world, erase=True, password="not my password at all")
        assert response.status_code == 422
        assert response.json()["detail"] == "Your password is not right."
    assert snapshot(db, world) == before
    db.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.token}"}).json()["username"] == "alice"
