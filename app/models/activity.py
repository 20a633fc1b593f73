"""Visits (the KPIs' notion of presence) and notifications."""

from datetime import date, datetime

import sqlalchemy as sa
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
