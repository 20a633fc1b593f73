"""The migrations build exactly the models' schema, plus full-text search, on both databases."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app import db as app_db
from app.cli import alembic_config
from app.config import get_settings
from app.migrations_support import include_object
from app.services import search
from tests import conftest
from tests.conftest import use_database
from tests.factories import add_member, make_circle, make_reply, make_thread, make_user


def schema_differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object, "compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def test_migrations_match_the_models(db):
    assert schema_differences(app_db.get_engine()) == []


def test_new_post_is_found_by_full_text_search(db):
    user = make_user(db, "alice")
    circle = make_circle(db, "espresso")
    add_member(db, circle, user)
    thread = make_thread(db, circle, user, title="Grinder advice", body="Which burr grinder for a zanzibar roast?")
    reply = make_reply(db, thread, user, body="Try the quokka conical model.")
    [opening_hit] = search.search(db, viewer=user, q="zanzibar")
    assert opening_hit.thread.id == thread.id
    [reply_hit] = search.search(db, viewer=user, q="quokka")
    assert reply_hit.post.id == reply.id
    assert [hit.thread.id for hit in search.search(db, viewer=user, q="grinder advice")] == [thread.id]


@contextmanager
def fresh_database(url: str) -> Iterator[None]:
    """Points the app at `url` for the block, then back at the suite's database."""
    previous = os.environ.get("CERCLE_DATABASE_URL")
    use_database(url)
    try:
        yield
    finally:
        app_db.get_engine().dispose()
        if previous is None:
            os.environ.pop("CERCLE_DATABASE_URL", None)
            get_settings.cache_clear()
            app_db._engine_for.cache_clear()
        else:
            use_database(previous)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, not the suite's."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    problem = conftest._postgres_available() if conftest.PG_MODE != "off" else "disabled"
    if problem:
        if conftest.PG_MODE == "required":
            pytest.fail(f"PostgreSQL is required but unreachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    name = f"cercle_migrations_{conftest._worker()}"
    yield conftest._create_pg_database(name)
    with psycopg.connect(conftest.PG_ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_downgrade_to_base_and_upgrade_to_head_on_a_fresh_database(fresh_url):
    config = alembic_config()
    with fresh_database(fresh_url):
        command.upgrade(config, "head")
        tables = set(inspect(app_db.get_engine()).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        command.downgrade(config, "base")
        leftovers = set(inspect(app_db.get_engine()).get_table_names()) - {"alembic_version"}
        assert leftovers == set()
        command.upgrade(config, "head")
        assert schema_differences(app_db.get_engine()) == []
        with app_db.open_session() as session:
            user = make_user(session, "alice")
            circle = make_circle(session, "espresso")
            add_member(session, circle, user)
            thread = make_thread(session, circle, user, body="A post about zanzibar beans.")
            assert [hit.thread.id for hit in search.search(session, viewer=user, q="zanzibar")] == [thread.id]
