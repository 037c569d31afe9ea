"""volunteer service, audit trail, wishes, star reviews

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_trail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['members.id'], name=op.f('fk_audit_trail_actor_id_members')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_audit_trail_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_trail'))
    )
    with op.batch_alter_table('audit_trail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_trail_member_id'), ['member_id'], unique=False)

    op.create_table('held_stars',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('star', sa.String(length=20), nullable=False),
    sa.Column('since', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_held_stars_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'star', name=op.f('pk_held_stars'))
    )
    op.create_table('star_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('star', sa.String(length=20), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_star_changes_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_star_changes'))
    )
    with op.batch_alter_table('star_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_star_changes_member_id'), ['member_id'], unique=False)

    op.create_table('star_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('created_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by'], ['members.id'], name=op.f('fk_star_reviews_confirmed_by_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_star_reviews_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_star_reviews')),
    sa.UniqueConstraint('org_id', 'quarter', name=op.f('uq_star_reviews_org_id'))
    )
    op.create_table('volunteer_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('photo_media_id', sa.String(length=200), nullable=True),
    sa.Column('photo_url', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['members.id'], name=op.f('fk_volunteer_claims_decided_by_members')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_volunteer_claims_member_id_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_volunteer_claims_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_claims'))
    )
    with op.batch_alter_table('volunteer_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_claims_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_volunteer_claims_org_status', ['org_id', 'status'], unique=False)
        batch_op.create_index('ix_volunteer_claims_status_decided', ['status', 'decided_at'], unique=False)

    op.create_table('wishes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.String(length=200), nullable=False),
    sa.Column('resident_name', sa.String(length=50), nullable=False),
    sa.Column('resident_phone', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('claimed_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', bot.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['claimed_by'], ['members.id'], name=op.f('fk_wishes_claimed_by_members')),
    sa.ForeignKeyConstraint(['confirmed_by'], ['members.id'], name=op.f('fk_wishes_confirmed_by_members')),
    sa.ForeignKeyConstraint(['created_by'], ['members.id'], name=op.f('fk_wishes_created_by_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_wishes_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wishes'))
    )
    with op.batch_alter_table('wishes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wishes_org_id'), ['org_id'], unique=False)

    op.create_table('star_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('star', sa.String(length=20), nullable=False),
    sa.Column('proposed', sa.Boolean(), nullable=False),
    sa.Column('evidence', sa.String(length=200), nullable=False),
    sa.Column('decision', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by'], ['members.id'], name=op.f('fk_star_proposals_changed_by_members')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_star_proposals_member_id_members')),
    sa.ForeignKeyConstraint(['review_id'], ['star_reviews.id'], name=op.f('fk_star_proposals_review_id_star_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_star_proposals')),
    sa.UniqueConstraint('review_id', 'member_id', 'star', name=op.f('uq_star_proposals_review_id'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hide_rank', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('hide_rank')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('body')

    op.drop_table('star_proposals')
    with op.batch_alter_table('wishes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wishes_org_id'))

    op.drop_table('wishes')
    with op.batch_alter_table('volunteer_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_claims_status_decided')
        batch_op.drop_index('ix_volunteer_claims_org_status')
        batch_op.drop_index(batch_op.f('ix_volunteer_claims_member_id'))

    op.drop_table('volunteer_claims')
    op.drop_table('star_reviews')
    with op.batch_alter_table('star_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_star_changes_member_id'))

    op.drop_table('star_changes')
    op.drop_table('held_stars')
    with op.batch_alter_table('audit_trail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_trail_member_id'))

    op.drop_table('audit_trail')
