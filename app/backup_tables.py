"""A lossless backup of every table, for PostgreSQL (or any database): `cercle backup` / `restore`.

The dump format (DUMP-FORMAT.md) carries the community, not sessions, notifications, flags,
the moderation log, read marks or revisions. This format copies every table of the models'
metadata, row for row with their ids, in foreign-key order, from one snapshot. It needs no
`pg_dump` of the server's version, and reads back into SQLite as well.

JSON Lines (gzip): a header object `{"type": "cercle-backup", "version": 1, "revision": …}`;
for each table an object `{"table", "columns", "kinds"}` followed by its rows as JSON arrays;
a last object `{"end": true, "rows": {table: count}}` (a truncated file is refused).
Timestamps are ISO 8601 with their offset, days `YYYY-MM-DD` (`kinds` says which columns).

A restore goes into an empty database only, in one transaction. The schema is brought to the
backup's Alembic revision first (the database is empty), the rows are loaded with their ids,
PostgreSQL sequences are moved past them, then the schema is upgraded to this version's head.
"""

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

FORMAT = "cercle-backup"
VERSION = 1
BATCH = 1000


class BackupError(ValueError):
    """A backup that cannot be restored here; nothing was written."""


def is_table_backup(first_line: bytes | str) -> bool:
    try:
        header = json.loads(first_line)
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("type") == FORMAT


def _tables() -> list[sa.Table]:
    import app.models  # noqa: F401  (every table in the metadata)

    return list(SQLModel.metadata.sorted_tables)


def _kind(column: sa.Column[Any]) -> str | None:
    stored = column.type.impl_instance if isinstance(column.type, sa.TypeDecorator) else column.type
    if isinstance(stored, sa.DateTime):
        return "datetime"
    if isinstance(stored, sa.Date):
        return "date"
    return None


