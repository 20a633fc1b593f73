"""Writing an import into the database: bulk inserts inside the one transaction, then the finish.

Rows are plain tuples of str/int/bool/None (timestamps as UTC text, see `format.timestamp`).
SQLite gets `executemany` on the raw sqlite3 connection; PostgreSQL gets one `COPY FROM
STDIN` per table through psycopg, left open for the whole section so the server works
while the parser reads on. Both run on the session's own connection: one ROLLBACK undoes
everything, schema changes included.

Search: the per-row triggers of app.migrations_support are several times slower than one
set-based statement, so the import fills the search index itself when the posts are in:
SQLite's FTS trigger is dropped for the load and put back; on PostgreSQL posts are copied
into a temporary table, then inserted at once with their `search_vector` while the trigger
is disabled. The expressions below mirror those triggers (a test compares the results).
PostgreSQL's secondary indexes and constraints of the big tables are dropped for the load
and rebuilt afterwards, as pg_restore does.
"""

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.analytics import rollup
from app.dump.format import DumpError
from app.dump.parser import Plan
from app.dump.records import COLUMNS

Progress = Callable[[str, int], None]
# Tables whose indexes and constraints PostgreSQL rebuilds after the load.
PG_REBUILT = ("post", "reaction", "visit", "membership", "badge_award")
# Mirrors the post_fts_ai trigger of app.migrations_support for every post at once.
SQLITE_FTS_FILL = (
    "INSERT INTO post_fts(rowid, title, body) SELECT post.id, "
    "CASE WHEN post.opening THEN thread.title ELSE '' END, post.body_md "
    "FROM post JOIN thread ON thread.id = post.thread_id ORDER BY post.id"
)
# Mirrors post_search_update() of app.migrations_support; the posts wait in PG_STAGING.
PG_STAGING = "cercle_import_post"
PG_SEARCH_TRIGGER = "post_search_biu"
PG_SEARCH_VECTOR = (
    "setweight(to_tsvector('simple', cercle_unaccent(coalesce(CASE WHEN p.opening THEN t.title END, ''))), 'A') "
    "|| setweight(to_tsvector('simple', cercle_unaccent(p.body_md)), 'B')"
)
RENUMBER_CHUNK = 500
ROLLUP_TABLES = (rollup.ACTIVITY_DAY.name, rollup.ACTIVITY_WEEK.name, rollup.ACTIVITY_MONTH.name)


