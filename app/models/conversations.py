"""Threads, posts (with revisions), reactions and per-user read state."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import fk, utc_field

REACTION_KINDS = ("like", "helpful", "thanks")


class Thread(SQLModel, table=True):
    __tablename__ = "thread"
    __table_args__ = (
        sa.Index("ix_thread_circle_id_pinned_last_post_at", "circle_id", "pinned", "last_post_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    circle_id: int = fk("circle.id", index=False)
    author_id: int = fk("user.id")
    title: str = Field(max_length=200)
    created_at: datetime = utc_field(default_now=True, index=True)
    last_post_at: datetime = utc_field(default_now=True)
    # Counters kept by the post services; they equal the visible rows.
    reply_count: int = Field(default=0)
    post_count: int = Field(default=0)
    last_number: int = Field(default=0)
    pinned: bool = Field(default=False)
    locked: bool = Field(default=False)
    hidden: bool = Field(default=False)


class Post(SQLModel, table=True):
    __tablename__ = "post"
    __table_args__ = (
        sa.UniqueConstraint("thread_id", "number"),
        sa.Index("ix_post_author_id_created_at", "author_id", "created_at"),
        # The KPIs read the posts of a period with these columns only: an index-only range scan
        # instead of fetching every (large) post row.
        sa.Index(
            "ix_post_created_at_kpi",
            "created_at",
            "thread_id",
            "author_id",
            "opening",
            "hidden",
            "held",
            "deleted_at",
        ),
        # The same columns by thread: the depth figures read the posts of the period's threads.
        sa.Index(
            "ix_post_thread_id_kpi",
            "thread_id",
            "created_at",
            "author_id",
            "opening",
            "hidden",
            "held",
            "deleted_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = fk("thread.id", index=False)
    # Position in the thread (1 = opening post): stable anchors, pages and unread marks.
    number: int
    author_id: int = fk("user.id", index=False)
    body_md: str = Field(sa_type=sa.Text)
    # Sanitised once at write time; pages never render Markdown.
    body_html: str = Field(sa_type=sa.Text)
    opening: bool = Field(default=False)
    reply_to_id: int | None = fk("post.id", nullable=True, index=False)
    created_at: datetime = utc_field(default_now=True, index=True)
    edited_at: datetime | None = utc_field(nullable=True)
    hidden: bool = Field(default=False)
    # Waiting for a host's approval (first posts of new members): hidden until approved.
    held: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    hidden_reason: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})
    deleted_at: datetime | None = utc_field(nullable=True)


class PostRevision(SQLModel, table=True):
    __tablename__ = "post_revision"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = fk("post.id", ondelete="CASCADE")
    body_md: str = Field(sa_type=sa.Text)
    created_at: datetime = utc_field(default_now=True)
    editor_id: int = fk("user.id", index=False)


class Reaction(SQLModel, table=True):
    __tablename__ = "reaction"
    __table_args__ = (
        sa.UniqueConstraint("post_id", "user_id", "kind"),
        sa.Index("ix_reaction_user_id_created_at", "user_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = fk("post.id", index=False)
    user_id: int = fk("user.id", index=False)
    kind: str = Field(max_length=10)
    created_at: datetime = utc_field(default_now=True, index=True)


class ReadState(SQLModel, table=True):
    __tablename__ = "read_state"
    __table_args__ = (sa.UniqueConstraint("user_id", "thread_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", index=False)
    thread_id: int = fk("thread.id")
    last_read_number: int = Field(default=0)
