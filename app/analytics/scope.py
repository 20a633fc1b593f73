"""Who and what the KPIs count: staff, members at a time, the circle scope, visible content, activity.

Every figure module builds on these selectables, so the words of KPIS.md ("staff",
"Members(t)", "active", "engaged", "hidden or deleted content counts nowhere") are defined
once, here, as SQL.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401  (every table registered in the metadata)
from app.analytics.dialect import month_of_date, month_of_timestamp, utc_date

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


def make_scope(session: Session, *, start: date, end: date, circle_id: int | None) -> Scope:
    conn = session.connection()
    return Scope(conn=conn, dialect=conn.dialect.name, start=start, end=end, circle_id=circle_id)


# Staff and members ---------------------------------------------------------------------------


def staff_ids() -> Select[Any]:
    """Admins and current hosts, as the database stands now (one set for every period)."""
    hosts = sa.select(MEMBERSHIP.c.user_id).where(MEMBERSHIP.c.role == "host", MEMBERSHIP.c.state == "active")
    return sa.select(USER.c.id).where(sa.or_(USER.c.is_admin.is_(True), USER.c.id.in_(hosts)))


def is_staff(user_id: Any) -> ColumnElement[bool]:
    return user_id.in_(staff_ids())


def members_at(scope: Scope, t: datetime) -> Select[Any]:
    """Members(t) with the moment each joined and the invite they came through.

    Columns: `user_id`, `joined_at` (account creation, or approval in the circle), `invite_id`
    (the account's invite, or the circle membership's).
    """
    not_deleted = sa.or_(USER.c.deleted_at.is_(None), USER.c.deleted_at >= t)
    not_staff = sa.not_(is_staff(USER.c.id))
    if scope.circle_id is None:
        return sa.select(
            USER.c.id.label("user_id"),
            USER.c.created_at.label("joined_at"),
            USER.c.invite_id.label("invite_id"),
        ).where(not_staff, not_deleted, USER.c.created_at < t)
    m = MEMBERSHIP
    return (
        sa.select(
            USER.c.id.label("user_id"),
            m.c.joined_at.label("joined_at"),
            m.c.invite_id.label("invite_id"),
        )
        .select_from(USER.join(m, m.c.user_id == USER.c.id))
        .where(
            not_staff,
            not_deleted,
            m.c.circle_id == scope.circle_id,
            m.c.joined_at.is_not(None),
            m.c.joined_at < t,
            sa.or_(m.c.left_at.is_(None), m.c.left_at >= t),
            # A membership that is not active has ended; without its end date we cannot place it.
            sa.or_(m.c.state == "active", m.c.left_at.is_not(None)),
        )
    )


def member_ids(scope: Scope, t: datetime | None = None) -> Select[Any]:
    """The ids of Members(t) (M when `t` is omitted)."""
    members = members_at(scope, t or scope.end_ts).subquery()
    return sa.select(members.c.user_id)


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


def activity(
    scope: Scope,
    lo: date,
    hi: date,
    *,
    engaged_only: bool = False,
    grain: str | None = "day",
    users: Any = None,
) -> Any:
    """Distinct (user_id, day) pairs of activity in [lo, hi), anyone's, in scope.

    Active = a visit, a post or a reaction; engaged = a post or a reaction. A post or reaction
    happens on the UTC date of its `created_at`, a visit on its `day`.

    `grain` picks the second column: "day" (the default), "month" ('YYYY-MM', as `month`) or
    None (distinct users only). `users`, a select of user ids, keeps only their activity: it
    is applied in each branch, before the union removes duplicates, so the union stays small.
    """
    lo_ts, hi_ts = midnight(lo), midnight(hi)

    def columns(user: Any, *, timestamp: Any = None, day: Any = None) -> list[Any]:
        out = [user.label("user_id")]
        if grain == "day":
            out.append((utc_date(timestamp, scope.dialect) if timestamp is not None else day).label("day"))
        elif grain == "month":
            month = (
                month_of_timestamp(timestamp, scope.dialect)
                if timestamp is not None
                else month_of_date(day, scope.dialect)
            )
            out.append(month.label("month"))
        return out

    posts = visible_posts(scope, lo_ts, hi_ts).add_columns(*columns(POST.c.author_id, timestamp=POST.c.created_at))
    reactions = visible_reactions(scope, lo_ts, hi_ts).add_columns(
        *columns(REACTION.c.user_id, timestamp=REACTION.c.created_at)
    )
    if users is not None:
        posts = posts.where(POST.c.author_id.in_(users))
        reactions = reactions.where(REACTION.c.user_id.in_(users))
    parts: list[Any] = [posts, reactions]
    if not engaged_only:
        visits = sa.select(*columns(VISIT.c.user_id, day=VISIT.c.day)).where(VISIT.c.day >= lo, VISIT.c.day < hi)
        if scope.circle_id is not None:
            visits = visits.where(VISIT.c.circle_id == scope.circle_id)
        if users is not None:
            visits = visits.where(VISIT.c.user_id.in_(users))
        parts.append(visits)
    return sa.union(*parts).subquery()


def member_activity(scope: Scope, lo: date, hi: date, *, engaged_only: bool = False, grain: str | None = "day") -> Any:
    """`activity` restricted to the members of M (filtered in each branch, before the union)."""
    return activity(scope, lo, hi, engaged_only=engaged_only, grain=grain, users=member_ids(scope))
