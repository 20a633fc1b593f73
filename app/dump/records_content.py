"""Record handlers for conversations (threads, posts, reactions, visits) and recognition."""

from typing import Any

from app.dump import format as f
from app.dump.fastmd import render
from app.dump.format import DumpError, text, timestamp
from app.dump.records import BATCH_ROWS, KIND_INDEX, TIER_RANK, RecordState
from app.dump.records import required as _required


class ContentRecords(RecordState):
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
