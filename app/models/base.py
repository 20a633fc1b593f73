"""Shared column types and the naming convention every table uses."""

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Must be set before any table is defined so constraint names are stable across
# SQLite and PostgreSQL and Alembic can compare them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def utctoday() -> date:
    return utcnow().date()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC on both databases (SQLite stores naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_field(*, nullable: bool = False, index: bool = False, default_now: bool = False) -> Any:
    """A timestamp column; `default_now` fills it at insert time in Python."""
    column: sa.Column[datetime] = sa.Column(UTCDateTime(), nullable=nullable, index=index)
    if default_now:
        return Field(default_factory=utcnow, sa_column=column)
    return Field(default=None, sa_column=column)


def fk(target: str, *, nullable: bool = False, index: bool = True, ondelete: str | None = None) -> Any:
    return Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )
