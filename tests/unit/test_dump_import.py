"""Importing a dump (DUMP-FORMAT.md): every import rule, and what an import leaves behind.

A bad line stops the import with `LINE N: what is wrong` and the database stays empty.
"""

import copy
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, col, select

from app.dump import DumpError, import_dump
from app.dump.fastmd import fast_html
from app.models import (
    AmbassadorGrant,
    Badge,
    BadgeAward,
    Circle,
    Invite,
    Membership,
    Post,
    Pulse,
    Reaction,
    Thread,
    User,
    Visit,
)
from app.security import hash_password, verify_password
from app.services import search, site
from app.text import render_markdown
from tests.factories import make_reply, make_user

HEADER = {"type": "cercle-dump", "version": 1}


def community() -> list[dict[str, Any]]:
    """A small valid community; record i is on line i + 2 (the header is line 1)."""
    return [
        {"type": "site", "name": "Kayon", "description": "Coffee people", "registration": "invite"},
        {
            "type": "user",
            "id": "u-ann",
            "username": "ann",
            "email": "Ann@Example.com",
            "display_name": "Ann",
            "created_at": "2026-01-01T09:00:00Z",
            "is_admin": True,
            "password_hash": hash_password("ann password 1"),
        },
        {
            "type": "user",
            "id": "u-bob",
            "username": "bob",
            "email": "bob@example.com",
            "created_at": "2026-01-02T09:00:00.250Z",
            "is_admin": False,
            "bio": "I roast **at home**.",
            "invited_by": "u-ann",
            "invite": "i-site",
        },
        {
            "type": "user",
            "id": 7,
            "username": "deleted_7",
            "email": None,
            "created_at": "2026-01-03T09:00:00Z",
            "is_admin": False,
            "deleted_at": "2026-02-01T00:00:00Z",
        },
        {
            "type": "circle",
            "id": "c-espresso",
            "slug": "espresso",
            "name": "Espresso Lab",
            "description": "Dial in *your* shots",
            "visibility": "closed",
            "created_at": "2026-01-01T10:00:00Z",
            "created_by": "u-ann",
        },
        {"type": "invite", "id": "i-site", "created_by": "u-ann", "created_at": "2026-01-01T11:00:00Z", "max_uses": 5},
        {
            "type": "invite",
            "id": "i-circle",
            "circle": "c-espresso",
            "created_by": "u-ann",
            "created_at": "2026-01-02T10:00:00Z",
            "expires_at": "2026-01-09T10:00:00Z",
        },
        {
            "type": "membership",
            "user": "u-ann",
            "circle": "c-espresso",
            "role": "host",
            "joined_at": "2026-01-01T10:00:00Z",
        },
        {
            "type": "membership",
            "user": "u-bob",
            "circle": "c-espresso",
            "role": "member",
            "joined_at": "2026-01-02T11:00:00Z",
            "invite": "i-circle",
        },
        {
            "type": "membership",
            "user": "7",
            "circle": "c-espresso",
            "role": "member",
            "joined_at": "2026-01-03T11:00:00Z",
            "left_at": "2026-01-20T11:00:00Z",
        },
        {
            "type": "thread",
            "id": "t1",
            "circle": "c-espresso",
            "author": "u-bob",
            "title": "Which grinder?",
            "created_at": "2026-01-05T08:00:00Z",
            "pinned": True,
        },
        {
            "type": "thread",
            "id": "t2",
            "circle": "c-espresso",
            "author": "u-ann",
            "title": "Welcome",
            "created_at": "2026-01-06T08:00:00Z",
        },
        {
            "type": "post",
            "id": "p1",
            "thread": "t1",
            "author": "u-bob",
            "body": "Flat or conical burrs?",
            "created_at": "2026-01-05T08:00:00Z",
            "opening": True,
        },
        # Out of time order in the file: numbers follow created_at.
        {
            "type": "post",
            "id": "p3",
            "thread": "t1",
            "author": "u-bob",
            "body": "Thanks @ann!",
            "created_at": "2026-01-05T12:00:00Z",
            "opening": False,
            "reply_to": "p1",
        },
        {
            "type": "post",
            "id": "p2",
            "thread": "t1",
            "author": "u-ann",
            "body": "Conical, **always**.",
            "created_at": "2026-01-05T09:00:00Z",
            "opening": False,
            "edited_at": "2026-01-05T09:30:00Z",
        },
        {
            "type": "post",
            "id": "p4",
            "thread": "t1",
            "author": 7,
            "body": "Spam",
            "hidden": True,
            "created_at": "2026-01-05T13:00:00Z",
            "opening": False,
        },
        {
            "type": "post",
            "id": "p5",
            "thread": "t2",
            "author": "u-ann",
            "body": "Say hello to everyone",
            "created_at": "2026-01-06T08:00:00Z",
            "opening": True,
        },
        {"type": "reaction", "post": "p2", "user": "u-bob", "kind": "helpful", "created_at": "2026-01-05T10:00:00Z"},
        {"type": "reaction", "post": "p2", "user": "u-bob", "kind": "like", "created_at": "2026-01-05T10:00:00Z"},
        {"type": "visit", "user": "u-bob", "day": "2026-01-05"},
        {"type": "visit", "user": "u-bob", "day": "2026-01-05", "circle": "c-espresso"},
        {
            "type": "badge",
            "id": "b-first",
            "slug": "first-post",
            "name": "First Post",
            "description": "Wrote a first post.",
            "tier": "bronze",
            "automatic": True,
        },
        {
            "type": "badge",
            "id": "b-gold",
            "slug": "founder",
            "name": "Founder",
            "description": "Was there first.",
            "tier": "gold",
            "automatic": False,
        },
        {"type": "badge_award", "badge": "b-first", "user": "u-bob", "created_at": "2026-01-05T08:00:01Z"},
        {
            "type": "badge_award",
            "badge": "b-gold",
            "user": "u-bob",
            "awarded_by": "u-ann",
            "reason": "Thank you",
            "created_at": "2026-01-07T08:00:00Z",
        },
        {"type": "badge_award", "badge": "b-first", "user": "u-ann", "created_at": "2026-01-06T08:00:01Z"},
        {
            "type": "ambassador_grant",
            "user": "u-bob",
            "granted_by": "u-ann",
            "reason": "Helpful",
            "granted_at": "2026-01-08T08:00:00Z",
            "revoked_at": "2026-01-09T08:00:00Z",
            "revoked_by": "u-ann",
        },
        {"type": "ambassador_grant", "user": "u-bob", "granted_by": "u-ann", "granted_at": "2026-01-10T08:00:00Z"},
        {"type": "pulse", "user": "u-bob", "score": 9, "comment": "Lovely", "created_at": "2026-01-11T08:00:00Z"},
    ]


