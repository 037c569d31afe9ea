"""the replay memory: signed queries of plaintext callbacks, while fresh

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('used_queries',
    sa.Column('query_key', sa.String(length=64), nullable=False),
    sa.Column('message_key', sa.String(length=120), nullable=False),
    sa.Column('seen_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('query_key', name=op.f('pk_used_queries')),
    sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('used_queries')
