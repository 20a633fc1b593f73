"""Reading a dump: one pass over its lines, every line checked, rows handed to a sink.

The parser needs no database: it runs in the importing process or in a process of its
own (see `pipeline`). What needs the whole file — threads without an opening post,
invites named by users before the invites' own lines, post numbers, the current
ambassador and best badge of each user — is settled when its section ends, and what
the database must still do is returned as a `Plan`.
"""

import gc
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from json.scanner import make_scanner  # type: ignore[attr-defined]
from typing import Any, Protocol

from app.dump.format import HEADER_TYPE, TYPE_INDEX, TYPES, VERSION, DumpError, key_of
from app.dump.records_content import ContentRecords
from app.dump.records_people import PeopleRecords

PROGRESS_EVERY = 20_000


class ParserSink(Protocol):
    def rows(self, table: str, rows: list[tuple[Any, ...]]) -> None: ...

    def section_done(self, name: str) -> None: ...

    def progress(self, kind: str, line: int) -> None: ...


@dataclass
class Plan:
    """What the database still has to do once every row is in (picklable: it may cross processes)."""

    renumber: list[int] = field(default_factory=list)  # threads whose posts came out of time order
    invite_uses: list[tuple[int, int]] = field(default_factory=list)  # (uses, invite id)
    # (invite_id, ambassador_since, best_badge_id, user id)
    user_updates: list[tuple[Any, ...]] = field(default_factory=list)
    site: dict[str, str] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    lines: int = 0


class Parser(PeopleRecords, ContentRecords):
    def __init__(self, sink: ParserSink, now: str) -> None:
        super().__init__(sink, now)
        self.sink: ParserSink = sink
        self.section = 0
        self.counts = dict.fromkeys(TYPES, 0)
        self.updates: dict[int, list[Any]] = {}
        self.handlers: dict[str, Callable[[dict[str, Any], int], None]] = {
            name: getattr(self, "site_record" if name == "site" else name) for name in TYPES
        }

    def run(self, lines: Iterable[str | bytes]) -> Plan:
        # Millions of long-lived tuples and dict entries: the cyclic collector would walk
        # them again and again for nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run(lines)
        finally:
            if collecting:
                gc.enable()

    def _run(self, lines: Iterable[str | bytes]) -> Plan:
        scan = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # json.loads without its wrapping
        sink = self.sink
        header_seen = False
        line = 0
        kind = TYPES[0]
        handler = self.handlers[kind]
        counts = self.counts
        for line, raw in enumerate(lines, 1):
            if raw.__class__ is not str:
                raw = _decode(raw, line)  # type: ignore[arg-type]
            try:
                record, end = scan(raw, 0)
                if end != len(raw) and not raw[end:].isspace():  # type: ignore[index]
                    raise ValueError
            except (StopIteration, ValueError):
                if raw.isspace() or not raw:  # type: ignore[union-attr]
                    continue
                record = _loads(raw, line)  # type: ignore[arg-type]
            if record.__class__ is not dict:
                raise DumpError("a line must be a JSON object", line)
            if not header_seen:
                self._header(record, line)
                header_seen = True
                continue
            record_type = record.get("type")
            if record_type != kind:
                kind = self._enter(record_type, line)
                handler = self.handlers[kind]
                sink.progress(kind, line)
            handler(record, line)
            counts[kind] += 1
            if line % PROGRESS_EVERY == 0:
                sink.progress(kind, line)
        if not header_seen:
            raise DumpError('an empty file: a dump starts with {"type": "cercle-dump", "version": 1}', 1)
        self._close_sections(len(TYPES))
        sink.progress("finishing", line)
        return self._plan(line)

    def _header(self, record: dict[str, Any], line: int) -> None:
        if record.get("type") != HEADER_TYPE:
            raise DumpError('not a Cercle dump: the first line must be {"type": "cercle-dump", "version": 1}', line)
        if record.get("version") != VERSION:
            raise DumpError(f"unsupported dump version {record.get('version')!r} (this Cercle reads {VERSION})", line)

    def _enter(self, record_type: Any, line: int) -> str:
        index = TYPE_INDEX.get(record_type) if record_type.__class__ is str else None
        if index is None:
            if record_type is None:
                raise DumpError("missing field 'type'", line)
            raise DumpError(f"unknown type {record_type!r}", line)
        if index < self.section or (index == self.section and self.counts[record_type]):
            raise DumpError(
                f"a {record_type!r} record after {TYPES[self.section]!r} records: records come grouped by type, "
                f"in the order {', '.join(TYPES)}",
                line,
            )
        self._close_sections(index)
        return record_type  # type: ignore[no-any-return]

    def _close_sections(self, upto: int) -> None:
        """Ends every section before `upto`: their rows are written before later ones refer to them."""
        while self.section < upto:
            name = TYPES[self.section]
            if name == "invite":
                self._resolve_user_invites()
            elif name == "post":
                self._check_openings()
            elif name in ("reaction", "visit"):
                self.seen.clear()
            self.flush()
            self.sink.section_done(name)
            self.section += 1

    def _resolve_user_invites(self) -> None:
        for line, user_id, value in self.user_invites:
            invite_id = self.invites.new.get(key_of(value, line, "invite"))
            if invite_id is None:
                raise DumpError(f"invite: unknown invite {value!r}", line)
            self._user_update(user_id)[0] = invite_id
            if not self.invite_circle[invite_id]:
                # A site invite is used by registering; a circle invite by the membership it gave.
                self.invite_uses[invite_id] += 1
        self.user_invites = []

    def _check_openings(self) -> None:
        for thread_id, opening_line in enumerate(self.thread_opening):
            if thread_id and not opening_line:
                raise DumpError("this thread has no opening post", self.threads.lines[thread_id])

    def _user_update(self, user_id: int) -> list[Any]:
        row = self.updates.get(user_id)
        if row is None:
            row = self.updates[user_id] = [None, None, None]
        return row

    def _plan(self, lines: int) -> Plan:
        for user_id, (_line, granted_at) in self.open_grants.items():
            self._user_update(user_id)[1] = granted_at
        for user_id, (_rank, _created_at, badge_id) in self.best_badge.items():
            self._user_update(user_id)[2] = badge_id
        return Plan(
            renumber=sorted(self.renumber),
            invite_uses=[(uses, invite_id) for invite_id, uses in enumerate(self.invite_uses) if uses],
            user_updates=[(*values, user_id) for user_id, values in sorted(self.updates.items())],
            site=self.site,
            counts={name: count for name, count in self.counts.items() if count},
            lines=lines,
        )


def _decode(raw: bytes, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DumpError(f"not UTF-8 text ({error.reason} at byte {error.start})", line) from None


def _loads(raw: str, line: int) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:
        raise DumpError(f"not valid JSON ({error})", line) from None
