"""`cercle backup DIR` and `cercle restore FILE`, through the CLI, on SQLite and PostgreSQL.

SQLite backs up to a .db copy (the online backup API), PostgreSQL to a dump. A restore into an
empty database gives back the same community: the same dump when exported again, the same row
counts and the same KPIs. A restore into a database that has data is refused and changes nothing.
"""

import io
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from app import db as app_db
from app.analytics import period_from, report
from app.backup import restore_tables as restore_backup
from app.backup_tables import write_backup
from app.cli import app as cli
from app.cli import run_migrations
from app.dump import export
from app.dump.files import open_target
from app.models import Thread, User, utcnow
from app.services import ambassadors, badges, memberships, posts, pulse, search
from app.services.circles import get_by_slug
from tests.conftest import PG_ADMIN_DSN, _create_pg_database, use_database
from tests.factories import add_member, make_admin, make_circle, make_invite, make_reply, make_thread, make_user

runner = CliRunner()
# Tables the dump format leaves out by design: sessions, tokens and the like are not community data.
NOT_IN_DUMPS = {
    "user_session",
    "api_token",
    "password_reset",
    "rate_event",
    "notification",
    "read_state",
    "post_revision",
    "flag",
    "moderation_action",
    "site_setting",
    "alembic_version",
}


def populate(session: Session) -> None:
    """A small community touching every kind of record the dump carries."""
    admin = make_admin(session)
    alice = make_user(session, "alice", display_name="Alice A.")
    bob = make_user(session, "bob")
    carol = make_user(session, "carol")
    circle = make_circle(session, "garden", by=admin, description="Plants *and* people.")
    secret = make_circle(session, "backstage", by=admin, visibility="secret")
    for user in (alice, bob, carol):
        add_member(session, circle, user)
    add_member(session, secret, alice, host=True)
    thread = make_thread(session, circle, alice, title="Tomatoes", body="When do you plant them?")
    first = make_reply(session, thread, bob, "In **May**.")
    make_reply(session, thread, carol, "After the last frost.", reply_to=first)
    memberships.leave(session, circle=circle, user=carol)
    make_thread(session, secret, alice, title="Plans", body="Hosts only.")
    access = memberships.permissions.circle_access(session, alice, circle)
    posts.toggle_reaction(session, post=first, access=access, user=alice, kind="helpful")
    posts.toggle_reaction(session, post=first, access=access, user=alice, kind="like")
    badge = badges.create_badge(
        session, by=admin, name="Green thumb", description="Grows things.", tier="silver", icon="leaf"
    )
    badges.award_manual(session, badge=badge, user=bob, by=admin, reason="The tomato answer.", circle=None)
    ambassadors.grant(session, member=alice, by=admin, reason="Always welcoming.")
    make_invite(session, admin, circle)
    bob.created_at = utcnow() - timedelta(days=30)  # the pulse asks members of 14 days or more
    session.add(bob)
    session.commit()
    pulse.answer(session, user=bob, score=9, comment="Lovely place.")


def dump_lines(session: Session) -> list[str]:
    out = io.StringIO()
    export(session, out)
    return out.getvalue().splitlines()


def row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar_one()
        for table in SQLModel.metadata.sorted_tables
        if table.name not in NOT_IN_DUMPS
    }


def kpis(session: Session, circle: Any = None) -> dict[str, Any]:
    start, end = period_from(None, None)
    figures = report(session, start=start, end=end, circle=circle)
    figures.pop("generated_at")
    return figures


def snapshot(session: Session) -> dict[str, Any]:
    garden = get_by_slug(session, "garden")
    return {
        "dump": dump_lines(session),
        "rows": row_counts(session),
        "kpis": kpis(session),
        "garden": kpis(session, garden),
    }


