"""`cercle backup DIR` and `cercle restore FILE`.

SQLite: SQLite's online backup API copies the live database in one read transaction (writers
keep writing). PostgreSQL: the dump format (DUMP-FORMAT.md), which `cercle import` (or `restore`)
reads back into an empty database. Both kinds can be restored into either database.
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
    from app.dump import export
    from app.dump.files import open_target

    target = directory / f"cercle-{_stamp()}.jsonl.gz"
    with open_session(readonly=True) as session, open_target(str(target)) as stream:
        export(session, stream)
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
    if not _has_schema():
        # A new, empty database: the dump is imported into the current schema.
        from app.cli import run_migrations

        run_migrations()
    with open_source(str(file)) as source, open_session() as session:
        counts = import_dump(session, source.lines)
    return "imported " + ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
