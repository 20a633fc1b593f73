"""Record handlers for the site, people, circles, invites and memberships."""

import secrets
from typing import Any

from app.dump import format as f
from app.dump.fastmd import render
from app.dump.format import DumpError, key_of, text, timestamp
from app.dump.records import BATCH_ROWS, RecordState
from app.dump.records import required as _required


class PeopleRecords(RecordState):
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