def lines(records: list[dict[str, Any]], header: dict[str, Any] | None = HEADER) -> list[str]:
    return [json.dumps(record) + "\n" for record in ([header] if header else []) + records]


def line_of(records: list[dict[str, Any]], **match: Any) -> int:
    """The line number of the first record with these fields."""
    for index, record in enumerate(records):
        if all(record.get(key) == value for key, value in match.items()):
            return index + 2
    raise AssertionError(f"no record {match}")


def table_counts(db: Session) -> dict[str, int]:
    db.rollback()
    return {
        table.name: db.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar_one()
        for table in SQLModel.metadata.sorted_tables
        if table.name not in ("site_setting", "rate_event")
    }


def assert_refused(db: Session, records: list[dict[str, Any]], line: int, words: str, **options: Any) -> None:
    with pytest.raises(DumpError) as caught:
        import_dump(db, lines(records), **options)
    message = str(caught.value)
    assert message.startswith(f"LINE {line}: "), message
    assert words in message, message
    assert set(table_counts(db).values()) == {0}, "nothing may be written"


def changed(index_match: dict[str, Any], **changes: Any) -> tuple[list[dict[str, Any]], int]:
    """The community with one record changed (a None value removes the field), and its line."""
    records = copy.deepcopy(community())
    line = line_of(records, **index_match)
    record = records[line - 2]
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return records, line


