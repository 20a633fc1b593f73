"""Who and what the KPIs count: staff, members at a time, the circle scope, visible content, activity.

Every figure module builds on these selectables, so the words of KPIS.md ("staff",
"Members(t)", "active", "engaged", "hidden or deleted content counts nowhere") are defined
once, here, as SQL.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401  (every table registered in the metadata)

TABLES = SQLModel.metadata.tables
USER = TABLES["user"]
MEMBERSHIP = TABLES["membership"]
CIRCLE = TABLES["circle"]
INVITE = TABLES["invite"]
THREAD = TABLES["thread"]
POST = TABLES["post"]
REACTION = TABLES["reaction"]
VISIT = TABLES["visit"]
BADGE_AWARD = TABLES["badge_award"]
AMBASSADOR_GRANT = TABLES["ambassador_grant"]
PULSE = TABLES["pulse"]
ACTIVITY_DAY = TABLES["activity_day"]
ACTIVITY_MONTH = TABLES["activity_month"]
ACTIVITY_WEEK = TABLES["activity_week"]


# At most this many account ids are listed in a statement (bound parameters) instead of a subquery.
MAX_LISTED = 5_000


def midnight(day: date) -> datetime:
    """00:00Z of a UTC date."""
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Scope:
    """One computation: a connection, the database's dialect, the period and the circle."""

    conn: Connection
    dialect: str
    start: date
    end: date
    circle_id: int | None
    # The previous period of the KPI page needs its headline alone: no candidates' window.
    headline_only: bool = False
    # Results shared by several figure groups of one report (e.g. the active members per day).
    cache: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def cached(self, key: str, compute: Any) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def end_day(self) -> date:
        """The day after `end`: P is [start, end_day)."""
        return self.end + timedelta(days=1)

    @property
    def start_ts(self) -> datetime:
        return midnight(self.start)

    @property
    def end_ts(self) -> datetime:
        return midnight(self.end_day)

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.length)

    def scalar(self, statement: Any) -> Any:
        return self.conn.execute(statement).scalar()

    def one(self, statement: Any) -> Any:
        return self.conn.execute(statement).one()

    def all(self, statement: Any) -> list[Any]:
        return list(self.conn.execute(statement).all())


# PostgreSQL settings of the transaction computing a report: its aggregates sort and hash about
# a million rows, which spill to disk with the default 4 MB of work memory, and JIT compilation
# of those plans costs about half a second each while saving little (measured at 1M posts).
# No parallel workers: the report's two connections already keep both cores busy, and the
# workers only competed with them (30 days 0.95 -> 0.91 s, 365 days 2.11 -> 1.90 s, a circle
# 0.28 -> 0.26 s at a million posts, two cores).
POSTGRES_REPORT_SETTINGS = {"work_mem": "64MB", "jit": "off", "max_parallel_workers_per_gather": "0"}


def make_scope(
    session: Session | Connection, *, start: date, end: date, circle_id: int | None, headline_only: bool = False
) -> Scope:
    conn = session.connection() if isinstance(session, Session) else session
    if conn.dialect.name == "postgresql":
        for name, value in POSTGRES_REPORT_SETTINGS.items():
            conn.execute(sa.select(sa.func.set_config(name, value, True)))  # True: this transaction only
    return Scope(
        conn=conn, dialect=conn.dialect.name, start=start, end=end, circle_id=circle_id, headline_only=headline_only
    )


# Staff and members ---------------------------------------------------------------------------


def staff_ids() -> CompoundSelect[Any]:
    """Admins and current hosts, as the database stands now (one set for every period)."""
    # Two indexed lookups (`= true`, which an index serves, unlike `IS true`), not a scan of
    # every account testing each for either.
    admins = sa.select(USER.c.id).where(USER.c.is_admin == sa.true())
    hosts = sa.select(MEMBERSHIP.c.user_id).where(MEMBERSHIP.c.role == "host", MEMBERSHIP.c.state == "active")
    return sa.union(admins, hosts)


def staff_list(scope: Scope) -> list[int]:
    """The staff's ids, fetched once per report: a handful of accounts, listed in each statement
    instead of a subquery over the accounts and memberships."""
    return scope.cached("staff", lambda: sorted(user_id for (user_id,) in scope.all(staff_ids())))  # type: ignore[no-any-return]


