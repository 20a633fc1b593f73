"""Visits (the KPIs' notion of presence), the daily activity rollup, and notifications."""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from app.models.base import fk, utc_field


class Visit(SQLModel, table=True):
    """One row per user, UTC day and circle (or none: the site).

    `scope` is the circle id, or 0 for the site: NULLs are distinct in unique
    constraints on both databases, so the uniqueness is kept on `scope`.
    """

    __tablename__ = "visit"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "day", "scope"),
        sa.Index("ix_visit_day_scope", "day", "scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", index=False)
    day: date
    circle_id: int | None = fk("circle.id", nullable=True, index=False)
    scope: int = Field(default=0)


NOTIFICATION_KINDS = (
    "reply",
    "mention",
    "request_approved",
    "request_declined",
    "invite_accepted",
    "join_request",
)


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_id_read_at", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", index=False)
    kind: str = Field(max_length=30)
    actor_id: int | None = fk("user.id", nullable=True, index=False)
    circle_id: int | None = fk("circle.id", nullable=True, index=False)
    thread_id: int | None = fk("thread.id", nullable=True, index=False)
    post_id: int | None = fk("post.id", nullable=True, index=False)
    text: str = Field(default="", max_length=1000)
    created_at: datetime = utc_field(default_now=True)
    read_at: datetime | None = utc_field(nullable=True)


class ActivityDay(SQLModel, table=True):
    """The daily activity rollup the KPIs read: one row per user, UTC day and scope.

    `scope` is a circle id (that circle's visits, and posts and reactions in its threads), or 0
    for the whole site (every visit row, every post and reaction). Only visible content counts
    (KPIS.md). A row exists only when one of its counts is not 0; "active" is
    `visits + posts + reactions > 0` (a row may hold only reactions received) and "engaged" is
    `posts + reactions > 0`. The table is derived data, kept exact by
    `app.analytics.rollup` (see `keep_activity_rollup_exact` below) and rebuilt by the importer.
    """

    __tablename__ = "activity_day"
    __table_args__ = (
        sa.Index("ix_activity_day_user_id_scope_day", "user_id", "scope", "day"),
        # SQLite: the rows are stored in primary-key order, so a period of one scope is one range.
        {"sqlite_with_rowid": False},
    )

    scope: int = Field(primary_key=True)
    day: date = Field(primary_key=True)
    user_id: int = Field(primary_key=True)
    visits: int = Field(default=0)
    posts: int = Field(default=0)
    replies: int = Field(default=0)
    reactions: int = Field(default=0)
    # Reactions from other users on the user's posts that day (ambassador candidates).
    received: int = Field(default=0)


class ActivityMonth(SQLModel, table=True):
    """The months each user was active in each scope (`month`: its first day), from `activity_day`.

    The cohorts figure reads it: a month of activity is one row instead of up to 31.
    """

    __tablename__ = "activity_month"
    # Primary key (user, scope, month): cohorts and refreshes look a user's months up.
    __table_args__ = ({"sqlite_with_rowid": False},)

    user_id: int = Field(primary_key=True)
    scope: int = Field(primary_key=True)
    month: date = Field(primary_key=True)


class ActivityWeek(SQLModel, table=True):
    """Per user, week (`week`: its Monday) and scope, the sums of `activity_day`: days active,
    days engaged, posts and reactions received.

    The per-member pass of the KPIs reads a whole week of a period as one row instead of up
    to seven (half the rows at a million posts). Derived data, kept exact with `activity_day`.
    """

    __tablename__ = "activity_week"
    __table_args__ = (
        sa.Index("ix_activity_week_user_id_scope_week", "user_id", "scope", "week"),
        # SQLite: stored in primary-key order, so the weeks of one scope are one range.
        {"sqlite_with_rowid": False},
    )

    scope: int = Field(primary_key=True)
    week: date = Field(primary_key=True)
    user_id: int = Field(primary_key=True)
    active_days: int = Field(default=0)
    engaged_days: int = Field(default=0)
    posts: int = Field(default=0)
    received: int = Field(default=0)


@event.listens_for(Session, "after_flush")
def keep_activity_rollup_exact(session: Session, _context: Any) -> None:
    """Posts, reactions, visits and threads written through the ORM refresh their rollup cells.

    Statements that bypass the ORM (bulk UPDATEs, INSERT … ON CONFLICT) call
    `app.analytics.rollup.refresh` themselves.
    """
    from app.analytics.rollup import refresh_after_flush  # here: the models load first

    refresh_after_flush(session)