# --- a good import ------------------------------------------------------------------------


def test_a_valid_dump_imports_every_record(db):
    counts = import_dump(db, lines(community()))
    assert counts == {
        "site": 1,
        "user": 3,
        "circle": 1,
        "invite": 2,
        "membership": 3,
        "thread": 2,
        "post": 5,
        "reaction": 2,
        "visit": 2,
        "badge": 2,
        "badge_award": 3,
        "ambassador_grant": 2,
        "pulse": 1,
    }
    assert table_counts(db)["post"] == 5


def test_imported_records_get_new_ids_and_keep_their_references(db):
    import_dump(db, lines(community()))
    bob = db.exec(select(User).where(User.username == "bob")).one()
    ann = db.exec(select(User).where(User.username == "ann")).one()
    assert bob.invited_by_id == ann.id
    invite = db.get(Invite, bob.invite_id)
    assert invite is not None and invite.circle_id is None and invite.max_uses == 5 and invite.uses == 1
    assert len(invite.code) >= 32
    membership = db.exec(select(Membership).where(Membership.user_id == bob.id)).one()
    circle_invite = db.get(Invite, membership.invite_id)
    assert circle_invite is not None and circle_invite.uses == 1 and membership.invited_by_id == ann.id
    assert membership.state == "active" and membership.requested_at == membership.joined_at


def test_users_keep_their_password_hash_or_get_none(db):
    import_dump(db, lines(community()))
    ann = db.exec(select(User).where(User.username == "ann")).one()
    bob = db.exec(select(User).where(User.username == "bob")).one()
    assert verify_password("ann password 1", ann.password_hash)[0]
    assert bob.password_hash is None
    assert ann.email == "ann@example.com" and ann.is_admin


def test_a_deleted_account_keeps_its_placeholder_and_has_no_email(db):
    import_dump(db, lines(community()))
    gone = db.exec(select(User).where(User.username == "deleted_7")).one()
    assert gone.email is None and gone.is_deleted
    member = db.exec(select(Membership).where(Membership.user_id == gone.id)).one()
    assert member.state == "left" and member.left_at is not None


def test_counters_and_post_numbers_are_what_the_forum_would_have(db):
    import_dump(db, lines(community()))
    thread = db.exec(select(Thread).where(Thread.title == "Which grinder?")).one()
    posts = db.exec(select(Post).where(Post.thread_id == thread.id).order_by(col(Post.number))).all()
    assert [p.body_md for p in posts] == ["Flat or conical burrs?", "Conical, **always**.", "Thanks @ann!", "Spam"]
    # The hidden post counts nowhere but keeps its number.
    assert (thread.post_count, thread.reply_count, thread.last_number) == (3, 2, 4)
    assert thread.last_post_at.isoformat() == "2026-01-05T13:00:00+00:00"
    assert thread.pinned and not thread.locked
    assert posts[2].reply_to_id == posts[0].id
    circle = db.exec(select(Circle)).one()
    assert circle.member_count == 2


def test_markdown_is_rendered_as_the_forum_renders_it(db):
    import_dump(db, lines(community()))
    for post in db.exec(select(Post)).all():
        assert post.body_html == render_markdown(post.body_md)
    bob = db.exec(select(User).where(User.username == "bob")).one()
    assert bob.bio_html == render_markdown("I roast **at home**.")
    circle = db.exec(select(Circle)).one()
    assert circle.description_html == "<p>Dial in <em>your</em> shots</p>\n"


