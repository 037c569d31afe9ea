"""delivery ledger, tokens, job runs, notice drafts

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_tokens',
    sa.Column('appid', sa.String(length=40), nullable=False),
    sa.Column('token', sa.String(length=600), nullable=False),
    sa.Column('expires_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('appid', name=op.f('pk_access_tokens'))
    )
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('fire_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('ran_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'fire_at', name=op.f('uq_job_runs_job'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('ref', sa.String(length=60), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('needs_ack', sa.Boolean(), nullable=False),
    sa.Column('scheduled_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paused_until', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sa.String(length=200), nullable=True),
    sa.Column('reported_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['members.id'], name=op.f('fk_campaigns_created_by_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_campaigns_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('key', name=op.f('uq_campaigns_key'))
    )
    op.create_table('notice_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('needs_ack', sa.Boolean(), nullable=False),
    sa.Column('expires_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_notice_drafts_member_id_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_notice_drafts_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_drafts'))
    )
    with op.batch_alter_table('notice_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_drafts_member_id'), ['member_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('acked_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_deliveries_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_deliveries_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('campaign_id', 'member_id', name=op.f('uq_deliveries_campaign_id'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_member_status', ['member_id', 'status'], unique=False)
        batch_op.create_index('ix_deliveries_status_next', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_messages_openid_at', ['openid', 'received_at'], unique=False)

    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=120), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_activities_key'), ['key'])
        batch_op.alter_column('opened_by', existing_type=sa.Integer(), nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.alter_column('opened_by', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_activities_key'), type_='unique')
        batch_op.drop_column('key')

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_messages_openid_at')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_next')
        batch_op.drop_index('ix_deliveries_member_status')

    op.drop_table('deliveries')
    with op.batch_alter_table('notice_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_drafts_member_id'))

    op.drop_table('notice_drafts')
    op.drop_table('campaigns')
    op.drop_table('job_runs')
    op.drop_table('access_tokens')
