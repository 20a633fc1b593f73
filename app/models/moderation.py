"""Flags raised by members on posts; the review queue reads them."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import fk, utc_field

FLAG_REASONS = ("off_topic", "inappropriate", "spam", "other")


class Flag(SQLModel, table=True):
    __tablename__ = "flag"
    __table_args__ = (
        sa.UniqueConstraint("post_id", "user_id"),
        sa.Index("ix_flag_resolved_at_post_id", "resolved_at", "post_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = fk("post.id", index=False)
    user_id: int = fk("user.id", index=False)
    reason: str = Field(max_length=20)
    text: str = Field(default="", max_length=1000)
    created_at: datetime = utc_field(default_now=True)
    resolved_at: datetime | None = utc_field(nullable=True)
    resolved_by_id: int | None = fk("user.id", nullable=True, index=False)
    resolution: str = Field(default="", max_length=20)