def test_timestamps_are_utc_with_their_fraction(db):
    import_dump(db, lines(community()))
    bob = db.exec(select(User).where(User.username == "bob")).one()
    assert bob.created_at.isoformat() == "2026-01-02T09:00:00.250000+00:00"


def test_imported_posts_and_titles_are_searchable_and_new_posts_too(db):
    import_dump(db, lines(community()))
    ann = db.exec(select(User).where(User.username == "ann")).one()
    assert {hit.post.body_md for hit in search.search(db, viewer=ann, q="conical")} == {
        "Flat or conical burrs?",
        "Conical, **always**.",
    }
    assert [hit.post.body_md for hit in search.search(db, viewer=ann, q="grinder")] == ["Flat or conical burrs?"]
    # The search trigger is back: a reply written after the import is found.
    thread = db.exec(select(Thread).where(Thread.title == "Welcome")).one()
    make_reply(db, thread, ann, body="Espresso tamper recommendations")
    assert len(search.search(db, viewer=ann, q="tamper")) == 1


def test_the_search_index_matches_what_the_triggers_compute(db):
    import_dump(db, lines(community()))
    if db.get_bind().dialect.name == "postgresql":
        before = db.execute(text("SELECT id, search_vector::text FROM post ORDER BY id")).all()
        db.execute(text("UPDATE post SET body_md = body_md"))  # the trigger recomputes every vector
        after = db.execute(text("SELECT id, search_vector::text FROM post ORDER BY id")).all()
    else:
        before = db.execute(text("SELECT rowid, title, body FROM post_fts ORDER BY rowid")).all()
        db.execute(text("DELETE FROM post_fts"))
        db.execute(text("INSERT INTO post_fts(rowid, title, body) SELECT id, '', '' FROM post"))
        db.execute(text("UPDATE thread SET title = title || ''"))  # the title trigger
        db.execute(text("UPDATE post SET body_md = body_md || ''"))  # the body trigger
        after = db.execute(text("SELECT rowid, title, body FROM post_fts ORDER BY rowid")).all()
    db.rollback()
    assert before == after and len(before) == 5


def test_recognition_is_denormalised_on_the_user(db):
    import_dump(db, lines(community()))
    bob = db.exec(select(User).where(User.username == "bob")).one()
    ann = db.exec(select(User).where(User.username == "ann")).one()
    gold = db.exec(select(Badge).where(Badge.slug == "founder")).one()
    first = db.exec(select(Badge).where(Badge.slug == "first-post")).one()
    assert bob.best_badge_id == gold.id and ann.best_badge_id == first.id
    assert bob.ambassador_since is not None and bob.ambassador_since.isoformat() == "2026-01-10T08:00:00+00:00"
    assert ann.ambassador_since is None
    assert first.icon != "" and first.automatic and not gold.automatic
    grants = db.exec(select(AmbassadorGrant).order_by(col(AmbassadorGrant.id))).all()
    assert grants[0].revoked_by_id == ann.id and grants[1].revoked_at is None
    assert len(db.exec(select(BadgeAward)).all()) == 3
    assert db.exec(select(Pulse)).one().score == 9


def test_visits_keep_their_scope(db):
    import_dump(db, lines(community()))
    visits = db.exec(select(Visit).order_by(col(Visit.id))).all()
    circle = db.exec(select(Circle)).one()
    assert [(v.circle_id, v.scope) for v in visits] == [(None, 0), (circle.id, circle.id)]
    assert len(db.exec(select(Reaction)).all()) == 2


def test_the_site_record_sets_the_site_settings(db):
    import_dump(db, lines(community()))
    config = site.load(db)
    assert (config.name, config.description, config.registration) == ("Kayon", "Coffee people", "invite")


