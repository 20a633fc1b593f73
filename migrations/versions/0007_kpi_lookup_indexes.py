"""indexes for the KPIs: admins, deletion times and hosts (the lists of staff and deleted accounts), a circle's members (covering)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 23:50:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain CREATE INDEX: a batch operation would rebuild the tables on SQLite.
    op.create_index('ix_user_is_admin', 'user', ['is_admin'], unique=False)
    op.create_index('ix_user_deleted_at', 'user', ['deleted_at'], unique=False)
    op.create_index('ix_membership_role_state', 'membership', ['role', 'state', 'user_id'], unique=False)
    op.create_index(
        'ix_membership_circle_members',
        'membership',
        ['circle_id', 'joined_at', 'left_at', 'state', 'user_id', 'invite_id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_membership_circle_members', table_name='membership')
    op.drop_index('ix_membership_role_state', table_name='membership')
    op.drop_index('ix_user_deleted_at', table_name='user')
    op.drop_index('ix_user_is_admin', table_name='user')
