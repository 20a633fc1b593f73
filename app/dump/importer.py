"""`import_dump`: a whole community from a dump into an empty database, all or nothing."""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import Session, SQLModel

from app.dump.format import DumpError
from app.dump.parser import Parser
from app.dump.writer import DatabaseWriter

Progress = Callable[[str, int], None]
# Tables an import may find rows in: settings are replaced by the dump's site record.
IGNORED_TABLES = {"site_setting", "rate_event"}


def import_dump(
    session: Session,
    in_stream: Iterable[str | bytes],
    progress: Progress | None = None,
    *,
    parallel: bool = False,
) -> dict[str, int]:
    """Imports a dump (lines of text or bytes) into `session`'s empty database, in one transaction.

    Returns the number of records of each type. Any bad line raises `DumpError` ("LINE N: …")
    and nothing is written. `progress(kind, line)` is called as the lines go by. With
    `parallel`, lines are parsed in a second process (worth it for big dumps).
    """
    import app.models  # noqa: F401  (every table in the metadata)

    check_empty(session)
    writer = DatabaseWriter(session, progress)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    try:
        if parallel:
            from app.dump.pipeline import parse_in_child

            plan = parse_in_child(in_stream, now, writer)
        else:
            plan = Parser(writer, now).run(in_stream)
        writer.finish(plan)
    except BaseException as error:
        try:
            writer.close(error)
        finally:
            session.rollback()
        raise
    writer.close()
    session.commit()
    writer.vacuum(plan.lines)
    return plan.counts


def check_empty(session: Session) -> None:
    for table in SQLModel.metadata.sorted_tables:
        if table.name in IGNORED_TABLES:
            continue
        if session.execute(text(f'SELECT 1 FROM "{table.name}" LIMIT 1')).first() is not None:
            session.rollback()
            raise DumpError(
                f"The database is not empty (table {table.name!r} has rows): a dump is imported into a new, "
                "empty database only. Create one, run `cercle migrate`, then import."
            )
