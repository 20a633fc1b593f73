"""The database engine (SQLite pragmas, PostgreSQL pool) and the per-request session."""

import logging
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine
from starlette.requests import Request

from app.config import get_settings

SQLITE_BUSY_TIMEOUT_MS = 15_000

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while one writer writes; the busy timeout turns lock
    # contention into waiting instead of "database is locked" errors.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that reads then writes can fail with SQLITE_BUSY
    # without waiting; writers take the lock up front so they queue instead.
    # Reads stay deferred so they never wait on a writer (WAL).
    if conn.get_execution_options().get("cercle_readonly"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is switched off so BEGIN is ours.
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    settings = get_settings()
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


@lru_cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return _engine_for(get_settings().database_url)


def get_read_engine() -> Engine:
    """The replica when one is configured, else the primary."""
    settings = get_settings()
    return _engine_for(settings.database_read_url or settings.database_url)


def open_session(*, readonly: bool = False, replica: bool = False) -> Session:
    engine = get_read_engine() if replica else get_engine()
    if readonly:
        engine = engine.execution_options(cercle_readonly=True)
    return Session(engine, expire_on_commit=False)


def read_from_now(session: Session) -> None:
    """Begins `session`'s next transaction as a read: a POST that has committed its writes and
    only reads to answer does not hold SQLite's write lock while it reads and renders."""
    session.connection(execution_options={"cercle_readonly": True})


RECENT_WRITE_COOKIE = "cercle_wrote"


async def get_session(request: Request) -> AsyncIterator[Session]:
    # GET and HEAD only read (a visit row is the exception and is its own short
    # transaction); everything else may write. Reads go to the replica, if any, unless
    # this browser wrote a moment ago (see RecentWriteMiddleware in app.middleware).
    readonly = request.method in ("GET", "HEAD")
    replica = readonly and RECENT_WRITE_COOKIE not in request.cookies
    # Opening a session does no I/O (the connection comes with the first query), so it happens
    # on the event loop: a sync generator would cost two trips through the thread pool per
    # request, this costs one. Closing returns the connection with a rollback, which is I/O: in
    # the thread pool, shielded so that a client going away cannot leave the connection out.
    session = open_session(readonly=readonly, replica=replica)
    try:
        yield session
    finally:
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close_session, session)
        else:
            session.close()


def close_session(session: Session) -> None:
    """Ends the request's session; a connection the database dropped meanwhile is discarded.

    This runs after the answer is sent. The transaction left to roll back only read or was
    already committed, so a failed ROLLBACK (PostgreSQL restarted, say) loses nothing; raising
    here would make the server drop the client's keep-alive connection, and its next request
    would fail for no reason of its own.
    """
    try:
        session.close()
    except DBAPIError as error:
        log.warning("a connection was lost before the end of its request: %s", error)
        session.invalidate()
