"""activity rollup: per user, UTC day (and month) and scope, for the KPIs, filled from the existing rows; a covering index of posts by thread

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 01:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('activity_day',
    sa.Column('scope', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.Column('replies', sa.Integer(), nullable=False),
    sa.Column('reactions', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'day', 'user_id', name=op.f('pk_activity_day')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('activity_day', schema=None) as batch_op:
        batch_op.create_index('ix_activity_day_user_id_scope_day', ['user_id', 'scope', 'day'], unique=False)

    op.create_table('activity_month',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'scope', 'month', name=op.f('pk_activity_month')),
    sqlite_with_rowid=False,
    )

    # Plain CREATE INDEX: a batch operation would rebuild `post` on SQLite and drop its
    # search triggers (see app/migrations_support.py).
    op.create_index(
        'ix_post_thread_id_kpi',
        'post',
        ['thread_id', 'created_at', 'author_id', 'opening', 'hidden', 'held', 'deleted_at'],
        unique=False,
    )

    # Data migration: the rollup of the rows already there (derived data, exact from the start).
    from app.analytics.rollup import rebuild

    rebuild(op.get_bind(), weeks=False)  # activity_week comes with 0006


def downgrade() -> None:
    op.drop_index('ix_post_thread_id_kpi', table_name='post')
    op.drop_table('activity_month')
    with op.batch_alter_table('activity_day', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_day_user_id_scope_day')

    op.drop_table('activity_day')