def is_staff(scope: Scope, user_id: Any) -> ColumnElement[bool]:
    staff = staff_list(scope)
    return user_id.in_(staff) if len(staff) <= MAX_LISTED else user_id.in_(staff_ids())


def members_at(scope: Scope, t: datetime) -> Select[Any]:
    """Members(t) with the moment each joined and the invite they came through.

    Columns: `user_id`, `joined_at` (account creation, or approval in the circle), `invite_id`
    (the account's invite, or the circle membership's).
    """
    not_deleted = sa.or_(USER.c.deleted_at.is_(None), USER.c.deleted_at >= t)
    not_staff = sa.not_(is_staff(scope, USER.c.id))
    if scope.circle_id is None:
        return sa.select(
            USER.c.id.label("user_id"),
            USER.c.created_at.label("joined_at"),
            USER.c.invite_id.label("invite_id"),
        ).where(not_staff, not_deleted, USER.c.created_at < t)
    m = MEMBERSHIP
    member_at_t = (
        m.c.circle_id == scope.circle_id,
        m.c.joined_at.is_not(None),
        m.c.joined_at < t,
        sa.or_(m.c.left_at.is_(None), m.c.left_at >= t),
        # A membership that is not active has ended; without its end date we cannot place it.
        sa.or_(m.c.state == "active", m.c.left_at.is_not(None)),
    )
    columns = (m.c.user_id.label("user_id"), m.c.joined_at.label("joined_at"), m.c.invite_id.label("invite_id"))
    excluded = excluded_accounts(scope, t)
    if excluded is not None:
        # The circle's memberships alone, through its index: joining the accounts made every
        # figure read the whole account table again (PostgreSQL chose a full scan each time).
        return sa.select(*columns).where(*member_at_t, m.c.user_id.not_in(excluded))
    return sa.select(*columns).select_from(USER.join(m, m.c.user_id == USER.c.id)).where(not_staff, not_deleted, *member_at_t)


def excluded_accounts(scope: Scope, t: datetime) -> list[int] | None:
    """The staff and the accounts deleted before `t`: never in Members(t). Fetched once per
    report; None when there are too many to list."""

    def compute() -> list[int] | None:
        deleted = sa.select(USER.c.id).where(USER.c.deleted_at < t).limit(MAX_LISTED + 1)
        ids = set(staff_list(scope)) | {user_id for (user_id,) in scope.all(deleted)}
        return sorted(ids) if len(ids) <= MAX_LISTED else None

    return scope.cached(f"excluded_accounts {t.isoformat()}", compute)  # type: ignore[no-any-return]


def member_ids(scope: Scope, t: datetime | None = None) -> Select[Any]:
    """The ids of Members(t) (M when `t` is omitted)."""
    members = members_at(scope, t or scope.end_ts).subquery()
    return sa.select(members.c.user_id)


def is_member(scope: Scope, user_id: Any) -> ColumnElement[bool]:
    """`user_id` (a column referring to an account) is in M.

    Site-wide, M is nearly every account: the test is against the few accounts that are not
    members (staff, deleted, not yet registered), fetched once per report, so a figure does
    not scan the user table again. With a circle, the circle's members (an indexed subquery).
    """
    outside = non_member_ids(scope) if scope.circle_id is None else None
    if outside is None:
        return user_id.in_(member_ids(scope))
    return user_id.not_in(outside)


def non_member_ids(scope: Scope) -> list[int] | None:
    """Accounts outside the site-wide M (staff, deleted before end_ts, created at or after it).

    None when there are too many to list (a period long before most accounts were made).
    """

    def compute() -> list[int] | None:
        t = scope.end_ts
        outside = sa.or_(
            is_staff(scope, USER.c.id),
            USER.c.created_at >= t,
            sa.and_(USER.c.deleted_at.is_not(None), USER.c.deleted_at < t),
        )
        ids = [user_id for (user_id,) in scope.all(sa.select(USER.c.id).where(outside).limit(MAX_LISTED + 1))]
        return sorted(ids) if len(ids) <= MAX_LISTED else None

    return scope.cached("non_member_ids", compute)  # type: ignore[no-any-return]


