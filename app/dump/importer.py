"""`import_dump`: a whole community from a dump into an empty database, all or nothing.

One pass over the lines, in one transaction: each line is checked, given a new id and
queued for a bulk insert. What needs the whole file — threads without an opening post,
invites named by users before the invites' own lines, post numbers, counters, the current
ambassador and best badge of each user — is settled when its section ends or at the end.
Any problem raises `DumpError("LINE N: …")` and the transaction is rolled back.
"""

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text as sql
from sqlmodel import Session, SQLModel

from app.dump.format import HEADER_TYPE, TYPE_INDEX, TYPES, VERSION, DumpError
from app.dump.records import RecordHandlers
from app.dump.writer import BulkWriter

Progress = Callable[[str, int], None]
PROGRESS_EVERY = 20_000
# Tables an import may find rows in: settings are replaced by the dump's site record.
IGNORED_TABLES = {"site_setting", "rate_event"}
RENUMBER_CHUNK = 500


def import_dump(session: Session, in_stream: Iterable[str | bytes], progress: Progress | None = None) -> dict[str, int]:
    """Imports a dump into `session`'s empty database; returns the number of records per type."""
    import app.models  # noqa: F401  (every table in the metadata)

    check_empty(session)
    writer = BulkWriter(session)
    importer = Importer(writer)
    try:
        importer.run(in_stream, progress)
        writer.close()
    except BaseException:
        writer.close()
        session.rollback()
        raise
    session.commit()
    return importer.summary()


def check_empty(session: Session) -> None:
    for table in SQLModel.metadata.sorted_tables:
        if table.name in IGNORED_TABLES:
            continue
        if session.execute(sql(f'SELECT 1 FROM "{table.name}" LIMIT 1')).first() is not None:
            session.rollback()
            raise DumpError(
                f"The database is not empty (table {table.name!r} has rows): a dump is imported into a new, "
                "empty database only. Create one, run `cercle migrate`, then import."
            )


