"""campaigns paused now (WeChat's daily quota, 45009) are found by an index, since every delivery round looks
for them to pause the rows queued meanwhile (`campaigns.settle_pauses`)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_paused_until'), ['paused_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_paused_until'))