def prepare(scope: Scope) -> None:
    """Computes the account lists every figure group uses (staff, accounts outside M) once, up front."""
    if scope.circle_id is None:
        non_member_ids(scope)
    else:
        excluded_accounts(scope, scope.end_ts)


def share_cache(source: Scope, other: Scope) -> Scope:
    """`other` (a scope of the same period on the same snapshot, on another connection) with
    the cache of `source`, so what one computes the other reads: the account lists, fetched
    here once, and the passes' results. Each entry is written once, by the thread that
    computes it."""
    prepare(source)
    return replace(other, cache=source.cache)


def ambassador_ids(scope: Scope) -> Select[Any]:
    """Users holding the role at end_ts: a grant before end_ts not revoked before end_ts."""
    g = AMBASSADOR_GRANT
    return sa.select(g.c.user_id).where(
        g.c.granted_at < scope.end_ts, sa.or_(g.c.revoked_at.is_(None), g.c.revoked_at >= scope.end_ts)
    )


# Visible content in scope ----------------------------------------------------------------------


def visible_post(post: Any = POST, thread: Any = THREAD) -> ColumnElement[bool]:
    """Hidden or deleted content counts nowhere (nor a post still held for approval)."""
    return sa.and_(post_shown(post), thread.c.hidden.is_(False))


def post_shown(post: Any = POST) -> ColumnElement[bool]:
    """The post itself is neither hidden, deleted, nor held for a host's approval."""
    condition = sa.and_(post.c.hidden.is_(False), post.c.deleted_at.is_(None))
    if "held" in post.c:
        condition = sa.and_(condition, post.c.held.is_(False))
    return condition


def in_circle(scope: Scope, thread: Any = THREAD) -> ColumnElement[bool]:
    return sa.true() if scope.circle_id is None else thread.c.circle_id == scope.circle_id


def posts_from() -> Any:
    return POST.join(THREAD, THREAD.c.id == POST.c.thread_id)


def reactions_from() -> Any:
    return REACTION.join(POST, POST.c.id == REACTION.c.post_id).join(THREAD, THREAD.c.id == POST.c.thread_id)


def visible_posts(scope: Scope, lo: datetime, hi: datetime) -> Select[Any]:
    """Visible posts in scope created in [lo, hi): columns are chosen by the caller."""
    return (
        sa.select()
        .select_from(posts_from())
        .where(visible_post(), in_circle(scope), POST.c.created_at >= lo, POST.c.created_at < hi)
    )


def visible_reactions(scope: Scope, lo: datetime, hi: datetime) -> Select[Any]:
    return (
        sa.select()
        .select_from(reactions_from())
        .where(visible_post(), in_circle(scope), REACTION.c.created_at >= lo, REACTION.c.created_at < hi)
    )


# Activity ------------------------------------------------------------------------------------


def activity_days(
    scope: Scope, lo: date, hi: date, rollup: Any = ACTIVITY_DAY, *, only_active: bool = True
) -> Select[Any]:
    """The rollup's rows of the scope in [lo, hi): one per user and day they were active.

    Active = a visit, a post or a reaction; engaged = a post or a reaction (`engaged()`). The
    rows are kept exact by `app.analytics.rollup`; columns are chosen by the caller. With
    `only_active=False`, also the days a user only received reactions.
    """
    statement = (
        sa.select()
        .select_from(rollup)
        .where(rollup.c.scope == (scope.circle_id or 0), rollup.c.day >= lo, rollup.c.day < hi)
    )
    return statement.where(active(rollup)) if only_active else statement


def active(rollup: Any = ACTIVITY_DAY) -> ColumnElement[bool]:
    """The row's user visited, wrote or reacted that day (not only received reactions)."""
    return (rollup.c.visits + rollup.c.posts + rollup.c.reactions) > 0


def engaged(rollup: Any = ACTIVITY_DAY) -> ColumnElement[bool]:
    """The row's user wrote or reacted that day (not only visited)."""
    return (rollup.c.posts + rollup.c.reactions) > 0
