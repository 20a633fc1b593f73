"""Bulk writes inside the import's one transaction, on SQLite or PostgreSQL.

Rows are plain tuples of str/int/bool/None (timestamps as UTC text, see `format.timestamp`).
SQLite gets `executemany` on the raw sqlite3 connection; PostgreSQL gets `COPY FROM STDIN`
through psycopg. Both run on the session's own connection, so one ROLLBACK undoes all.
"""

from typing import Any

from sqlalchemy import text
from sqlmodel import Session

BATCH_ROWS = 5_000


class Batch:
    """Pending rows of one table."""

    __slots__ = ("table", "columns", "rows", "written")

    def __init__(self, table: str, columns: tuple[str, ...]) -> None:
        self.table = table
        self.columns = columns
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0


class BulkWriter:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.raw: Any = self.connection.connection.dbapi_connection
        self.batches: dict[str, Batch] = {}
        self._sqlite_cache_size: int | None = None
        if self.dialect == "postgresql":
            # Timestamps are written as UTC text without an offset.
            self.execute("SET LOCAL TIME ZONE 'UTC'")
        else:
            cursor = self.raw.cursor()
            self._sqlite_cache_size = cursor.execute("PRAGMA cache_size").fetchone()[0]
            # A large page cache keeps the indexes being built in memory.
            cursor.execute("PRAGMA cache_size = -262144")
            cursor.close()

    def close(self) -> None:
        if self._sqlite_cache_size is not None:
            self.raw.execute(f"PRAGMA cache_size = {int(self._sqlite_cache_size)}")

    def batch(self, table: str, columns: tuple[str, ...]) -> Batch:
        batch = self.batches.get(table)
        if batch is None:
            batch = self.batches[table] = Batch(table, columns)
        return batch

    def flush(self, batch: Batch) -> None:
        rows = batch.rows
        if not rows:
            return
        columns = ", ".join(f'"{name}"' for name in batch.columns)
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor, cursor.copy(f'COPY "{batch.table}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(batch.columns))
            self.raw.executemany(f'INSERT INTO "{batch.table}" ({columns}) VALUES ({marks})', rows)
        batch.written += len(rows)
        batch.rows = []

    def flush_all(self) -> None:
        for batch in self.batches.values():
            self.flush(batch)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.connection.execute(text(sql), params or {})

    def update_many(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """UPDATE table SET columns… WHERE id = last value of each row."""
        if not rows:
            return
        mark = "%s" if self.dialect == "postgresql" else "?"
        assignments = ", ".join(f'"{name}" = {mark}' for name in columns)
        sql = f'UPDATE "{table}" SET {assignments} WHERE id = {mark}'
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor:
                cursor.executemany(sql, rows)
        else:
            self.raw.executemany(sql, rows)

    def reset_sequences(self) -> None:
        """PostgreSQL serials continue after the ids the import chose."""
        if self.dialect != "postgresql":
            return
        for batch in self.batches.values():
            if batch.written and batch.columns[0] == "id":
                self.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{batch.table}\"', 'id'), "
                    f'(SELECT max(id) FROM "{batch.table}"))'
                )
