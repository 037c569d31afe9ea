"""member category, for lesson audiences; a leaner dedup table

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=10), nullable=True))
    # Fewer pages written per message: no received_at index (the hourly purge scans), and on SQLite
    # the table is clustered on its key instead of a rowid table plus a key index.
    with op.batch_alter_table('inbound_messages', schema=None, recreate='always',
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.drop_index('ix_inbound_messages_received_at')


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None, recreate='always') as batch_op:
        batch_op.create_index('ix_inbound_messages_received_at', ['received_at'], unique=False)
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('category')