def test_the_forum_keeps_working_after_an_import(db):
    import_dump(db, lines(community()))
    newcomer = make_user(db, "newcomer")
    assert newcomer.id == 4  # ids go on after the imported ones
    thread = db.exec(select(Thread).where(Thread.title == "Which grinder?")).one()
    ann = db.exec(select(User).where(User.username == "ann")).one()
    reply = make_reply(db, thread, ann, body="One more")
    assert reply.number == 5


def test_a_dump_parsed_in_a_second_process_imports_the_same(db):
    counts = import_dump(db, lines(community()), parallel=True)
    assert counts["post"] == 5
    thread = db.exec(select(Thread).where(Thread.title == "Which grinder?")).one()
    assert (thread.post_count, thread.reply_count, thread.last_number) == (3, 2, 4)


def test_a_bad_line_found_in_a_second_process_stops_the_import(db):
    records, line = changed({"id": "p2"}, thread="t-missing")
    assert_refused(db, records, line, "thread: unknown thread 't-missing'", parallel=True)


def test_plain_text_is_rendered_without_the_markdown_parser_and_identically():
    for body in ["Hello @ann, thanks!\n\nSecond paragraph.", "Une ligne\navec accent é ☕", "100% (sure)"]:
        assert fast_html(body) == render_markdown(body)
    for body in ["**bold**", "- item", "1. first", "a_b", "line  \nbreak", "!@ann"]:
        assert fast_html(body) is None


# --- the import rules ---------------------------------------------------------------------


def test_an_import_into_a_database_that_is_not_empty_is_refused_and_writes_nothing(db):
    make_user(db, "already")
    with pytest.raises(DumpError, match="not empty"):
        import_dump(db, lines(community()))
    counts = table_counts(db)
    assert counts["user"] == 1 and counts["post"] == 0


def test_the_first_line_must_be_the_header(db):
    with pytest.raises(DumpError, match=r"^LINE 1: not a Cercle dump"):
        import_dump(db, lines(community(), header=None))
    with pytest.raises(DumpError, match=r"^LINE 1: unsupported dump version 2"):
        import_dump(db, lines(community(), header={"type": "cercle-dump", "version": 2}))
    with pytest.raises(DumpError, match=r"^LINE 1: an empty file"):
        import_dump(db, [])


def test_a_line_that_is_not_json_is_refused(db):
    text_lines = lines(community())
    text_lines[5] = '{"type": "circle", "id": \n'
    with pytest.raises(DumpError, match=r"^LINE 6: not valid JSON"):
        import_dump(db, text_lines)
    assert set(table_counts(db).values()) == {0}


def test_an_unknown_type_is_refused(db):
    records, line = changed({"id": "t2"}, type="topic")
    assert_refused(db, records, line, "unknown type 'topic'")


def test_records_out_of_type_order_are_refused(db):
    records = community()
    records.append(records.pop(0))  # the site record last
    assert_refused(db, records, len(records) + 1, "a 'site' record after 'pulse' records")


def test_a_type_coming_back_after_another_is_refused(db):
    records = community()
    opening = records.pop(line_of(records, id="p1") - 2)
    records.insert(line_of(records, id="t2") - 2, opening)  # between the two threads
    assert_refused(db, records, line_of(records, id="t2"), "a 'thread' record after 'post' records")


@pytest.mark.parametrize(
    ("match", "field"),
    [
        ({"id": "u-bob"}, "username"),
        ({"id": "u-bob"}, "created_at"),
        ({"id": "u-bob"}, "is_admin"),
        ({"id": "u-bob"}, "email"),
        ({"id": "c-espresso"}, "visibility"),
        ({"id": "t1"}, "title"),
        ({"id": "p2"}, "body"),
        ({"id": "p2"}, "opening"),
        ({"user": "u-bob", "kind": "like"}, "kind"),
        ({"type": "visit", "circle": "c-espresso"}, "day"),
        ({"id": "b-gold"}, "tier"),
        ({"type": "pulse"}, "score"),
        ({"type": "membership", "user": "u-bob"}, "role"),
    ],
)
def test_a_missing_field_is_refused(db, match, field):
    records, line = changed(match, **{field: None})
    assert_refused(db, records, line, f"missing field '{field}'")


