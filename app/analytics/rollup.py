"""The daily activity rollup (`activity_day`): who was active or engaged on which day, in which scope.

Rebuilding "activity" (visits ∪ posts ∪ reactions, visible content only) from the raw rows
for every figure made the KPI report scan millions of rows several times. The rollup holds
one row per user, UTC day and scope (0 for the site, or a circle id) with the counts of that
cell, so the figures read a few index ranges instead.

It is derived data, and exact: `activity_rows()` is the one definition of a cell, from the
raw rows under KPIS.md's rules. Writes recompute the cells they touch from that same
definition, in their own transaction (`refresh`): posts, reactions, visits and threads
written through the ORM by the session hook of `app.models.activity`, bulk statements by an
explicit call. The importer and `python -m app.analytics.rollup rebuild` rebuild it whole.

`activity_month` (the months each user was active) and `activity_week` (each user's week
in sums) are derived from `activity_day` and refreshed with it.

Cells are addressed as {user_id: {day, …}}: every scope of those (user, day) pairs is
recomputed, so a thread moving between circles needs nothing special.
"""

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.analytics.dialect import add_months, monday, month_start, utc_date, week_start
from app.analytics.scope import (
    ACTIVITY_DAY,
    ACTIVITY_MONTH,
    ACTIVITY_WEEK,
    POST,
    REACTION,
    THREAD,
    VISIT,
    active,
    engaged,
    midnight,
    posts_from,
    reactions_from,
    visible_post,
)

MONTH_COLUMNS = ("user_id", "scope", "month")
WEEK_COLUMNS = ("scope", "week", "user_id", "active_days", "engaged_days", "posts", "received")
COUNTS = ("visits", "posts", "replies", "reactions", "received")
COLUMNS = ("user_id", "day", "scope", *COUNTS)
Cells = dict[int, set[date]]
# Users per refresh statement: keeps the OR of cell conditions short.
CHUNK = 100
# PostgreSQL advisory lock namespace of rollup cells (two-key form: namespace, user id).
LOCK_NAMESPACE = 5_247


# The definition of a cell ------------------------------------------------------------------


def _constant(value: int) -> Any:
    return sa.literal_column(str(value), sa.Integer)


def _sources(dialect: str, cells: Mapping[int, set[date]] | None) -> Any:
    """Every countable event as (user_id, day, circle_id, visits, posts, replies, reactions, received)."""
    zero, one = _constant(0), _constant(1)
    posts = (
        sa.select(
            POST.c.author_id.label("user_id"),
            utc_date(POST.c.created_at, dialect).label("day"),
            THREAD.c.circle_id.label("circle_id"),
            zero.label("visits"),
            one.label("posts"),
            sa.case((POST.c.opening.is_(True), 0), else_=1).label("replies"),
            zero.label("reactions"),
            zero.label("received"),
        )
        .select_from(posts_from())
        .where(visible_post())
    )
    reaction_day = utc_date(REACTION.c.created_at, dialect)
    reactions = (
        sa.select(REACTION.c.user_id, reaction_day, THREAD.c.circle_id, zero, zero, zero, one, zero)
        .select_from(reactions_from())
        .where(visible_post())
    )
    # The same reactions, from the side of the post's author (on the day of the reaction).
    received = (
        sa.select(POST.c.author_id, reaction_day, THREAD.c.circle_id, zero, zero, zero, zero, one)
        .select_from(reactions_from())
        .where(visible_post(), REACTION.c.user_id != POST.c.author_id)
    )
    # Any visit row counts for the site; a circle's rows for that circle (the site's has none).
    visits = sa.select(VISIT.c.user_id, VISIT.c.day, VISIT.c.circle_id, one, zero, zero, zero, zero)
    if cells is not None:
        posts = posts.where(_moment_in_cells(POST.c.author_id, POST.c.created_at, cells, dialect))
        reactions = reactions.where(_moment_in_cells(REACTION.c.user_id, REACTION.c.created_at, cells, dialect))
        received = received.where(_moment_in_cells(POST.c.author_id, REACTION.c.created_at, cells, dialect))
        visits = visits.where(_day_in_cells(VISIT.c.user_id, VISIT.c.day, cells))
    return sa.union_all(posts, reactions, received, visits).subquery("events")


def activity_rows(dialect: str, cells: Mapping[int, set[date]] | None = None) -> Any:
    """The rollup's rows as the raw rows say (only those of `cells` when given), columns COLUMNS."""
    events = _sources(dialect, cells)
    sums = [sa.func.sum(events.c[name]).label(name) for name in COUNTS]
    per_circle = (
        sa.select(events.c.user_id, events.c.day, events.c.circle_id, *sums)
        .group_by(events.c.user_id, events.c.day, events.c.circle_id)
        .cte("per_circle")
    )
    circle_rows = sa.select(
        per_circle.c.user_id,
        per_circle.c.day,
        per_circle.c.circle_id.label("scope"),
        *(per_circle.c[n] for n in COUNTS),
    ).where(per_circle.c.circle_id.is_not(None))
    site_rows = sa.select(
        per_circle.c.user_id,
        per_circle.c.day,
        _constant(0).label("scope"),
        *(sa.func.sum(per_circle.c[name]).label(name) for name in COUNTS),
    ).group_by(per_circle.c.user_id, per_circle.c.day)
    return sa.union_all(circle_rows, site_rows)


