"""kpi indexes: an index-only range scan over the posts of a period

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 23:21:08.886850
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain CREATE INDEX: a batch operation would rebuild `post` on SQLite and drop its
    # search triggers (see app/migrations_support.py).
    op.create_index(
        'ix_post_created_at_kpi',
        'post',
        ['created_at', 'thread_id', 'author_id', 'opening', 'hidden', 'held', 'deleted_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_post_created_at_kpi', table_name='post')