class Importer(RecordHandlers):
    def __init__(self, writer: BulkWriter) -> None:
        super().__init__(writer, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
        self.section = 0
        self._updates: dict[int, list[Any]] = {}
        self.counts = dict.fromkeys(TYPES, 0)
        self.handlers: dict[str, Callable[[dict[str, Any], int], None]] = {
            name: getattr(self, "site_record" if name == "site" else name) for name in TYPES
        }

    def run(self, stream: Iterable[str | bytes], progress: Progress | None) -> None:
        loads = json.loads
        header_seen = False
        line = 0
        handler = self.handlers[TYPES[0]]
        counts = self.counts
        kind = TYPES[0]
        for line, raw in enumerate(stream, 1):
            if not raw.strip():
                continue
            try:
                record = loads(raw)
            except (ValueError, UnicodeDecodeError) as error:
                raise DumpError(f"not valid JSON ({error})", line) from None
            if type(record) is not dict:
                raise DumpError("a line must be a JSON object", line)
            if not header_seen:
                self._header(record, line)
                header_seen = True
                continue
            record_type = record.get("type")
            if record_type != kind:
                kind = self._enter(record_type, line)
                handler = self.handlers[kind]
                if progress is not None:
                    progress(kind, line)
            handler(record, line)
            counts[kind] += 1
            if progress is not None and line % PROGRESS_EVERY == 0:
                progress(kind, line)
        if not header_seen:
            raise DumpError('an empty file: a dump starts with {"type": "cercle-dump", "version": 1}', 1)
        self._close_sections(len(TYPES))
        if progress is not None:
            progress("finishing", line)
        self._finish()

    def _header(self, record: dict[str, Any], line: int) -> None:
        if record.get("type") != HEADER_TYPE:
            raise DumpError('not a Cercle dump: the first line must be {"type": "cercle-dump", "version": 1}', line)
        if record.get("version") != VERSION:
            raise DumpError(f"unsupported dump version {record.get('version')!r} (this Cercle reads {VERSION})", line)

    def _enter(self, record_type: Any, line: int) -> str:
        index = TYPE_INDEX.get(record_type) if type(record_type) is str else None
        if index is None:
            if record_type is None:
                raise DumpError("missing field 'type'", line)
            raise DumpError(f"unknown type {record_type!r}", line)
        if index < self.section:
            raise DumpError(
                f"a {record_type!r} record after {TYPES[self.section]!r} records: records come grouped by type, "
                f"in the order {', '.join(TYPES)}",
                line,
            )
        if index == self.section and self.counts[record_type]:
            return record_type  # type: ignore[no-any-return]
        self._close_sections(index)
        return record_type  # type: ignore[no-any-return]

    def _close_sections(self, upto: int) -> None:
        """Ends every section before `upto`: their rows are written before later ones refer to them."""
        self.writer.flush_all()
        while self.section < upto:
            name = TYPES[self.section]
            if name == "invite":
                self._resolve_user_invites()
            elif name == "post":
                self._check_openings()
            elif name in ("reaction", "visit"):
                self.seen.clear()
            self.section += 1

    def _resolve_user_invites(self) -> None:
        for line, user_id, key in self.user_invites:
            invite_id = self.invites.new.get(key)
            if invite_id is None:
                raise DumpError(f"invite: unknown invite {key!r}", line)
            self.user_updates(user_id)[0] = invite_id
            if not self.invite_circle[invite_id]:
                # A site invite is used by registering; a circle invite by the membership it gave.
                self.invite_uses[invite_id] += 1
        self.user_invites = []

    def _check_openings(self) -> None:
        for thread_id, opening_line in enumerate(self.thread_opening):
            if thread_id and not opening_line:
                raise DumpError("this thread has no opening post", self.threads.lines[thread_id])

    def user_updates(self, user_id: int) -> list[Any]:
        """invite_id, ambassador_since, best_badge_id: known only after later sections."""
        row = self._updates.get(user_id)
        if row is None:
            row = self._updates[user_id] = [None, None, None]
        return row

    def _finish(self) -> None:
        writer = self.writer
        self._renumber()
        writer.execute(
            "UPDATE thread SET post_count = s.visible, reply_count = s.replies, last_number = s.total, "
            "last_post_at = s.latest FROM (SELECT thread_id, count(*) AS total, "
            "sum(CASE WHEN hidden THEN 0 ELSE 1 END) AS visible, "
            "sum(CASE WHEN hidden OR opening THEN 0 ELSE 1 END) AS replies, max(created_at) AS latest "
            "FROM post GROUP BY thread_id) AS s WHERE thread.id = s.thread_id"
        )
        writer.execute(
            "UPDATE circle SET member_count = (SELECT count(*) FROM membership "
            "WHERE membership.circle_id = circle.id AND membership.state = 'active')"
        )
        writer.update_many("invite", ("uses",), [
            (uses, invite_id) for invite_id, uses in enumerate(self.invite_uses) if uses
        ])
        for user_id, (_line, granted_at) in self.open_grants.items():
            self.user_updates(user_id)[1] = granted_at
        for user_id, (_rank, _created_at, badge_id) in self.best_badge.items():
            self.user_updates(user_id)[2] = badge_id
        writer.update_many("user", ("invite_id", "ambassador_since", "best_badge_id"), [
            (*values, user_id) for user_id, values in self._updates.items()
        ])
        if self.site is not None:
            writer.execute("DELETE FROM site_setting WHERE key IN ('name', 'description', 'registration')")
            for key, value in self.site.items():
                writer.execute("INSERT INTO site_setting (key, value) VALUES (:key, :value)",
                               {"key": key, "value": json.dumps(value)})
        writer.reset_sequences()
        if writer.dialect == "postgresql":
            # Fresh statistics, so the first KPI queries after an import get good plans.
            for batch in writer.batches.values():
                if batch.written:
                    writer.execute(f'ANALYZE "{batch.table}"')

    def _renumber(self) -> None:
        """Numbers follow created_at (then file order) in threads whose posts came out of order."""
        threads = sorted(self.renumber)
        for start in range(0, len(threads), RENUMBER_CHUNK):
            ids = ", ".join(str(thread_id) for thread_id in threads[start:start + RENUMBER_CHUNK])
            self.writer.execute(f"UPDATE post SET number = -number WHERE thread_id IN ({ids})")
            self.writer.execute(
                "UPDATE post SET number = r.n FROM (SELECT id, row_number() OVER "
                f"(PARTITION BY thread_id ORDER BY created_at, id) AS n FROM post WHERE thread_id IN ({ids})) AS r "
                "WHERE post.id = r.id"
            )

    def summary(self) -> dict[str, int]:
        return {name: count for name, count in self.counts.items() if count}