def _moment_in_cells(user: Any, moment: Any, cells: Mapping[int, set[date]], dialect: str) -> Any:
    """A timestamp's (user, UTC day) is one of `cells`; the range lets the (user, time) index serve."""
    conditions = []
    for user_id, days in cells.items():
        first, last = min(days), max(days)
        condition = sa.and_(user == user_id, moment >= midnight(first), moment < midnight(last + timedelta(days=1)))
        if len(days) <= (last - first).days:  # not every day of the range: pick them
            condition = sa.and_(condition, utc_date(moment, dialect).in_(sorted(days)))
        conditions.append(condition)
    return sa.or_(*conditions)


def _day_in_cells(user: Any, day: Any, cells: Mapping[int, set[date]]) -> Any:
    return sa.or_(*(sa.and_(user == user_id, day.in_(sorted(days))) for user_id, days in cells.items()))


def month_rows(dialect: str, months: Mapping[int, set[date]] | None = None) -> Any:
    """`activity_month` as `activity_day` says (only `months`, {user_id: first days}, when given)."""
    month = month_start(ACTIVITY_DAY.c.day, dialect)
    statement = (
        sa.select(ACTIVITY_DAY.c.user_id, ACTIVITY_DAY.c.scope, month.label("month")).where(active()).distinct()
    )
    if months is not None:
        statement = statement.where(_periods_of(month, months, lambda first: add_months(first, 1)))
    return statement


def week_rows(dialect: str, weeks: Mapping[int, set[date]] | None = None) -> Any:
    """`activity_week` as `activity_day` says (only `weeks`, {user_id: Mondays}, when given)."""
    a = ACTIVITY_DAY
    week = week_start(a.c.day, dialect)
    statement = sa.select(
        a.c.scope,
        week.label("week"),
        a.c.user_id,
        sa.func.count(sa.case((active(), 1))).label("active_days"),
        sa.func.count(sa.case((engaged(), 1))).label("engaged_days"),
        sa.func.sum(a.c.posts).label("posts"),
        sa.func.sum(a.c.received).label("received"),
    ).group_by(a.c.scope, week, a.c.user_id)
    if weeks is not None:
        statement = statement.where(_periods_of(week, weeks, lambda monday: monday + timedelta(days=7)))
    return statement


def _periods_of(period: Any, periods: Mapping[int, set[date]], end_of: Callable[[date], date]) -> Any:
    """The day rows of some users' months or weeks: {user_id: first days}; `period` is the
    first day of a row's period, `end_of` the day after a period."""
    day = ACTIVITY_DAY.c.day
    return sa.or_(
        *(
            sa.and_(
                ACTIVITY_DAY.c.user_id == user_id,
                day >= min(firsts),
                day < end_of(max(firsts)),
                period.in_(sorted(firsts)),
            )
            for user_id, firsts in periods.items()
        )
    )


@dataclass(frozen=True)
class Derived:
    """A table derived from `activity_day` by period (months, weeks), refreshed and checked with it."""

    table: sa.Table
    period: str  # the column of the period's first day
    columns: tuple[str, ...]
    first_day: Callable[[date], date]  # of the period holding a day
    rows: Callable[[str, Mapping[int, set[date]] | None], Any]  # `month_rows` or `week_rows`


DERIVED = (
    Derived(ACTIVITY_MONTH, "month", MONTH_COLUMNS, lambda day: day.replace(day=1), month_rows),
    Derived(ACTIVITY_WEEK, "week", WEEK_COLUMNS, monday, week_rows),
)


# Keeping it exact ------------------------------------------------------------------------------


def rebuild(connection: Connection, *, weeks: bool = True) -> None:
    """Recomputes the whole rollup from the raw rows (importer, migration, repair).

    `weeks=False`: not `activity_week` (migration 0005 ran before that table existed)."""
    connection.execute(ACTIVITY_DAY.delete())
    rows = activity_rows(connection.dialect.name)
    if connection.dialect.name == "postgresql":
        # Written in key order, a period of one scope lies on adjacent pages of the table: the
        # reports read (scope, day) ranges, which were spread over the whole table (a circle's
        # 30 days: 14,865 of its 31,129 pages at a million posts). SQLite stores them in key order.
        rows = rows.order_by(sa.column("scope"), sa.column("day"), sa.column("user_id"))
    connection.execute(ACTIVITY_DAY.insert().from_select(COLUMNS, rows))
    connection.execute(ACTIVITY_MONTH.delete())
    connection.execute(ACTIVITY_MONTH.insert().from_select(MONTH_COLUMNS, month_rows(connection.dialect.name)))
    if weeks:
        rebuild_weeks(connection)


