"""Circles, who belongs to them (with history), and invite links."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import fk, utc_field

VISIBILITIES = ("open", "closed", "secret")
ROLES = ("member", "host")
MEMBERSHIP_STATES = ("pending", "active", "left", "removed", "declined")


class Circle(SQLModel, table=True):
    __tablename__ = "circle"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=80)
    description_md: str = Field(default="", max_length=2000)
    description_html: str = Field(default="", sa_type=sa.Text)
    visibility: str = Field(default="open", max_length=10)
    member_invites: bool = Field(default=True)
    created_at: datetime = utc_field(default_now=True)
    created_by_id: int = fk("user.id")
    archived_at: datetime | None = utc_field(nullable=True)
    # Moderation settings: no new threads; seconds between a member's replies; how many of a
    # new member's first posts wait for a host's approval.
    read_only: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    slow_mode_seconds: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    hold_first_posts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Kept by the membership services so the directory never counts rows.
    member_count: int = Field(default=0)


class Membership(SQLModel, table=True):
    """One row per user and circle, carrying the current role and state.

    `requested_at` is when the user asked or was invited, `joined_at` when they were approved,
    `left_at` when they left or were removed: the KPIs read membership over time from these.
    """

    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "circle_id"),
        sa.Index("ix_membership_circle_id_state", "circle_id", "state"),
        # The hosts (staff, for the KPIs): a few rows among every membership.
        sa.Index("ix_membership_role_state", "role", "state", "user_id"),
        # A circle's members at a moment, read by most statements of a circle's KPI report:
        # covering, so they come from the index alone (its rows are spread over the table).
        sa.Index("ix_membership_circle_members", "circle_id", "joined_at", "left_at", "state", "user_id", "invite_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", index=False)
    circle_id: int = fk("circle.id", index=False)
    role: str = Field(default="member", max_length=10)
    state: str = Field(default="active", max_length=10)
    requested_at: datetime = utc_field(default_now=True)
    request_message: str = Field(default="", max_length=1000)
    joined_at: datetime | None = utc_field(nullable=True)
    left_at: datetime | None = utc_field(nullable=True)
    decided_by_id: int | None = fk("user.id", nullable=True, index=False)
    invite_id: int | None = fk("invite.id", nullable=True)
    invited_by_id: int | None = fk("user.id", nullable=True, index=False)


class Invite(SQLModel, table=True):
    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    circle_id: int | None = fk("circle.id", nullable=True)
    created_by_id: int = fk("user.id")
    created_at: datetime = utc_field(default_now=True)
    expires_at: datetime | None = utc_field(nullable=True)
    max_uses: int | None = Field(default=None)
    uses: int = Field(default=0)
    revoked_at: datetime | None = utc_field(nullable=True)
    note: str = Field(default="", max_length=1000)
