"""One method per record type: check a dump line, give it a new id, queue its row.

Source ids map to new ids as records arrive (ids are handed out in file order, so the
parser knows them without asking the database). Everything a later line is checked
against — thread authors and dates, the thread of each post, unique pairs — is kept in
compact in-memory structures. Rows go to a `Sink` in batches: the database writer itself,
or a pipe to it when parsing runs in its own process.

These methods run millions of times: the common path is inlined, errors take the slow one.
"""

import secrets
from array import array
from typing import Any, Protocol

from app.dump import format as f
from app.dump.fastmd import render
from app.dump.format import DumpError, key_of, text, timestamp

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


class RecordHandlers:
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

    # --- records ---------------------------------------------------------------------------

    def site_record(self, r: dict[str, Any], line: int) -> None:
        if self.site is not None:
            raise DumpError("a second site record", line)
        name = text(r.get("name"), line, "name", f.SITE_NAME_MAX, required=True)
        if not name.strip():
            raise DumpError("name: must not be empty", line)
        self.site = {
            "name": name,
            "description": text(r.get("description"), line, "description", f.SITE_DESCRIPTION_MAX),
            "registration": f.choice(r.get("registration"), line, "registration", f.REGISTRATIONS),
        }

    def user(self, r: dict[str, Any], line: int) -> None:
        username = text(r.get("username"), line, "username", 1_000, required=True)
        if f.USERNAME_RE.fullmatch(username) is None:
            raise DumpError(f"username: 3 to 30 characters of a-z, 0-9 and _ ({username!r})", line)
        if username in self.usernames:
            raise DumpError(f"duplicate username {username!r} (first on line {self.usernames[username]})", line)
        deleted_at = r.get("deleted_at")
        if deleted_at is not None:
            deleted_at = timestamp(deleted_at, line, "deleted_at")
        email = r.get("email")
        if email is None:
            if deleted_at is None:
                raise DumpError("missing field 'email' (only a deleted account may have none)", line)
        else:
            email = text(email, line, "email", f.EMAIL_MAX).strip().lower()
            if f.EMAIL_RE.fullmatch(email) is None:
                raise DumpError(f"email: not an e-mail address ({email!r})", line)
            if email in self.emails:
                raise DumpError(f"duplicate email {email!r} (first on line {self.emails[email]})", line)
        password_hash = r.get("password_hash")
        if password_hash is not None:
            password_hash = text(password_hash, line, "password_hash", f.PASSWORD_HASH_MAX) or None
        bio = r.get("bio")
        bio = text(bio, line, "bio", f.BIO_MAX) if bio is not None else ""
        display_name = r.get("display_name")
        display_name = text(display_name, line, "display_name", f.DISPLAY_NAME_MAX) if display_name is not None else ""
        invited_by = r.get("invited_by")
        if invited_by is not None:
            invited_by = self.users.ref(invited_by, line, "invited_by")
        created_at = timestamp(_required(r, "created_at", line), line, "created_at")
        is_admin = r.get("is_admin")
        if is_admin is not True and is_admin is not False:
            f.flag(is_admin, line, "is_admin", required=True)
        invite = r.get("invite")
        if invite is not None:
            key_of(invite, line, "invite")
        new_id = self.users.add(r.get("id"), line)
        self.usernames[username] = line
        if email is not None:
            self.emails[email] = line
        if invite is not None:
            self.user_invites.append((line, new_id, invite))
        rows = self.pending["user"]
        rows.append(
            (
                new_id,
                username,
                email,
                display_name,
                password_hash,
                bio,
                render(bio) if bio else "",
                is_admin,
                created_at,
                deleted_at,
                invited_by,
            )
        )
        if len(rows) >= BATCH_ROWS:
            self._full("user")

    def circle(self, r: dict[str, Any], line: int) -> None:
        slug = text(r.get("slug"), line, "slug", 60, required=True)
        if f.SLUG_RE.fullmatch(slug) is None:
            raise DumpError(f"slug: 1 to 60 characters of a-z, 0-9 and - ({slug!r})", line)
        if slug in self.slugs:
            raise DumpError(f"duplicate circle slug {slug!r} (first on line {self.slugs[slug]})", line)
        name = text(r.get("name"), line, "name", f.CIRCLE_NAME_MAX, required=True)
        if not name.strip():
            raise DumpError("name: must not be empty", line)
        description = text(r.get("description"), line, "description", f.CIRCLE_DESCRIPTION_MAX)
        visibility = f.choice(r.get("visibility"), line, "visibility", f.VISIBILITIES)
        created_at = timestamp(_required(r, "created_at", line), line, "created_at")
        created_by = self.users.ref(r.get("created_by"), line, "created_by")
        new_id = self.circles.add(r.get("id"), line)
        self.slugs[slug] = line
        self.pending["circle"].append(
            (
                new_id,
                slug,
                name,
                description,
                render(description) if description else "",
                visibility,
                True,
                created_at,
                created_by,
                0,
            )
        )

    def invite(self, r: dict[str, Any], line: int) -> None:
        circle = self.circles.optional(r.get("circle"), line, "circle")
        created_by = self.users.ref(r.get("created_by"), line, "created_by")
        created_at = timestamp(_required(r, "created_at", line), line, "created_at")
        expires_at = r.get("expires_at")
        if expires_at is not None:
            expires_at = timestamp(expires_at, line, "expires_at")
        max_uses = r.get("max_uses")
        if max_uses is not None:
            max_uses = f.integer(max_uses, line, "max_uses", 1, f.MAX_USES_MAX)
        new_id = self.invites.add(r.get("id"), line)
        self.invite_circle.append(circle or 0)
        self.invite_creator.append(created_by)
        self.invite_uses.append(0)
        # The source's codes are not carried over: links sent before the move stop working.
        code = secrets.token_urlsafe(24)
        rows = self.pending["invite"]
        rows.append((new_id, code, circle, created_by, created_at, expires_at, max_uses, 0, ""))
        if len(rows) >= BATCH_ROWS:
            self._full("invite")

    def membership(self, r: dict[str, Any], line: int) -> None:
        user = self.users.ref(r.get("user"), line, "user")
        circle = self.circles.ref(r.get("circle"), line, "circle")
        role = r.get("role")
        if role != "member" and role != "host":
            f.choice(role, line, "role", f.ROLES)
        joined_at = timestamp(_required(r, "joined_at", line), line, "joined_at")
        left_at = r.get("left_at")
        if left_at is not None:
            left_at = timestamp(left_at, line, "left_at")
            if left_at < joined_at:
                raise DumpError("left_at: before joined_at", line)
        invite = r.get("invite")
        invited_by = None
        if invite is not None:
            invite = self.invites.ref(invite, line, "invite")
            if self.invite_circle[invite] != circle:
                raise DumpError(f"invite: {r['invite']!r} is not an invite to this circle", line)
            invited_by = self.invite_creator[invite]
            self.invite_uses[invite] += 1
        pair = -(user << 32 | circle)
        if pair in self.pairs:
            raise DumpError(
                f"duplicate membership of user {r['user']!r} in circle {r['circle']!r} "
                f"(first on line {self.pairs[pair]})",
                line,
            )
        self.pairs[pair] = line
        self.membership_count += 1
        rows = self.pending["membership"]
        rows.append(
            (
                self.membership_count,
                user,
                circle,
                role,
                "active" if left_at is None else "left",
                joined_at,
                "",
                joined_at,
                left_at,
                invite,
                invited_by,
            )
        )
        if len(rows) >= BATCH_ROWS:
            self._full("membership")

    def thread(self, r: dict[str, Any], line: int) -> None:
        circle = self.circles.ref(r.get("circle"), line, "circle")
        author = self.users.ref(r.get("author"), line, "author")
        title = r.get("title")
        if title.__class__ is not str or len(title) > f.TITLE_MAX or not title.isascii():
            title = text(title, line, "title", f.TITLE_MAX, required=True)
        if not title.strip():
            raise DumpError("title: must not be empty", line)
        created_at = timestamp(_required(r, "created_at", line), line, "created_at")
        pinned, locked, hidden = r.get("pinned"), r.get("locked"), r.get("hidden")
        pinned = f.flag(pinned, line, "pinned") if pinned is not None else False
        locked = f.flag(locked, line, "locked") if locked is not None else False
        hidden = f.flag(hidden, line, "hidden") if hidden is not None else False
        new_id = self.threads.add(r.get("id"), line)
        self.thread_author.append(author)
        self.thread_created.append(created_at)
        self.thread_opening.append(0)
        self.thread_posts.append(0)
        self.thread_latest.append(created_at)
        rows = self.pending["thread"]
        rows.append((new_id, circle, author, title, created_at, created_at, 0, 0, 0, pinned, locked, hidden))
        if len(rows) >= BATCH_ROWS:
            self._full("thread")

    def post(self, r: dict[str, Any], line: int) -> None:
        thread = self.threads.ref(r.get("thread"), line, "thread")
        author = self.users.ref(r.get("author"), line, "author")
        body = r.get("body")
        if body.__class__ is not str or len(body) > f.BODY_MAX or not body.isascii():
            body = text(body, line, "body", f.BODY_MAX, required=True)
        created_at = timestamp(_required(r, "created_at", line), line, "created_at")
        opening = r.get("opening")
        if opening is True:
            if self.thread_opening[thread]:
                raise DumpError(
                    f"thread {r['thread']!r} already has an opening post (line {self.thread_opening[thread]})", line
                )
            if author != self.thread_author[thread]:
                raise DumpError("an opening post must be by its thread's author", line)
            if created_at != self.thread_created[thread]:
                raise DumpError("an opening post must be created at its thread's created_at", line)
            self.thread_opening[thread] = line
        elif opening is False:
            if created_at <= self.thread_created[thread]:
                raise DumpError("a reply must be strictly later than its thread's opening post", line)
        else:
            f.flag(opening, line, "opening", required=True)
        reply_to = r.get("reply_to")
        if reply_to is not None:
            reply_to = self.posts.ref(reply_to, line, "reply_to")
            if self.post_thread[reply_to] != thread:
                raise DumpError(f"reply_to: post {r['reply_to']!r} is in another thread", line)
        edited_at = r.get("edited_at")
        if edited_at is not None:
            edited_at = timestamp(edited_at, line, "edited_at")
        hidden = r.get("hidden")
        hidden = f.flag(hidden, line, "hidden") if hidden is not None else False
        new_id = self.posts.add(r.get("id"), line)
        self.post_thread.append(thread)
        number = self.thread_posts[thread] + 1
        self.thread_posts[thread] = number
        # Numbers follow created_at; a thread whose posts come out of order is renumbered at the end.
        if created_at < self.thread_latest[thread]:
            self.renumber.add(thread)
        else:
            self.thread_latest[thread] = created_at
        rows = self.pending["post"]
        rows.append(
            (new_id, thread, number, author, body, render(body), opening, reply_to, created_at, edited_at, hidden)
        )
        if len(rows) >= BATCH_ROWS:
            self._full("post")

    def reaction(self, r: dict[str, Any], line: int) -> None:
        post = self.posts.ref(r.get("post"), line, "post")
        user = self.users.ref(r.get("user"), line, "user")
        kind = r.get("kind")
        kind_index = KIND_INDEX.get(kind) if kind.__class__ is str else None
        if kind_index is None:
            f.choice(kind, line, "kind", f.REACTION_KINDS)
        created_at = timestamp(_required(r, "created_at", line), line, "created_at")
        unique = (post << 32 | user) << 2 | kind_index  # type: ignore[operator]
        if unique in self.seen:
            raise DumpError(f"duplicate reaction {kind!r} of user {r['user']!r} on post {r['post']!r}", line)
        self.seen.add(unique)
        self.reaction_count += 1
        rows = self.pending["reaction"]
        rows.append((self.reaction_count, post, user, kind, created_at))
        if len(rows) >= BATCH_ROWS:
            self._full("reaction")

    def visit(self, r: dict[str, Any], line: int) -> None:
        user = self.users.ref(r.get("user"), line, "user")
        day = r.get("day")
        day_index = self.days.get(day) if day.__class__ is str else None
        if day_index is None:
            day = f.day(_required(r, "day", line), line, "day")
            day_index = self.days[day] = len(self.days)
        circle = r.get("circle")
        if circle is not None:
            circle = self.circles.ref(circle, line, "circle")
        unique = (user << 24 | (circle or 0)) << 24 | day_index
        if unique in self.seen:
            raise DumpError(
                f"duplicate visit of user {r['user']!r} on {day}" + (f" to circle {r['circle']!r}" if circle else ""),
                line,
            )
        self.seen.add(unique)
        self.visit_count += 1
        rows = self.pending["visit"]
        rows.append((self.visit_count, user, day, circle, circle or 0))
        if len(rows) >= BATCH_ROWS:
            self._full("visit")

    def badge(self, r: dict[str, Any], line: int) -> None:
        slug = text(r.get("slug"), line, "slug", 60, required=True)
        if f.SLUG_RE.fullmatch(slug) is None:
            raise DumpError(f"slug: 1 to 60 characters of a-z, 0-9 and - ({slug!r})", line)
        if slug in self.badge_slugs:
            raise DumpError(f"duplicate badge slug {slug!r} (first on line {self.badge_slugs[slug]})", line)
        name = text(r.get("name"), line, "name", f.BADGE_NAME_MAX, required=True)
        if not name.strip():
            raise DumpError("name: must not be empty", line)
        description = text(r.get("description"), line, "description", f.BADGE_DESCRIPTION_MAX, required=True)
        tier = f.choice(r.get("tier"), line, "tier", f.TIERS)
        automatic = f.flag(r.get("automatic"), line, "automatic", required=True)
        new_id = self.badges.add(r.get("id"), line)
        self.badge_slugs[slug] = line
        self.badge_tier.append(TIER_RANK[tier])
        self.pending["badge"].append((new_id, slug, name, description, tier, "star", automatic, self.now))

    def badge_award(self, r: dict[str, Any], line: int) -> None:
        badge = self.badges.ref(r.get("badge"), line, "badge")
        user = self.users.ref(r.get("user"), line, "user")
        awarded_by = self.users.optional(r.get("awarded_by"), line, "awarded_by")
        reason = r.get("reason")
        reason = text(reason, line, "reason", f.REASON_MAX) if reason is not None else ""
        created_at = timestamp(_required(r, "created_at", line), line, "created_at")
        pair = user << 32 | badge
        if pair in self.pairs:
            raise DumpError(
                f"duplicate award of badge {r['badge']!r} to user {r['user']!r} (first on line {self.pairs[pair]})",
                line,
            )
        self.pairs[pair] = line
        self.award_count += 1
        # The profile shows the best tier, the latest award breaking ties (as badges.refresh_best_badge).
        rank = (self.badge_tier[badge], created_at, badge)
        if rank > self.best_badge.get(user, (0, "", 0)):
            self.best_badge[user] = rank
        rows = self.pending["badge_award"]
        rows.append((self.award_count, badge, user, awarded_by, reason, created_at))
        if len(rows) >= BATCH_ROWS:
            self._full("badge_award")

    def ambassador_grant(self, r: dict[str, Any], line: int) -> None:
        user = self.users.ref(r.get("user"), line, "user")
        granted_by = self.users.ref(r.get("granted_by"), line, "granted_by")
        reason = text(r.get("reason"), line, "reason", f.REASON_MAX)
        granted_at = timestamp(_required(r, "granted_at", line), line, "granted_at")
        revoked_at = r.get("revoked_at")
        revoked_by = self.users.optional(r.get("revoked_by"), line, "revoked_by")
        if revoked_at is None:
            if revoked_by is not None:
                raise DumpError("revoked_by without revoked_at", line)
            if user in self.open_grants:
                raise DumpError(
                    f"user {r['user']!r} already holds an unrevoked ambassador grant "
                    f"(line {self.open_grants[user][0]})",
                    line,
                )
            self.open_grants[user] = (line, granted_at)
        else:
            revoked_at = timestamp(revoked_at, line, "revoked_at")
            if revoked_at < granted_at:
                raise DumpError("revoked_at: before granted_at", line)
        self.grant_count += 1
        rows = self.pending["ambassador_grant"]
        rows.append((self.grant_count, user, granted_by, reason, granted_at, revoked_at, revoked_by, ""))
        if len(rows) >= BATCH_ROWS:
            self._full("ambassador_grant")

    def pulse(self, r: dict[str, Any], line: int) -> None:
        user = self.users.ref(r.get("user"), line, "user")
        score = f.integer(r.get("score"), line, "score", 0, 10)
        comment = r.get("comment")
        comment = text(comment, line, "comment", f.REASON_MAX) if comment is not None else ""
        created_at = timestamp(_required(r, "created_at", line), line, "created_at")
        self.pulse_count += 1
        rows = self.pending["pulse"]
        rows.append((self.pulse_count, user, score, comment, created_at))
        if len(rows) >= BATCH_ROWS:
            self._full("pulse")


def _required(record: dict[str, Any], name: str, line: int) -> Any:
    value = record.get(name)
    if value is None:
        raise DumpError(f"missing field '{name}'", line)
    return value