class DatabaseWriter:
    def __init__(self, session: Session, progress: Progress | None = None) -> None:
        self.session = session
        self.on_progress = progress
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.raw: Any = self.connection.connection.dbapi_connection
        self.written: dict[str, int] = {}
        self._copy: Any = None  # the context manager of the COPY in progress
        self._copy_writer: Any = None
        self._copy_table = ""
        self._cursor: Any = None
        self._sqlite_cache_size: int | None = None
        self._fts_trigger: str | None = None
        self._rebuild: list[str] = []
        self._staged = False
        if self.dialect == "postgresql":
            self._prepare_postgresql()
        else:
            self._prepare_sqlite()

    # --- setup -------------------------------------------------------------------------------

    def _prepare_sqlite(self) -> None:
        cursor = self.raw.cursor()
        self._sqlite_cache_size = cursor.execute("PRAGMA cache_size").fetchone()[0]
        # A large page cache keeps the indexes being built in memory.
        cursor.execute("PRAGMA cache_size = -262144")
        row = cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'post_fts_ai'").fetchone()
        if row is not None:
            self._fts_trigger = row[0]
            cursor.execute("DROP TRIGGER post_fts_ai")
        cursor.close()

    def _prepare_postgresql(self) -> None:
        # Timestamps are written as UTC text without an offset.
        self.execute("SET LOCAL TIME ZONE 'UTC'")
        self.execute("SET LOCAL maintenance_work_mem = '256MB'")
        tables = {"tables": list(PG_REBUILT)}
        constraints = self.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype FROM pg_constraint c "
            "WHERE c.conrelid::regclass::text = ANY(:tables) AND c.contype IN ('f', 'u') ORDER BY c.contype",
            tables,
        ).all()
        indexes = self.execute(
            "SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(:tables) AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            tables,
        ).all()
        triggers = (
            self.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'post'::regclass AND NOT tgisinternal")
            .scalars()
            .all()
        )
        if list(triggers) == [PG_SEARCH_TRIGGER]:
            self.execute(f"CREATE TEMPORARY TABLE {PG_STAGING} (LIKE post INCLUDING DEFAULTS) ON COMMIT DROP")
            self._staged = True
        for table, name, _definition, _kind in constraints:
            self.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for _table, name, definition in indexes:
            self.execute(f'DROP INDEX "{name}"')
            self._rebuild.append(definition)
        # Unique constraints first, then the foreign keys (which were dropped first).
        for table, name, definition, _kind in reversed(constraints):
            self._rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')

    # --- the parser's sink -------------------------------------------------------------------

    def rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        columns = COLUMNS[table]
        try:
            if self.dialect == "postgresql":
                if self._copy_table != table:
                    self._end_copy()
                    names = ", ".join(f'"{name}"' for name in columns)
                    target = PG_STAGING if table == "post" and self._staged else f'"{table}"'
                    self._cursor = self.raw.cursor()
                    self._copy = self._cursor.copy(f"COPY {target} ({names}) FROM STDIN")
                    self._copy_writer = self._copy.__enter__()
                    self._copy_table = table
                write_row = self._copy_writer.write_row
                for row in rows:
                    write_row(row)
            else:
                names = ", ".join(f'"{name}"' for name in columns)
                marks = ", ".join("?" * len(columns))
                self.raw.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        except Exception as error:
            raise DumpError(f"the database refused {table} rows: {error}") from error
        self.written[table] = self.written.get(table, 0) + len(rows)

    def section_done(self, name: str) -> None:
        self._end_copy()
        if name == "post":
            self._fill_search()

    def _fill_search(self) -> None:
        self.progress("search index", 0)
        if self._fts_trigger is not None:
            self.execute(SQLITE_FTS_FILL)
            self.execute(self._fts_trigger)
            self._fts_trigger = None
        if self._staged:
            names = ", ".join(f'"{name}"' for name in COLUMNS["post"])
            picked = ", ".join(f'p."{name}"' for name in COLUMNS["post"])
            self.execute(f"ALTER TABLE post DISABLE TRIGGER {PG_SEARCH_TRIGGER}")
            self.execute(
                f"INSERT INTO post ({names}, search_vector) SELECT {picked}, {PG_SEARCH_VECTOR} "
                f"FROM {PG_STAGING} AS p JOIN thread AS t ON t.id = p.thread_id ORDER BY p.id"
            )
            self.execute(f"ALTER TABLE post ENABLE TRIGGER {PG_SEARCH_TRIGGER}")
            self.execute(f"DROP TABLE {PG_STAGING}")
            self._staged = False

    def progress(self, kind: str, line: int) -> None:
        if self.on_progress is not None:
            self.on_progress(kind, line)

    def _end_copy(self, error: BaseException | None = None) -> None:
        if self._copy is None:
            return
        copy, cursor = self._copy, self._cursor
        self._copy, self._copy_writer, self._cursor, self._copy_table = None, None, None, ""
        try:
            copy.__exit__(type(error) if error else None, error, None)
        except Exception as failure:
            if error is None:
                raise DumpError(f"the database refused rows: {failure}") from failure
        finally:
            cursor.close()

    # --- after the last row ------------------------------------------------------------------

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.connection.execute(text(sql), params or {})

    def finish(self, plan: Plan) -> None:
        self._end_copy()
        if self._fts_trigger is not None or self._staged:
            self._fill_search()
        if self._rebuild:
            self.progress("indexes", plan.lines)
            for statement in self._rebuild:
                self.execute(statement)
            self._rebuild = []
        self.progress("counters", plan.lines)
        self._renumber(plan.renumber)
        self.execute(
            "UPDATE thread SET post_count = s.visible, reply_count = s.replies, last_number = s.total, "
            "last_post_at = s.latest FROM (SELECT thread_id, count(*) AS total, "
            "sum(CASE WHEN hidden THEN 0 ELSE 1 END) AS visible, "
            "sum(CASE WHEN hidden OR opening THEN 0 ELSE 1 END) AS replies, max(created_at) AS latest "
            "FROM post GROUP BY thread_id) AS s WHERE thread.id = s.thread_id"
        )
        self.execute(
            "UPDATE circle SET member_count = (SELECT count(*) FROM membership "
            "WHERE membership.circle_id = circle.id AND membership.state = 'active')"
        )
        self._update_many("invite", ("uses",), plan.invite_uses)
        self._update_many("user", ("invite_id", "ambassador_since", "best_badge_id"), plan.user_updates)
        self._badge_icons()
        # The KPIs' daily activity rollup, from the rows now in, in one INSERT … SELECT.
        self.progress("activity rollup", plan.lines)
        rollup.rebuild(self.connection)
        if plan.site is not None:
            self.execute("DELETE FROM site_setting WHERE key IN ('name', 'description', 'registration')")
            for key, value in plan.site.items():
                self.execute(
                    "INSERT INTO site_setting (key, value) VALUES (:key, :value)",
                    {"key": key, "value": json.dumps(value)},
                )
        if self.dialect == "postgresql":
            for table, count in self.written.items():
                if count and COLUMNS[table][0] == "id":
                    # Serials continue after the ids the import chose.
                    self.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
                    )

    def vacuum(self, lines: int) -> None:
        """PostgreSQL, once the import is committed: `VACUUM (ANALYZE)` of every table it
        filled. The statistics give the first queries good plans; the visibility map lets them
        read covering indexes alone (the KPIs' depth of conversation: 0.54 s with a scan of the
        post table, 0.16 s from its index, at a million posts). Autovacuum would do it later,
        where it is on."""
        if self.dialect != "postgresql":
            return
        self.progress("statistics", lines)
        tables = [table for table, count in self.written.items() if count] + list(ROLLUP_TABLES)
        bind = self.session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        with engine.connect() as connection:  # VACUUM runs outside a transaction
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in tables:
                autocommit.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')

    def _renumber(self, threads: list[int]) -> None:
        """Numbers follow created_at (then file order) in threads whose posts came out of order."""
        for start in range(0, len(threads), RENUMBER_CHUNK):
            ids = ", ".join(str(int(thread_id)) for thread_id in threads[start : start + RENUMBER_CHUNK])
            self.execute(f"UPDATE post SET number = -number WHERE thread_id IN ({ids})")
            self.execute(
                "UPDATE post SET number = r.n FROM (SELECT id, row_number() OVER "
                f"(PARTITION BY thread_id ORDER BY created_at, id) AS n FROM post WHERE thread_id IN ({ids})) AS r "
                "WHERE post.id = r.id"
            )

    def _update_many(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """UPDATE table SET columns… WHERE id = the last value of each row."""
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

    def _badge_icons(self) -> None:
        """Badges of the built-in catalog keep their icon (the dump has none)."""
        if not self.written.get("badge"):
            return
        from app.services.badges import RULES

        for rule in RULES:
            self.execute("UPDATE badge SET icon = :icon WHERE slug = :slug", {"icon": rule.icon, "slug": rule.slug})

    def close(self, error: BaseException | None = None) -> None:
        """Leaves the connection as it was found (the transaction is the caller's)."""
        try:
            self._end_copy(error)
        finally:
            if self._sqlite_cache_size is not None:
                self.raw.execute(f"PRAGMA cache_size = {int(self._sqlite_cache_size)}")
                self._sqlite_cache_size = None