def rebuild_weeks(connection: Connection) -> None:
    """Recomputes `activity_week` from `activity_day`."""
    connection.execute(ACTIVITY_WEEK.delete())
    rows = week_rows(connection.dialect.name)
    if connection.dialect.name == "postgresql":
        rows = rows.order_by(sa.column("scope"), sa.column("week"), sa.column("user_id"))  # see rebuild()
    connection.execute(ACTIVITY_WEEK.insert().from_select(WEEK_COLUMNS, rows))


def refresh(
    session: Session | Connection,
    *,
    cells: Mapping[int, Iterable[date]] | None = None,
    post_ids: Iterable[int] = (),
    thread_ids: Iterable[int] = (),
    author_id: int | None = None,
    reactions_on: Mapping[int, Iterable[date]] | None = None,
) -> None:
    """Recomputes the cells touched by a write, in the writer's transaction.

    `cells`: {user_id: days}. `post_ids`: those posts' and their reactions' cells (a post
    hidden, deleted, restored…). `thread_ids`: every post and reaction of those threads (a
    thread hidden or moved). `author_id`: every post of that author, their reactions, and the
    threads they opened (an account erased with its posts). `reactions_on`: {post_id: days}
    of reactions added or taken back, for their authors' `received` (the reactors go in `cells`).
    """
    connection = session.connection() if isinstance(session, Session) else session
    wanted: Cells = defaultdict(set)
    for user_id, days in (cells or {}).items():
        wanted[user_id].update(days)
    if reactions_on:
        authors = sa.select(POST.c.id, POST.c.author_id).where(POST.c.id.in_(sorted(reactions_on)))
        for post_id, post_author in connection.execute(authors):
            wanted[post_author].update(reactions_on[post_id])
    for condition in _content_conditions(set(post_ids), set(thread_ids), author_id):
        for user_id, moment in connection.execute(_moments_of(condition)):
            wanted[user_id].add(_utc_day(moment))
    if not wanted:
        return
    if connection.dialect.name == "postgresql":
        # Two writers refreshing one cell take turns, so the later one sees the other's rows.
        for user_id in sorted(wanted):
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_NAMESPACE, user_id)))
    dialect = connection.dialect.name
    for chunk in _chunks(wanted):
        connection.execute(
            ACTIVITY_DAY.delete().where(_day_in_cells(ACTIVITY_DAY.c.user_id, ACTIVITY_DAY.c.day, chunk))
        )
        connection.execute(ACTIVITY_DAY.insert().from_select(COLUMNS, activity_rows(dialect, chunk)))
        # Then the months and weeks of those days, from the fresh day rows.
        for derived in DERIVED:
            periods = {user_id: {derived.first_day(day) for day in days} for user_id, days in chunk.items()}
            table = derived.table
            connection.execute(table.delete().where(_day_in_cells(table.c.user_id, table.c[derived.period], periods)))
            connection.execute(table.insert().from_select(derived.columns, derived.rows(dialect, periods)))


def _content_conditions(post_ids: set[int], thread_ids: set[int], author_id: int | None) -> list[Any]:
    conditions = []
    if post_ids:
        conditions.append(POST.c.id.in_(sorted(post_ids)))
    if thread_ids:
        conditions.append(POST.c.thread_id.in_(sorted(thread_ids)))
    if author_id is not None:
        opened = sa.select(POST.c.thread_id).where(POST.c.author_id == author_id, POST.c.opening.is_(True))
        conditions.append(sa.or_(POST.c.author_id == author_id, POST.c.thread_id.in_(opened)))
    return conditions


def _moments_of(condition: Any) -> Any:
    """(user, moment) of the posts matching `condition` and of the reactions on them (both sides)."""
    on_posts = REACTION.join(POST, POST.c.id == REACTION.c.post_id)
    return sa.union(
        sa.select(POST.c.author_id, POST.c.created_at).where(condition),
        sa.select(REACTION.c.user_id, REACTION.c.created_at).select_from(on_posts).where(condition),
        sa.select(POST.c.author_id, REACTION.c.created_at).select_from(on_posts).where(condition),
    )


def _utc_day(moment: datetime | str) -> date:
    if isinstance(moment, str):  # SQLite gives the stored text back in a UNION
        return date.fromisoformat(moment[:10])
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _chunks(cells: Cells) -> Iterator[Cells]:
    users = sorted(cells)
    for start in range(0, len(users), CHUNK):
        yield {user_id: cells[user_id] for user_id in users[start : start + CHUNK]}


