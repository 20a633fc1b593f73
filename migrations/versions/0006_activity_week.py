"""activity_week: per user, week and scope, the sums of activity_day, filled from it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('activity_week',
    sa.Column('scope', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('active_days', sa.Integer(), nullable=False),
    sa.Column('engaged_days', sa.Integer(), nullable=False),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'week', 'user_id', name=op.f('pk_activity_week')),
    sqlite_with_rowid=False,
    )
    op.create_index('ix_activity_week_user_id_scope_week', 'activity_week', ['user_id', 'scope', 'week'], unique=False)

    # Data migration: the weeks of the days already rolled up (derived data, exact from the start).
    from app.analytics.rollup import rebuild_weeks

    rebuild_weeks(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_activity_week_user_id_scope_week', table_name='activity_week')
    op.drop_table('activity_week')