@pytest.mark.parametrize(
    ("match", "changes", "words"),
    [
        ({"id": "u-bob"}, {"created_at": "2026-01-02 09:00"}, "created_at: not an ISO 8601 UTC timestamp"),
        ({"id": "u-bob"}, {"created_at": "2026-02-30T09:00:00Z"}, "created_at: not an ISO 8601 UTC timestamp"),
        ({"id": "u-bob"}, {"created_at": "2026-01-02T09:00:00"}, "created_at: not an ISO 8601 UTC timestamp"),
        ({"id": "u-bob"}, {"created_at": "2026-01-02T09:00:00+02:00"}, "created_at: not an ISO 8601 UTC timestamp"),
        ({"id": "u-bob"}, {"created_at": "2026-01-02T24:00:00Z"}, "created_at: not an ISO 8601 UTC timestamp"),
        ({"id": "u-bob"}, {"is_admin": "yes"}, "is_admin: must be true or false"),
        ({"id": "u-bob"}, {"email": "not-an-email"}, "email: not an e-mail address"),
        ({"id": "c-espresso"}, {"visibility": "public"}, "visibility: must be one of open, closed, secret"),
        ({"id": "c-espresso"}, {"slug": "Espresso Lab"}, "slug: 1 to 60 characters"),
        ({"id": "t1"}, {"title": "   "}, "title: must not be empty"),
        ({"type": "visit", "circle": "c-espresso"}, {"day": "2026-1-5"}, "day: not a day"),
        ({"user": "u-bob", "kind": "like"}, {"kind": "love"}, "kind: must be one of like, helpful, thanks"),
        ({"type": "pulse"}, {"score": 11}, "score: must be an integer from 0 to 10"),
        ({"type": "pulse"}, {"score": "9"}, "score: must be an integer from 0 to 10"),
        ({"id": "b-gold"}, {"tier": "platinum"}, "tier: must be one of bronze, silver, gold"),
        ({"id": "t1"}, {"pinned": 1}, "pinned: must be true or false"),
        ({"id": "i-site"}, {"max_uses": 0}, "max_uses: must be an integer"),
        ({"type": "membership", "user": "7"}, {"left_at": "2026-01-01T00:00:00Z"}, "left_at: before joined_at"),
        ({"id": "u-bob"}, {"id": True}, "id: an id must be a non-empty string or an integer"),
    ],
)
def test_a_bad_value_is_refused(db, match, changes, words):
    records, line = changed(match, **changes)
    assert_refused(db, records, line, words)


@pytest.mark.parametrize(
    ("match", "field", "limit"),
    [
        ({"id": "u-bob"}, "display_name", 60),
        ({"id": "u-bob"}, "bio", 1_000),
        ({"id": "c-espresso"}, "description", 2_000),
        ({"id": "t1"}, "title", 200),
        ({"id": "p2"}, "body", 50_000),
        ({"id": "b-gold"}, "name", 60),
        ({"id": "b-gold"}, "description", 300),
        ({"type": "badge_award", "reason": "Thank you"}, "reason", 1_000),
        ({"type": "ambassador_grant", "reason": "Helpful"}, "reason", 1_000),
        ({"type": "pulse"}, "comment", 1_000),
    ],
)
def test_a_field_over_its_limit_is_refused_and_at_its_limit_accepted(db, match, field, limit):
    records, line = changed(match, **{field: "x" * (limit + 1)})
    assert_refused(db, records, line, f"{field}: {limit + 1:,} characters, at most {limit:,} allowed")
    records, _line = changed(match, **{field: "x" * limit})
    import_dump(db, lines(records))


