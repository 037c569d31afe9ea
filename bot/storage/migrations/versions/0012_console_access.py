"""the web console's one-time sign-in links and sessions, kept in the database so every replica knows them

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('created_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_console_links_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_console_links_token_hash')),
    )
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('created_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_console_sessions_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_console_sessions_token_hash')),
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_member_id'))
    op.drop_table('console_sessions')
    op.drop_table('console_links')