# What an ORM flush touched ------------------------------------------------------------------

# Columns whose change moves a post or reaction between cells, or in or out of the counts.
POST_KEYS = ("author_id", "created_at", "thread_id", "opening", "hidden", "held", "deleted_at")
REACTION_KEYS = ("user_id", "created_at", "post_id")
VISIT_KEYS = ("user_id", "day", "circle_id")
THREAD_KEYS = ("hidden", "circle_id")


def refresh_after_flush(session: Session) -> None:
    """Refreshes the cells of the posts, reactions, visits and threads this flush wrote."""
    from app.models import Post, Reaction, Thread, Visit

    cells: Cells = defaultdict(set)
    reactions_on: Cells = defaultdict(set)
    post_ids: set[int] = set()
    thread_ids: set[int] = set()
    for row in [*session.new, *session.deleted]:
        if isinstance(row, Post):
            _add(cells, row.author_id, row.created_at)
        elif isinstance(row, Reaction):
            _add(cells, row.user_id, row.created_at)
            _add(reactions_on, row.post_id, row.created_at)
        elif isinstance(row, Visit):
            _add(cells, row.user_id, row.day)
    for row in session.dirty:
        if isinstance(row, Post) and _changed(row, POST_KEYS):
            post_ids.add(row.id)  # type: ignore[arg-type]
            _add_previous(cells, row, "author_id", "created_at")
        elif isinstance(row, Reaction) and _changed(row, REACTION_KEYS):
            _add(cells, row.user_id, row.created_at)
            _add_previous(cells, row, "user_id", "created_at")
            _add(reactions_on, row.post_id, row.created_at)
            _add_previous(reactions_on, row, "post_id", "created_at")
        elif isinstance(row, Visit) and _changed(row, VISIT_KEYS):
            _add(cells, row.user_id, row.day)
            _add_previous(cells, row, "user_id", "day")
        elif isinstance(row, Thread) and _changed(row, THREAD_KEYS):
            thread_ids.add(row.id)  # type: ignore[arg-type]
    if cells or post_ids or thread_ids or reactions_on:
        refresh(session, cells=cells, post_ids=post_ids, thread_ids=thread_ids, reactions_on=reactions_on)


def _add(cells: Cells, key: int | None, moment: datetime | date | None) -> None:
    """Adds the UTC day of `moment` to `cells[key]` (key: a user id, or a post id)."""
    if key is None or moment is None:
        return
    cells[key].add(_utc_day(moment) if isinstance(moment, datetime) else moment)


def _changed(row: Any, keys: tuple[str, ...]) -> bool:
    attributes = sa.inspect(row).attrs
    return any(attributes[key].history.has_changes() for key in keys)


def _add_previous(cells: Cells, row: Any, key_name: str, moment_name: str) -> None:
    """The cell the row was in before this flush, when its key (user, post) or moment changed."""
    attributes = sa.inspect(row).attrs
    keys = attributes[key_name].history.deleted or [getattr(row, key_name)]
    moments = attributes[moment_name].history.deleted or [getattr(row, moment_name)]
    for key in keys:
        for moment in moments:
            _add(cells, key, moment)


# Checking it -----------------------------------------------------------------------------------


def mismatches(connection: Connection) -> int:
    """How many rows differ between the rollup and a recomputation from the raw rows (0: exact)."""
    dialect = connection.dialect.name
    recomputed = [
        (ACTIVITY_DAY, COLUMNS, activity_rows(dialect)),
        *((derived.table, derived.columns, derived.rows(dialect, None)) for derived in DERIVED),
    ]
    count = 0
    for table, columns, rows in recomputed:
        fresh = rows.subquery(f"computed_{table.name}")
        stored = sa.select(*(table.c[name] for name in columns))
        count += _differences(connection, stored, sa.select(*(fresh.c[name] for name in columns)))
    return count


def _differences(connection: Connection, stored: Any, fresh: Any) -> int:
    missing = sa.select(sa.func.count()).select_from(sa.except_(fresh, stored).subquery())
    extra = sa.select(sa.func.count()).select_from(sa.except_(stored, fresh).subquery())
    return int(connection.execute(missing).scalar_one()) + int(connection.execute(extra).scalar_one())


def main(argv: list[str]) -> int:
    """`python -m app.analytics.rollup rebuild|check` on the configured database."""
    from app.db import open_session

    command = argv[0] if argv else ""
    if command not in ("rebuild", "check"):
        print("usage: python -m app.analytics.rollup rebuild|check", file=sys.stderr)
        return 2
    with open_session() as session:
        if command == "rebuild":
            rebuild(session.connection())
            session.commit()
            print("activity_day rebuilt")
            return 0
        count = mismatches(session.connection())
        print(f"activity_day: {count} rows differ from the raw rows")
        return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