@pytest.mark.parametrize("username", ["ab", "a" * 31, "Bob", "bob-smith", "bob smith", "émile"])
def test_a_username_outside_the_rules_is_refused(db, username):
    records, line = changed({"id": "u-bob"}, username=username)
    assert_refused(db, records, line, "username: 3 to 30 characters of a-z, 0-9 and _")


@pytest.mark.parametrize(
    ("match", "changes", "words"),
    [
        ({"id": "u-bob"}, {"invited_by": "u-nobody"}, "invited_by: unknown user 'u-nobody'"),
        ({"id": "c-espresso"}, {"created_by": "u-nobody"}, "created_by: unknown user 'u-nobody'"),
        ({"type": "membership", "user": "u-bob"}, {"circle": "c-other"}, "circle: unknown circle 'c-other'"),
        ({"type": "membership", "user": "u-bob"}, {"invite": "i-other"}, "invite: unknown invite 'i-other'"),
        ({"id": "p2"}, {"thread": "t9"}, "thread: unknown thread 't9'"),
        ({"id": "p2"}, {"reply_to": "p404"}, "reply_to: unknown post 'p404'"),
        ({"user": "u-bob", "kind": "like"}, {"post": "p404"}, "post: unknown post 'p404'"),
        ({"type": "badge_award", "reason": "Thank you"}, {"badge": "b-none"}, "badge: unknown badge 'b-none'"),
        ({"type": "pulse"}, {"user": "u-nobody"}, "user: unknown user 'u-nobody'"),
        ({"id": "u-bob"}, {"invite": "i-nowhere"}, "invite: unknown invite 'i-nowhere'"),
    ],
)
def test_an_unknown_reference_is_refused(db, match, changes, words):
    records, line = changed(match, **changes)
    assert_refused(db, records, line, words)


def test_a_forward_reference_is_refused(db):
    # p2 answers p4, which comes later in the file.
    records, line = changed({"id": "p2"}, reply_to="p4")
    assert_refused(db, records, line, "reply_to: unknown post 'p4' (a record may only refer to earlier ones)")


def test_a_user_may_name_the_invite_it_used_before_the_invite_lines(db):
    import_dump(db, lines(community()))  # u-bob names i-site, written after the users


def test_ids_are_compared_as_text(db):
    records, _line = changed({"id": "p4"}, author="7")  # the user's id is the integer 7
    import_dump(db, lines(records))


@pytest.mark.parametrize(
    ("match", "changes", "words"),
    [
        ({"id": "u-bob"}, {"id": "u-ann"}, "duplicate user id 'u-ann' (first on line 3)"),
        ({"id": 7}, {"id": "u-ann"}, "duplicate user id 'u-ann'"),
        ({"id": "p3"}, {"id": "p1"}, "duplicate post id 'p1'"),
        ({"id": "i-circle"}, {"id": "i-site"}, "duplicate invite id 'i-site'"),
        ({"id": "u-bob"}, {"username": "ann"}, "duplicate username 'ann' (first on line 3)"),
        ({"id": "u-bob"}, {"email": "ANN@example.com"}, "duplicate email 'ann@example.com'"),
        ({"id": "b-gold"}, {"slug": "first-post"}, "duplicate badge slug 'first-post'"),
    ],
)
def test_a_duplicate_id_or_username_is_refused(db, match, changes, words):
    records, line = changed(match, **changes)
    assert_refused(db, records, line, words)


def test_an_integer_id_and_the_same_id_as_text_are_duplicates(db):
    records, line = changed({"id": "u-bob"}, id="7")
    assert_refused(db, records, line_of(records, id=7), f"duplicate user id 7 (first on line {line})")


