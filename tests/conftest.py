"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

`CERCLE_TEST_POSTGRES=required` (CI) makes an unreachable PostgreSQL a failure instead of
a skip. Each xdist worker gets its own databases; the schema is made once by the Alembic
migrations, and every test starts from empty tables.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("CERCLE_ENV", "test")
os.environ.setdefault("CERCLE_SECRET_KEY", "test-secret-key")
os.environ.setdefault("CERCLE_ARGON2_TIME_COST", "1")
os.environ.setdefault("CERCLE_ARGON2_MEMORY_COST", "1024")
os.environ.setdefault("CERCLE_BASE_URL", "http://testserver")
# Write limits are off by default in tests; the rate-limit tests turn them on (`limits` fixture).
for _limit_name in ("REPLIES_PER_10_MINUTES", "THREADS_PER_HOUR", "FLAGS_PER_DAY", "INVITES_PER_DAY"):
    os.environ.setdefault(f"CERCLE_{_limit_name}", "0")
os.environ.pop("CERCLE_SMTP_HOST", None)

import psycopg  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app import db as app_db  # noqa: E402
from app.config import get_settings  # noqa: E402

PG_ADMIN_DSN = os.environ.get("CERCLE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_MODE = os.environ.get("CERCLE_TEST_POSTGRES", "auto")  # auto | required | off


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True, scope="session")


def _create_pg_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def use_database(url: str) -> None:
    """Points the app (settings, engine) at `url`; the previous engine is closed properly."""
    if os.environ.get("CERCLE_DATABASE_URL") == url and get_settings().database_url == url:
        return
    if os.environ.get("CERCLE_DATABASE_URL"):
        app_db.get_engine().dispose()
    os.environ["CERCLE_DATABASE_URL"] = url
    get_settings.cache_clear()
    app_db._engine_for.cache_clear()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from app.cli import run_migrations

    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / f"cercle-{_worker()}.db"
        url = f"sqlite:///{path}"
    else:
        problem = _postgres_available() if PG_MODE != "off" else "disabled by CERCLE_TEST_POSTGRES=off"
        if problem:
            if PG_MODE == "required":
                pytest.fail(f"PostgreSQL is required but unreachable: {problem}")
            pytest.skip(f"PostgreSQL not reachable: {problem}")
        # The process id keeps concurrent test runs on one server out of each other's way.
        name = f"cercle_test_{_worker()}_{os.getpid()}"
        url = _create_pg_database(name)
    use_database(url)
    run_migrations()
    yield url
    app_db.get_engine().dispose()
    if request.param == "postgresql":
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate(session: Session) -> None:
    from sqlmodel import SQLModel

    tables = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]
    if session.get_bind().dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in tables)
        session.exec(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))  # type: ignore[call-overload]
    else:
        for name in tables:
            session.exec(text(f'DELETE FROM "{name}"'))  # type: ignore[call-overload]
    session.commit()


def empty_database(database_url: str) -> None:
    """Points the app at the database, emptied, with the process caches that remember it forgotten."""
    use_database(database_url)
    from app import web
    from app.services import visits

    visits._recorded.clear()
    web.forget_site_config()
    with app_db.open_session() as session:
        _truncate(session)


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    """An empty database (SQLite or PostgreSQL) and a session on it."""
    empty_database(database_url)
    with app_db.open_session() as session:
        yield session


@pytest.fixture
def app(db: Session) -> Any:
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def make_client(app: Any) -> Iterator[Any]:
    """Extra browsers (each with its own cookies) on the same app."""
    clients: list[TestClient] = []

    def factory() -> TestClient:
        test_client = TestClient(app, base_url="http://testserver")
        clients.append(test_client)
        return test_client

    yield factory
    for test_client in clients:
        test_client.close()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(db: Session) -> Iterator[Any]:
    """`with count_queries() as counter:` counts the SQL statements run inside the block."""
    from contextlib import contextmanager

    engine = app_db.get_engine()

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    yield counting


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`limits(replies_per_10_minutes=2)` turns write limits on for one test."""

    def set_limits(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"CERCLE_{name.upper()}", str(value))
        get_settings.cache_clear()

    yield set_limits
    monkeypatch.undo()
    get_settings.cache_clear()
