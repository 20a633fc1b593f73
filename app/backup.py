"""`cercle backup DIR` and `cercle restore FILE`.

SQLite: SQLite's online backup API copies the live database in one read transaction (writers
keep writing). PostgreSQL: every table, row for row, from one snapshot (app.backup_tables): a
lossless copy without `pg_dump`, which `restore` reads back into an empty database (PostgreSQL
or SQLite). `restore` also reads a dump (DUMP-FORMAT.md) made by `cercle export`.
"""

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from app.config import get_settings
from app.db import open_session


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("this SQLite database has no file to back up")
    return Path(database)


def backup(directory: Path) -> Path:
    """Writes one backup file into `directory` and returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    url = get_settings().database_url
    if url.startswith("sqlite"):
        target = directory / f"cercle-{_stamp()}.db"
        source = sqlite3.connect(sqlite_path(url))
        destination = sqlite3.connect(target)
        try:
            with destination:
                # In one step: one read transaction, one consistent snapshot (WAL: writers go on).
                # Copied in chunks, any write made between two chunks restarts the copy, and on a
                # busy forum a large database never finished.
                source.backup(destination, pages=-1)
        finally:
            destination.close()
            source.close()
        return target
    from app.backup_tables import write_backup
    from app.db import get_engine
    from app.dump.files import open_target

    target = directory / f"cercle-{_stamp()}.backup.jsonl.gz"
    partial = target.with_name(target.name.replace(".backup.", ".partial."))
    # One REPEATABLE READ transaction: every table from the same snapshot, writers go on.
    snapshot = get_engine().connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot as connection, connection.begin(), open_target(str(partial)) as stream:
        write_backup(connection, stream)
    partial.rename(target)  # a backup that failed half-way never looks complete
    return target


def _has_schema() -> bool:
    from sqlalchemy import inspect

    from app.db import get_engine

    return inspect(get_engine()).has_table("user")


def restore(file: Path) -> str:
    """Restores a backup into the configured, empty database; says what it did."""
    from app.dump import import_dump
    from app.dump.files import open_source
    from app.dump.importer import check_empty

    url = get_settings().database_url
    if file.suffix == ".db":
        if not url.startswith("sqlite"):
            raise ValueError("a .db backup restores into SQLite; for PostgreSQL restore a .jsonl.gz dump")
        target = sqlite_path(url)
        # On a new machine there is no database yet (or one without tables): nothing to protect.
        if target.exists() and _has_schema():
            with open_session() as session:
                check_empty(session)
        from app.db import get_engine

        get_engine().dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(file, target)
        return f"copied {file} to {target}"
    with open_source(str(file)) as source:
        first = source.lines.readline()
    from app.backup_tables import is_table_backup

    if is_table_backup(first):
        return restore_tables(file)
    if not _has_schema():
        # A new, empty database: the dump is imported into the current schema.
        from app.cli import run_migrations

        run_migrations()
    with open_source(str(file)) as source, open_session() as session:
        counts = import_dump(session, source.lines)
    return "imported " + ", ".join(f"{n:,} {kind}" for kind, n in counts.items())


def _move_schema_to(revision: str | None) -> None:
    """Upgrades or downgrades the (empty) database's schema to `revision`."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    from app.backup_tables import BackupError, current_revision
    from app.cli import alembic_config
    from app.db import get_engine

    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    if revision is None:
        raise BackupError("this backup has no schema revision: it cannot be restored")
    try:
        script.get_revision(revision)
    except (CommandError, RevisionError):
        raise BackupError(
            f"this backup is of schema {revision!r}, unknown to this version of Cercle: restore it with a newer one"
        ) from None
    with get_engine().connect() as connection:
        current = current_revision(connection)
    if current == revision:
        return
    older = current is not None and any(step.revision == revision for step in script.iterate_revisions(current, "base"))
    if older:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


def restore_tables(file: Path) -> str:
    """Restores a table backup (app.backup_tables) into the configured, empty database."""
    from app.backup_tables import check_empty, load_backup, read_header
    from app.cli import run_migrations
    from app.db import get_engine
    from app.dump.files import open_source

    engine = get_engine()
    with engine.connect() as connection:
        check_empty(connection)  # before any schema change: never migrate a database with data
    with open_source(str(file)) as source:
        lines = iter(source.lines)
        header = read_header(lines)
        _move_schema_to(header.get("revision"))
        with engine.begin() as connection:
            counts = load_backup(connection, lines)
    run_migrations()
    rows = sum(counts.values())
    return f"restored {rows:,} rows of {len(counts)} tables (schema {header['revision']}) from {file.name}"