def _encode(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in a UTC column")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"a backup cannot hold a {type(value).__name__} value")


def _line(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=_encode) + "\n"


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def write_backup(connection: Connection, out: IO[str]) -> dict[str, int]:
    """Writes every table from `connection`'s snapshot (the caller holds one transaction)."""
    present = set(sa.inspect(connection).get_table_names())
    tables = _tables()
    missing = [table.name for table in tables if table.name not in present]
    if missing:
        raise BackupError(f"the database lacks tables {missing}: run `cercle migrate` first")
    out.write(_line({"type": FORMAT, "version": VERSION, "revision": current_revision(connection),
                     "dialect": connection.dialect.name, "created_at": datetime.now(UTC).isoformat()}))
    counts: dict[str, int] = {}
    for table in tables:
        stored = {column["name"] for column in sa.inspect(connection).get_columns(table.name)}
        columns = [column for column in table.columns if column.name in stored]
        kinds = {column.name: kind for column in columns if (kind := _kind(column))}
        out.write(_line({"table": table.name, "columns": [column.name for column in columns], "kinds": kinds}))
        statement = sa.select(*columns).order_by(*table.primary_key.columns)
        count = 0
        for row in connection.execution_options(yield_per=BATCH).execute(statement):
            out.write(_line(list(row)))
            count += 1
        counts[table.name] = count
    out.write(_line({"end": True, "rows": counts}))
    return counts


def check_empty(connection: Connection) -> None:
    present = set(sa.inspect(connection).get_table_names())
    for table in _tables():
        if table.name in present and connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            raise BackupError(
                f"The database is not empty (table {table.name!r} has rows): a backup is restored into a new, "
                "empty database only."
            )


def read_header(lines: Iterator[bytes]) -> dict[str, Any]:
    header = json.loads(next(lines, b"{}") or b"{}")
    if not isinstance(header, dict) or header.get("type") != FORMAT:
        raise BackupError("this file is not a Cercle backup")
    if header.get("version") != VERSION:
        raise BackupError(f"backup format version {header.get('version')!r} is not known to this Cercle")
    return header


class _Loader:
    """Inserts one table's rows in batches; a row pointing at a later row of its own table
    (a reply to a later post, say) gets that column afterwards, when its target exists."""

    def __init__(self, connection: Connection, name: str, columns: list[str], kinds: dict[str, str]) -> None:
        self.connection = connection
        self.table = sa.Table(name, sa.MetaData(), autoload_with=connection)
        unknown = [column for column in columns if column not in self.table.columns]
        if unknown:
            raise BackupError(f"table {name!r} has no columns {unknown} in this database")
        self.columns = columns
        self.kinds = kinds
        self.naive = connection.dialect.name == "sqlite"
        self.self_refs = {
            key.parent.name: key.column.name
            for key in self.table.foreign_keys
            if key.column.table.name == name and key.parent.name in columns
        }
        self.seen: dict[str, set[Any]] = {target: set() for target in self.self_refs.values()}
        self.later: list[tuple[dict[str, Any], str, Any]] = []
        self.batch: list[dict[str, Any]] = []
        self.count = 0

    def _value(self, name: str, value: Any) -> Any:
        kind = self.kinds.get(name)
        if value is None or kind is None:
            return value
        if kind == "date":
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value).astimezone(UTC)
        return moment.replace(tzinfo=None) if self.naive else moment

    def add(self, values: list[Any]) -> None:
        if len(values) != len(self.columns):
            raise BackupError(f"a row of table {self.table.name!r} has {len(values)} values, not {len(self.columns)}")
        row = {name: self._value(name, value) for name, value in zip(self.columns, values, strict=True)}
        for target, seen in self.seen.items():
            seen.add(row[target])
        for column, target in self.self_refs.items():
            if row[column] is not None and row[column] not in self.seen[target]:
                self.later.append(({name: row[name] for name in self._key()}, column, row[column]))
                row[column] = None
        self.batch.append(row)
        self.count += 1
        if len(self.batch) >= BATCH:
            self.flush()

    def _key(self) -> list[str]:
        return [column.name for column in self.table.primary_key.columns]

    def flush(self) -> None:
        if self.batch:
            self.connection.execute(self.table.insert(), self.batch)
            self.batch = []

    def finish(self) -> int:
        self.flush()
        for key, column, value in self.later:
            where = [self.table.c[name] == key_value for name, key_value in key.items()]
            self.connection.execute(self.table.update().where(*where).values({column: value}))
        if self.connection.dialect.name == "postgresql":
            self._move_sequences()
        return self.count

    def _move_sequences(self) -> None:
        quoted = self.connection.dialect.identifier_preparer.format_table(self.table)
        for column in self.table.primary_key.columns:
            sequence = self.connection.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": quoted, "column": column.name}
            ).scalar()
            if sequence:
                name = self.connection.dialect.identifier_preparer.quote(column.name)
                self.connection.execute(
                    sa.text(f"SELECT setval(:sequence, coalesce(max({name}), 1), max({name}) IS NOT NULL) FROM {quoted}"),
                    {"sequence": sequence},
                )


def load_backup(connection: Connection, lines: Iterable[bytes]) -> dict[str, int]:
    """Loads the rows after the header into `connection`'s empty database (the caller's transaction)."""
    check_empty(connection)
    present = set(sa.inspect(connection).get_table_names())
    loader: _Loader | None = None
    counts: dict[str, int] = {}
    ended: dict[str, Any] | None = None
    for number, raw in enumerate(lines, start=2):
        if not raw.strip():
            continue
        if ended is not None:
            raise BackupError(f"LINE {number}: data after the end of the backup")
        item = json.loads(raw)
        if isinstance(item, list):
            if loader is None:
                raise BackupError(f"LINE {number}: a row before any table")
            loader.add(item)
            continue
        if loader is not None:
            counts[loader.table.name] = loader.finish()
            loader = None
        if item.get("end"):
            ended = item
        else:
            loader = _Loader(connection, item["table"], item["columns"], item.get("kinds", {}))
    if ended is None or loader is not None:
        raise BackupError("the backup is truncated (it has no end line): nothing was restored")
    if ended.get("rows") != counts:
        raise BackupError(f"the backup's rows do not add up ({ended.get('rows')} announced): nothing was restored")
    expected = {table.name for table in _tables()} & present
    if not expected <= set(counts):
        raise BackupError(f"the backup lacks tables {sorted(expected - set(counts))}: nothing was restored")
    return counts
