"""Recognition: badges and their awards, the ambassador program, the member pulse (NPS)."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import fk, utc_field

TIERS = ("bronze", "silver", "gold")
TIER_RANK = {"bronze": 1, "silver": 2, "gold": 3}


class Badge(SQLModel, table=True):
    __tablename__ = "badge"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=300)
    tier: str = Field(default="bronze", max_length=10)
    icon: str = Field(default="star", max_length=30)
    automatic: bool = Field(default=False)
    created_at: datetime = utc_field(default_now=True)
    created_by_id: int | None = fk("user.id", nullable=True, index=False)


class BadgeAward(SQLModel, table=True):
    """One row per badge and holder; a revoked award keeps its row (and the audit log says who)."""

    __tablename__ = "badge_award"
    __table_args__ = (
        sa.UniqueConstraint("badge_id", "user_id"),
        sa.Index("ix_badge_award_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_badge_award_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    badge_id: int = fk("badge.id", index=False)
    user_id: int = fk("user.id", index=False)
    awarded_by_id: int | None = fk("user.id", nullable=True, index=False)
    circle_id: int | None = fk("circle.id", nullable=True, index=False)
    reason: str = Field(default="", max_length=1000)
    created_at: datetime = utc_field(default_now=True)
    revoked_at: datetime | None = utc_field(nullable=True)
    revoked_by_id: int | None = fk("user.id", nullable=True, index=False)


class AmbassadorGrant(SQLModel, table=True):
    """The program's history: a row per grant, closed by its revocation."""

    __tablename__ = "ambassador_grant"
    __table_args__ = (sa.Index("ix_ambassador_grant_user_id_granted_at", "user_id", "granted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", index=False)
    granted_by_id: int = fk("user.id", index=False)
    reason: str = Field(default="", max_length=1000)
    granted_at: datetime = utc_field(default_now=True, index=True)
    revoked_at: datetime | None = utc_field(nullable=True)
    revoked_by_id: int | None = fk("user.id", nullable=True, index=False)
    revoke_reason: str = Field(default="", max_length=1000)


class Pulse(SQLModel, table=True):
    """One NPS answer: "How likely are you to recommend us?" 0–10 and an optional comment."""

    __tablename__ = "pulse"
    __table_args__ = (sa.Index("ix_pulse_user_id_created_at", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", index=False)
    score: int
    comment: str = Field(default="", max_length=1000)
    created_at: datetime = utc_field(default_now=True, index=True)


class ModerationAction(SQLModel, table=True):
    """The audit log: every moderation and recognition action, who, what, why."""

    __tablename__ = "moderation_action"
    __table_args__ = (sa.Index("ix_moderation_action_circle_id_created_at", "circle_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = fk("user.id", nullable=True, index=False)
    action: str = Field(max_length=40)
    target_user_id: int | None = fk("user.id", nullable=True, index=False)
    circle_id: int | None = fk("circle.id", nullable=True, index=False)
    thread_id: int | None = fk("thread.id", nullable=True, index=False)
    post_id: int | None = fk("post.id", nullable=True, index=False)
    detail: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=1000)
    created_at: datetime = utc_field(default_now=True, index=True)
