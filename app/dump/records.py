"""What the record handlers share (records_people.py, records_content.py: one method per type).

Each handler checks a dump line, gives it a new id and queues its row. Source ids map to
new ids as records arrive (ids are handed out in file order, so the
parser knows them without asking the database). Everything a later line is checked
against — thread authors and dates, the thread of each post, unique pairs — is kept in
compact in-memory structures. Rows go to a `Sink` in batches: the database writer itself,
or a pipe to it when parsing runs in its own process.

These methods run millions of times: the common path is inlined, errors take the slow one.
"""

from array import array
from typing import Any, Protocol

from app.dump import format as f
from app.dump.format import DumpError, key_of

BATCH_ROWS = 5_000
TIER_RANK = {"bronze": 1, "silver": 2, "gold": 3}
KIND_INDEX = {kind: index for index, kind in enumerate(f.REACTION_KINDS)}

COLUMNS = {
    "user": (
        "id",
        "username",
        "email",
        "display_name",
        "password_hash",
        "bio_md",
        "bio_html",
        "is_admin",
        "created_at",
        "deleted_at",
        "invited_by_id",
    ),
    "circle": (
        "id",
        "slug",
        "name",
        "description_md",
        "description_html",
        "visibility",
        "member_invites",
        "created_at",
        "created_by_id",
        "member_count",
    ),
    "invite": ("id", "code", "circle_id", "created_by_id", "created_at", "expires_at", "max_uses", "uses", "note"),
    "membership": (
        "id",
        "user_id",
        "circle_id",
        "role",
        "state",
        "requested_at",
        "request_message",
        "joined_at",
        "left_at",
        "invite_id",
        "invited_by_id",
    ),
    "thread": (
        "id",
        "circle_id",
        "author_id",
        "title",
        "created_at",
        "last_post_at",
        "reply_count",
        "post_count",
        "last_number",
        "pinned",
        "locked",
        "hidden",
    ),
    "post": (
        "id",
        "thread_id",
        "number",
        "author_id",
        "body_md",
        "body_html",
        "opening",
        "reply_to_id",
        "created_at",
        "edited_at",
        "hidden",
    ),
    "reaction": ("id", "post_id", "user_id", "kind", "created_at"),
    "visit": ("id", "user_id", "day", "circle_id", "scope"),
    "badge": ("id", "slug", "name", "description", "tier", "icon", "automatic", "created_at"),
    "badge_award": ("id", "badge_id", "user_id", "awarded_by_id", "reason", "created_at"),
    "ambassador_grant": (
        "id",
        "user_id",
        "granted_by_id",
        "reason",
        "granted_at",
        "revoked_at",
        "revoked_by_id",
        "revoke_reason",
    ),
    "pulse": ("id", "user_id", "score", "comment", "created_at"),
}


class Sink(Protocol):
    def rows(self, table: str, rows: list[tuple[Any, ...]]) -> None: ...


class Ids:
    """Source id → new id for one type, with the line each came from."""

    __slots__ = ("label", "new", "lines")

    def __init__(self, label: str) -> None:
        self.label = label
        self.new: dict[int | str, int] = {}
        self.lines = array("q", [0])

    def add(self, value: Any, line: int) -> int:
        if value is None:
            raise DumpError("missing field 'id'", line)
        key = key_of(value, line, "id")
        if key in self.new:
            raise DumpError(f"duplicate {self.label} id {value!r} (first on line {self.lines[self.new[key]]})", line)
        new_id = len(self.lines)
        self.new[key] = new_id
        self.lines.append(line)
        return new_id

    def ref(self, value: Any, line: int, name: str) -> int:
        new_id = self.new.get(value) if value.__class__ is int else None
        if new_id is None:
            if value is None:
                raise DumpError(f"missing field '{name}'", line)
            new_id = self.new.get(key_of(value, line, name))
            if new_id is None:
                raise DumpError(
                    f"{name}: unknown {self.label} {value!r} (a record may only refer to earlier ones)", line
                )
        return new_id

    def optional(self, value: Any, line: int, name: str) -> int | None:
        return None if value is None else self.ref(value, line, name)


class RecordState:
    """What the record handlers share: ids, pending rows, and what later lines are checked against."""

    def __init__(self, sink: Sink, now: str) -> None:
        self.sink = sink
        self.now = now
        self.users, self.circles, self.invites = Ids("user"), Ids("circle"), Ids("invite")
        self.threads, self.posts, self.badges = Ids("thread"), Ids("post"), Ids("badge")
        self.pending: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
        self.usernames: dict[str, int] = {}
        self.emails: dict[str, int] = {}
        self.slugs: dict[str, int] = {}
        self.badge_slugs: dict[str, int] = {}
        self.site: dict[str, str] | None = None
        # Users name the invite they came through before the invites' own lines:
        # (line, user id, invite id as given), checked when the invites are known.
        self.user_invites: list[tuple[int, int, Any]] = []
        self.invite_circle = array("q", [0])
        self.invite_creator = array("q", [0])
        self.invite_uses = array("q", [0])
        self.pairs: dict[int, int] = {}  # membership and badge award unique pairs → line
        self.seen: set[int] = set()  # reaction, then visit unique keys
        self.membership_count = self.reaction_count = self.visit_count = 0
        self.award_count = self.grant_count = self.pulse_count = 0
        # Per thread: author, created_at, opening post line, posts so far, latest post time.
        self.thread_author = array("q", [0])
        self.thread_created: list[str] = [""]
        self.thread_opening = array("q", [0])
        self.thread_posts = array("q", [0])
        self.thread_latest: list[str] = [""]
        self.renumber: set[int] = set()
        self.post_thread = array("q", [0])
        self.badge_tier = array("q", [0])
        self.best_badge: dict[int, tuple[int, str, int]] = {}
        self.open_grants: dict[int, tuple[int, str]] = {}  # user → (line, granted_at)
        self.days: dict[str, int] = {}

    def _full(self, table: str) -> None:
        rows = self.pending[table]
        self.pending[table] = []
        self.sink.rows(table, rows)

    def flush(self) -> None:
        for table, rows in self.pending.items():
            if rows:
                self._full(table)


def required(record: dict[str, Any], name: str, line: int) -> Any:
    value = record.get(name)
    if value is None:
        raise DumpError(f"missing field '{name}'", line)
    return value
