"""photos members sent, fetched once from WeChat's temporary media and kept in the database for every replica

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kept_media',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('media_id', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('tried_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=True),
        sa.Column('data', sa.LargeBinary(), nullable=True),
        sa.Column('fetched_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('failure', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kept_media')),
        sa.UniqueConstraint('media_id', name=op.f('uq_kept_media_media_id')),
    )


def downgrade() -> None:
    op.drop_table('kept_media')
