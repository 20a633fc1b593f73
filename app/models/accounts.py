"""People, their sign-in sessions, API tokens, password resets and site settings."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import fk, utc_field


class User(SQLModel, table=True):
    __tablename__ = "user"
    __table_args__ = (
        # The KPI report lists the admins and the deleted accounts (a handful of rows each)
        # once per report: through these, not by reading every account.
        sa.Index("ix_user_is_admin", "is_admin"),
        sa.Index("ix_user_deleted_at", "deleted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    # Null once the account is deleted: personal data goes, posts stay.
    email: str | None = Field(default=None, max_length=254, sa_column_kwargs={"unique": True})
    display_name: str = Field(default="", max_length=60)
    password_hash: str | None = Field(default=None, max_length=255)
    bio_md: str = Field(default="", max_length=1000)
    bio_html: str = Field(default="", sa_type=sa.Text)
    is_admin: bool = Field(default=False)
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = utc_field(default_now=True, index=True)
    deleted_at: datetime | None = utc_field(nullable=True)
    suspended_until: datetime | None = utc_field(nullable=True)
    suspended_reason: str | None = Field(default=None, max_length=1000)
    invited_by_id: int | None = fk("user.id", nullable=True)
    # Denormalised from the recognition tables (kept by their services) so every place a
    # name appears can show the flair and best badge without another query.
    ambassador_since: datetime | None = utc_field(nullable=True)
    # No foreign key: adding one to `user` would make SQLite rebuild the table.
    best_badge_id: int | None = Field(default=None)
    pulse_dismissed_at: datetime | None = utc_field(nullable=True)
    # No foreign key: invite rows point back at users, and the cycle would make
    # table creation order ambiguous. The invite services keep it consistent.
    invite_id: int | None = Field(default=None)

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def is_ambassador(self) -> bool:
        return self.ambassador_since is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only the token's hash is stored, so a database leak signs no one in."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", ondelete="CASCADE")
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = utc_field(default_now=True)
    last_seen_at: datetime = utc_field(default_now=True)
    expires_at: datetime = utc_field()
    user_agent: str = Field(default="", max_length=300)
    ip: str = Field(default="", max_length=64)
    # The last UTC day a site visit was recorded for this session: saves a write per request.
    visit_day: date | None = Field(default=None)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", ondelete="CASCADE")
    name: str = Field(max_length=60)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = utc_field(default_now=True)
    last_used_at: datetime | None = utc_field(nullable=True)


class PasswordReset(SQLModel, table=True):
    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", ondelete="CASCADE")
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = utc_field(default_now=True)
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(nullable=True)


class RateEvent(SQLModel, table=True):
    """One row per counted event (a failed sign-in, a post…): limits hold across processes."""

    __tablename__ = "rate_event"
    __table_args__ = (sa.Index("ix_rate_event_key_created_at", "key", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    created_at: datetime = utc_field(default_now=True)


class SiteSetting(SQLModel, table=True):
    __tablename__ = "site_setting"

    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(default="", sa_type=sa.Text)