@pytest.mark.parametrize(
    ("match", "changes", "words"),
    [
        ({"type": "membership", "user": "7"}, {"user": "u-bob"}, "duplicate membership of user 'u-bob'"),
        ({"user": "u-bob", "kind": "like"}, {"kind": "helpful"}, "duplicate reaction 'helpful' of user 'u-bob'"),
        ({"type": "visit", "circle": "c-espresso"}, {"circle": None}, "duplicate visit of user 'u-bob' on 2026-01-05"),
        ({"type": "badge_award", "user": "u-ann"}, {"user": "u-bob"}, "duplicate award of badge 'b-first'"),
    ],
)
def test_a_duplicate_of_a_unique_pair_is_refused(db, match, changes, words):
    records, line = changed(match, **changes)
    assert_refused(db, records, line, words)


def test_a_thread_without_an_opening_post_is_refused(db):
    records = [r for r in community() if r.get("id") != "p5"]
    assert_refused(db, records, line_of(records, id="t2"), "this thread has no opening post")


def test_a_thread_without_any_post_at_the_end_of_the_file_is_refused(db):
    records = [r for r in community() if r["type"] in ("site", "user", "circle", "invite", "membership", "thread")]
    assert_refused(db, records, line_of(records, id="t1"), "this thread has no opening post")


def test_a_thread_with_two_opening_posts_is_refused(db):
    records, line = changed({"id": "p2"}, opening=True, author="u-bob", created_at="2026-01-05T08:00:00Z")
    assert_refused(db, records, line, "thread 't1' already has an opening post (line 14)")


def test_an_opening_post_by_someone_else_than_the_thread_author_is_refused(db):
    records, line = changed({"id": "p1"}, author="u-ann")
    assert_refused(db, records, line, "an opening post must be by its thread's author")


def test_an_opening_post_not_at_the_thread_creation_time_is_refused(db):
    records, line = changed({"id": "p1"}, created_at="2026-01-05T08:00:01Z")
    assert_refused(db, records, line, "an opening post must be created at its thread's created_at")


@pytest.mark.parametrize("when", ["2026-01-05T08:00:00Z", "2026-01-04T23:00:00Z"])
def test_a_reply_not_strictly_later_than_the_opening_post_is_refused(db, when):
    records, line = changed({"id": "p2"}, created_at=when, edited_at=None)
    assert_refused(db, records, line, "a reply must be strictly later than its thread's opening post")


def test_a_reply_to_a_post_of_another_thread_is_refused(db):
    records, line = changed({"id": "p5"}, reply_to="p1")
    records[line - 2]["opening"] = True
    assert_refused(db, records, line, "reply_to: post 'p1' is in another thread")


def test_a_membership_through_an_invite_to_another_circle_is_refused(db):
    records, line = changed({"type": "membership", "user": "u-bob"}, invite="i-site")
    assert_refused(db, records, line, "invite: 'i-site' is not an invite to this circle")


def test_two_current_ambassador_grants_for_one_user_are_refused(db):
    records, line = changed({"type": "ambassador_grant", "reason": "Helpful"}, revoked_at=None, revoked_by=None)
    line = line_of(records, type="ambassador_grant", granted_at="2026-01-10T08:00:00Z")
    assert_refused(db, records, line, "already holds an unrevoked ambassador grant")


def test_an_error_on_the_last_line_leaves_nothing_behind(db):
    records = community() + [{"type": "pulse", "user": "u-bob", "score": -1, "created_at": "2026-01-11T08:00:00Z"}]
    assert_refused(db, records, len(records) + 1, "score: must be an integer from 0 to 10")


def test_an_import_into_postgresql_ends_by_vacuuming_and_analysing_the_tables_it_filled(db):
    stages: list[str] = []
    import_dump(db, lines(community()), progress=lambda kind, _line: stages.append(kind))
    if db.get_bind().dialect.name != "postgresql":
        assert "statistics" not in stages  # SQLite's planner needs neither
        return
    assert stages[-1] == "statistics"
    done = db.execute(
        text("SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL AND last_analyze IS NOT NULL")
    )
    assert {"user", "post", "reaction", "activity_day", "activity_week", "activity_month"} <= set(done.scalars())