@pytest.fixture
def empty_database(db: Session, database_url: str, tmp_path: Path) -> Iterator[Any]:
    """`empty_database(migrated=True)`: the URL of a new database of the same kind; the app goes back after."""
    created: list[str] = []

    def make(*, migrated: bool = True) -> str:
        db.commit()  # gives the connection back before the app's engine changes
        if database_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / f'restored-{len(created)}.db'}"
        else:
            url = _create_pg_database(
                f"cercle_restore_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}_{len(created)}"
            )
        created.append(url)
        if migrated:
            use_database(url)
            run_migrations()
        return url

    yield make
    use_database(database_url)
    for url in created:
        app_db._engine_for(url).dispose()
        if url.startswith("postgresql"):
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def backup_of(database_url: str, directory: Path) -> Path:
    use_database(database_url)
    result = runner.invoke(cli, ["backup", str(directory)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    files = list(directory.iterdir())
    assert len(files) == 1
    suffix = ".db" if database_url.startswith("sqlite") else ".gz"
    assert files[0].suffix == suffix
    return files[0]


def restore_into(url: str, file: Path) -> Any:
    use_database(url)
    return runner.invoke(cli, ["restore", str(file)])


def test_backup_then_restore_into_an_empty_database_gives_the_same_community(
    db, database_url, tmp_path, empty_database
):
    populate(db)
    before = snapshot(db)
    file = backup_of(database_url, tmp_path / "backups")

    target = empty_database()
    result = restore_into(target, file)
    assert result.exit_code == 0, result.output + repr(result.exception)
    with app_db.open_session() as session:
        after = snapshot(session)
        alice = session.exec(text("SELECT username, email, display_name FROM \"user\" WHERE username = 'alice'")).one()
    assert alice == ("alice", "alice@example.com", "Alice A.")
    assert after["rows"] == before["rows"]
    assert after["dump"] == before["dump"]
    assert after["kpis"] == before["kpis"]
    assert after["garden"] == before["garden"]
    print(
        f"\nbackup {file.name} ({file.stat().st_size:,} bytes) restored: {len(after['dump'])} dump lines, "
        f"rows {sum(after['rows'].values())}, KPIs equal"
    )


def test_restored_members_can_sign_in_with_their_passwords(db, database_url, tmp_path, empty_database):
    populate(db)
    file = backup_of(database_url, tmp_path / "backups")
    target = empty_database()
    assert restore_into(target, file).exit_code == 0
    from app.services import accounts
    from tests.factories import PASSWORD

    with app_db.open_session() as session:
        assert accounts.authenticate(session, login="bob", password=PASSWORD).username == "bob"


def test_restore_refuses_a_database_that_has_data(db, database_url, tmp_path, empty_database):
    populate(db)
    file = backup_of(database_url, tmp_path / "backups")
    target = empty_database()
    with app_db.open_session() as session:
        make_user(session, "squatter")
        before = row_counts(session)
    result = restore_into(target, file)
    assert result.exit_code == 1
    assert "not empty" in result.output
    with app_db.open_session() as session:
        assert row_counts(session) == before
        assert session.exec(text('SELECT username FROM "user"')).all() == [("squatter",)]


def test_restore_refuses_the_live_database_it_was_taken_from(db, database_url, tmp_path):
    populate(db)
    file = backup_of(database_url, tmp_path / "backups")
    before = row_counts(db)
    db.commit()  # a running server would not hold a transaction open either
    result = restore_into(database_url, file)
    assert result.exit_code == 1
    assert "not empty" in result.output
    with app_db.open_session() as session:
        assert row_counts(session) == before


def test_restore_into_a_new_database_that_has_no_schema_yet(db, database_url, tmp_path, empty_database):
    """Disaster recovery on a new machine: `cercle restore` before anything else was run."""
    populate(db)
    before = dump_lines(db)
    file = backup_of(database_url, tmp_path / "backups")
    target = empty_database(migrated=False)
    result = restore_into(target, file)
    assert result.exit_code == 0, result.output + repr(result.exception)
    with app_db.open_session() as session:
        assert dump_lines(session) == before
        assert session.exec(text("SELECT username FROM \"user\" WHERE username = 'bob'")).one() == ("bob",)


@pytest.fixture
def big_sqlite(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite database of about 40 MB, the app pointed at it; put back after."""
    previous = os.environ.get("CERCLE_DATABASE_URL")
    url = f"sqlite:///{tmp_path / 'big.db'}"
    use_database(url)
    run_migrations()
    with sqlite3.connect(tmp_path / "big.db") as raw:
        raw.execute("CREATE TABLE ballast (b BLOB)")
        raw.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
            "INSERT INTO ballast SELECT randomblob(2000) FROM n"
        )
    try:
        yield url
    finally:
        app_db.get_engine().dispose()
        if previous:
            use_database(previous)


def test_a_sqlite_backup_of_a_busy_database_finishes_and_is_consistent(big_sqlite, tmp_path):
    """Writes every few milliseconds during the copy: it still ends, and the copy is sound.

    SQLite restarts a chunked backup whenever another connection writes between two chunks.
    """
    with app_db.open_session() as session:
        populate(session)
        user_id = session.exec(text("SELECT id FROM \"user\" WHERE username = 'alice'")).one()[0]
        thread_id = session.exec(text("SELECT id FROM thread ORDER BY id LIMIT 1")).one()[0]
    stop = threading.Event()
    written = []

    def keep_writing() -> None:
        with app_db.open_session() as session:
            user, thread = session.get(User, user_id), session.get(Thread, thread_id)
            while not stop.is_set():
                written.append(make_reply(session, thread, user, "written during the backup").id)  # type: ignore[arg-type]
                time.sleep(0.005)

    def keep_touching() -> None:  # small, frequent writes: a visit, a read mark, a session touch
        with sqlite3.connect(big_sqlite.removeprefix("sqlite:///"), timeout=15) as raw:
            while not stop.is_set():
                raw.execute("INSERT INTO rate_event (key, created_at) VALUES ('touch', '2026-01-01 00:00:00')")
                raw.commit()
                written.append(0)
                time.sleep(0.002)

    writers = [threading.Thread(target=keep_writing), threading.Thread(target=keep_touching)]
    outcome: list[Any] = []
    backup = threading.Thread(target=lambda: outcome.append(runner.invoke(cli, ["backup", str(tmp_path / "out")])))
    for writer in writers:
        writer.start()
    time.sleep(0.2)
    started = time.monotonic()
    backup.start()
    backup.join(timeout=30)
    took = time.monotonic() - started
    finished_while_writing = not backup.is_alive()
    stop.set()
    for writer in writers:
        writer.join(timeout=30)
    backup.join(timeout=60)  # once the writes stop, a restarting copy ends too
    print(
        f"\nbackup of a {Path(big_sqlite.removeprefix('sqlite:///')).stat().st_size / 1e6:.0f} MB database "
        f"under {len(written)} writes: {took:.1f} s"
    )
    assert finished_while_writing, "the backup never finished while the forum was writing"
    assert outcome and outcome[0].exit_code == 0, outcome
    (file,) = (tmp_path / "out").iterdir()
    with sqlite3.connect(file) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        posts_in_copy = copy.execute("SELECT count(*) FROM post").fetchone()[0]
        numbers = copy.execute("SELECT sum(last_number) FROM thread").fetchone()[0]
    assert posts_in_copy == numbers  # a snapshot: no reply without its thread's counter, nor the reverse


# Every table, not only the community: sessions, notifications, flags, the moderation log… -------


def fill_every_table(session: Session) -> None:
    """`populate`, plus at least one row in each table the dump format leaves out."""
    from app.models import (
        ApiToken,
        Flag,
        ModerationAction,
        Notification,
        PasswordReset,
        Post,
        PostRevision,
        RateEvent,
        ReadState,
        SiteSetting,
        UserSession,
        Visit,
    )

    populate(session)
    users = {user.username: user for user in session.exec(select(User)).all()}
    alice, bob, carol, admin = users["alice"], users["bob"], users["carol"], users["admin"]
    thread = session.exec(select(Thread).where(Thread.title == "Tomatoes")).one()
    post = session.exec(select(Post).where(Post.thread_id == thread.id).order_by(Post.number)).all()[-1]
    later = utcnow() + timedelta(days=3)
    # A reference to a later row of the same table: the restore must still load it.
    admin.invited_by_id = carol.id
    admin.suspended_until, admin.suspended_reason = later, "A test of every column."
    session.add_all(
        [
            admin,
            UserSession(user_id=alice.id, token_hash="a" * 64, expires_at=later, user_agent="Firefox", ip="203.0.113.7"),
            ApiToken(user_id=bob.id, name="scripts", token_hash="b" * 64),
            PasswordReset(user_id=carol.id, token_hash="c" * 64, expires_at=later),
            RateEvent(key="login:bob"),
            SiteSetting(key="tagline", value="Grow together — ensemble."),
            Notification(user_id=alice.id, kind="reply", actor_id=bob.id, circle_id=thread.circle_id,
                         thread_id=thread.id, post_id=post.id, text="Bob replied."),
            ReadState(user_id=admin.id, thread_id=thread.id, last_read_number=2),
            PostRevision(post_id=post.id, body_md="After the frost.", editor_id=carol.id),
            Flag(post_id=post.id, user_id=bob.id, reason="other", text="Check the date?"),
            ModerationAction(actor_id=admin.id, action="lock", circle_id=thread.circle_id, thread_id=thread.id,
                             reason="Quiet, please."),
            Visit(user_id=admin.id, day=utcnow().date(), circle_id=thread.circle_id, scope=thread.circle_id),
        ]
    )
    session.commit()


def every_row(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table.name: [
            tuple(row)
            for row in session.execute(sa_select(*table.columns).order_by(*table.primary_key.columns)).all()
        ]
        for table in SQLModel.metadata.sorted_tables
    }


def test_a_backup_restores_every_row_of_every_table(db, database_url, tmp_path, empty_database):
    fill_every_table(db)
    before = every_row(db)
    assert [name for name, rows in before.items() if not rows] == [], "every table must have rows for this test"
    file = backup_of(database_url, tmp_path / "backups")

    result = restore_into(empty_database(migrated=False), file)

    assert result.exit_code == 0, result.output + repr(result.exception)
    with app_db.open_session() as session:
        assert every_row(session) == before


def test_a_restored_database_takes_new_rows_after_the_restored_ids(db, database_url, tmp_path, empty_database):
    fill_every_table(db)
    highest = db.exec(text('SELECT max(id) FROM "user"')).one()[0]
    file = backup_of(database_url, tmp_path / "backups")
    assert restore_into(empty_database(), file).exit_code == 0
    with app_db.open_session() as session:
        newcomer = make_user(session, "newcomer")
        bob = session.exec(select(User).where(User.username == "bob")).one()
        reply = make_reply(session, session.exec(select(Thread).where(Thread.title == "Tomatoes")).one(), bob, "Zucchini too.")
        found = search.search(session, viewer=bob, q="frost")
    assert newcomer.id > highest  # type: ignore[operator]
    assert reply.number == 4
    assert [hit.post.body_md for hit in found] == ["After the last frost."]


def test_the_table_backup_format_round_trips_every_row_on_this_database(db, tmp_path, empty_database):
    """The PostgreSQL format, read and written on both databases (SQLite's `cercle backup` copies the file)."""
    fill_every_table(db)
    before = every_row(db)
    db.commit()
    file = tmp_path / "tables.backup.jsonl.gz"
    with app_db.get_engine().connect() as connection, connection.begin(), open_target(str(file)) as stream:
        counts = write_backup(connection, stream)
    assert counts == {name: len(rows) for name, rows in before.items()}

    use_database(empty_database(migrated=False))
    message = restore_backup(file)

    assert "restored" in message
    with app_db.open_session() as session:
        assert every_row(session) == before


def test_a_truncated_table_backup_is_refused_and_restores_nothing(db, tmp_path, empty_database):
    fill_every_table(db)
    db.commit()
    whole = tmp_path / "whole.backup.jsonl"
    with app_db.get_engine().connect() as connection, connection.begin(), open_target(str(whole)) as stream:
        write_backup(connection, stream)
    cut = tmp_path / "cut.backup.jsonl"
    cut.write_text("".join(whole.read_text().splitlines(keepends=True)[:-5]))

    result = restore_into(empty_database(), cut)

    assert result.exit_code == 1
    assert "truncated" in result.output
    with app_db.open_session() as session:
        assert {name for name, rows in every_row(session).items() if rows} == set()


def test_a_table_backup_of_an_unknown_schema_is_refused(db, tmp_path, empty_database):
    populate(db)
    db.commit()
    file = tmp_path / "future.backup.jsonl"
    with app_db.get_engine().connect() as connection, connection.begin(), open_target(str(file)) as stream:
        write_backup(connection, stream)
    lines = file.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["revision"] = "9999_from_the_future"
    file.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))

    result = restore_into(empty_database(migrated=False), file)

    assert result.exit_code == 1
    assert "unknown to this version" in result.output


def test_a_postgresql_backup_restores_every_row_into_sqlite(db, database_url, tmp_path):
    """PostgreSQL only: its backup format is not tied to the database it came from."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite backs up to a .db file")
    fill_every_table(db)
    before = every_row(db)
    file = backup_of(database_url, tmp_path / "backups")
    db.commit()  # gives the connection back before the app's engine changes
    target = f"sqlite:///{tmp_path / 'moved.db'}"
    try:
        result = restore_into(target, file)
        assert result.exit_code == 0, result.output + repr(result.exception)
        with app_db.open_session() as session:
            assert every_row(session) == before
    finally:
        app_db.get_engine().dispose()
        use_database(database_url)
