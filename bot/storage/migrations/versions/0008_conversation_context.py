"""conversation context kept in the database: pending confirmations and forwarded questions

Revision ID: 0008
Revises: 0006

Two new tables only; nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_confirmations',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('command', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('expires_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_pending_confirmations_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_pending_confirmations'))
    )
    op.create_table('questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('asked_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('forwarded_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['members.id'], name=op.f('fk_questions_answered_by_members')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_questions_member_id_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_questions_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions'))
    )
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questions_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questions_member_id'))
    op.drop_table('questions')
    op.drop_table('pending_confirmations')
