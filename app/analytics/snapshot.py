"""Several connections that see the database at one and the same moment, to compute a report's
independent figure groups side by side.

A report reads a million rollup rows or more per figure group, and SQLite and PostgreSQL each
run one statement on one core; on two connections the groups share the machine's cores. The
figures must still describe one state of the database, so every connection gets the same
snapshot:

- PostgreSQL: the first connection exports its REPEATABLE READ snapshot
  (`pg_export_snapshot()`), the others import it (`SET TRANSACTION SNAPSHOT`); a hot standby
  (a read replica) can do it too since PostgreSQL 10.
- SQLite (WAL): a reader's snapshot is fixed by its first read. The readers make that first
  read while another connection holds the write lock, so no commit can fall between them;
  the lock is released as soon as they have (a few milliseconds).
"""

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

T = TypeVar("T")
S = TypeVar("S")


@contextmanager
def shared_snapshot(session: Session, count: int) -> Iterator[list[Connection]]:
    """`count` new connections to the database of `session`, each in a read transaction on
    the same snapshot; closed (rolled back) on exit."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with ExitStack() as stack:
        if engine.dialect.name == "postgresql":
            yield _postgresql(engine, count, stack)
        else:
            yield _sqlite(engine, count, stack)


def _postgresql(engine: Engine, count: int, stack: ExitStack) -> list[Connection]:
    def repeatable_read() -> Connection:
        connection = stack.enter_context(engine.connect())
        return connection.execution_options(isolation_level="REPEATABLE READ")

    first = repeatable_read()
    snapshot = first.execute(sa.select(sa.func.pg_export_snapshot())).scalar_one()
    others = []
    for _ in range(count - 1):
        connection = repeatable_read()
        # The first statement of its transaction; the id comes from the server, not from a user.
        connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        others.append(connection)
    return [first, *others]


def _sqlite(engine: Engine, count: int, stack: ExitStack) -> list[Connection]:
    readers = [
        stack.enter_context(engine.execution_options(cercle_readonly=True).connect()) for _ in range(count)
    ]
    # BEGIN IMMEDIATE (app.db): no writer can commit until the readers have their snapshot.
    with engine.execution_options(cercle_readonly=False).connect() as lock:
        lock.execute(sa.text("SELECT 1"))
        for reader in readers:
            reader.execute(sa.text("SELECT count(*) FROM sqlite_master"))  # fixes its snapshot
        lock.rollback()
    return readers


def may_write(session: Session) -> bool:
    """The session has changes of its own, or a transaction that may write (on SQLite, one that
    holds the write lock): new connections would not see what it sees, or would wait for it."""
    if session.new or session.dirty or session.deleted:
        return True
    return session.in_transaction() and not session.connection().get_execution_options().get("cercle_readonly")


def run_side_by_side(workers: Sequence[S], tasks: Sequence[Callable[[S], T]]) -> list[T]:
    """Runs each task with one of `workers` (a connection's scope, say), one thread per
    worker, each worker taking the next task when it is done; results in the tasks' order.
    Order the tasks longest first."""
    if len(workers) == 1:
        return [task(workers[0]) for task in tasks]
    results: list[Any] = [None] * len(tasks)
    queue = list(enumerate(tasks))
    lock = threading.Lock()

    def work(worker: S) -> None:
        while True:
            with lock:
                if not queue:
                    return
                index, task = queue.pop(0)
            results[index] = task(worker)

    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        for future in [pool.submit(work, worker) for worker in workers]:
            future.result()
    return results
