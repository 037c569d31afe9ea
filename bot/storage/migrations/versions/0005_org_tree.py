"""organisations unique by (parent, name) and named by path; audit rows carry their organisation

Revision ID: 0005
Revises: 0004

Upgrades in place: ids and rows are kept. Each organisation's path is computed from its parents; an audit
row about a member takes that member's organisation, and a star-review confirmation (no member) the
organisation its detail names (names were unique before this revision, so that lookup is exact).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ORGS = sa.table('organisations', sa.column('id', sa.Integer), sa.column('name', sa.String),
                sa.column('parent_id', sa.Integer), sa.column('path', sa.String))
AUDIT = sa.table('audit_trail', sa.column('id', sa.Integer), sa.column('member_id', sa.Integer),
                 sa.column('org_id', sa.Integer), sa.column('action', sa.String), sa.column('detail', sa.String))
MEMBERS = sa.table('members', sa.column('id', sa.Integer), sa.column('org_id', sa.Integer))


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('path', sa.String(length=500), nullable=True))
    _fill_paths()
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.alter_column('path', existing_type=sa.String(length=500), nullable=False)
        batch_op.drop_constraint('uq_organisations_name', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_organisations_parent_id'), ['parent_id', 'name'])
        batch_op.create_unique_constraint(batch_op.f('uq_organisations_path'), ['path'])
        batch_op.create_index('ix_organisations_name', ['name'], unique=False)

    with op.batch_alter_table('audit_trail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_trail_org_id'), ['org_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_audit_trail_org_id_organisations'), 'organisations',
                                    ['org_id'], ['id'])
    _fill_audit_orgs()


def _fill_paths() -> None:
    bind = op.get_bind()
    rows = {id_: (name, parent) for id_, name, parent in bind.execute(sa.select(ORGS.c.id, ORGS.c.name,
                                                                                  ORGS.c.parent_id))}

    def path(id_: int, seen: tuple[int, ...] = ()) -> str:
        name, parent = rows[id_]
        if parent is None or parent in seen or parent not in rows:
            return str(name)
        return f"{path(parent, (*seen, id_))}/{name}"

    for id_ in rows:
        bind.execute(ORGS.update().where(ORGS.c.id == id_).values(path=path(id_)))


def _fill_audit_orgs() -> None:
    bind = op.get_bind()
    member_org = sa.select(MEMBERS.c.org_id).where(MEMBERS.c.id == AUDIT.c.member_id).scalar_subquery()
    bind.execute(AUDIT.update().where(AUDIT.c.member_id.is_not(None)).values(org_id=member_org))
    by_name = {name: id_ for id_, name in bind.execute(sa.select(ORGS.c.id, ORGS.c.name))}
    confirmations = bind.execute(sa.select(AUDIT.c.id, AUDIT.c.detail).where(AUDIT.c.member_id.is_(None)))
    for id_, detail in list(confirmations):
        org_id = by_name.get(str(detail).partition(": ")[0])
        if org_id is not None:
            bind.execute(AUDIT.update().where(AUDIT.c.id == id_).values(org_id=org_id))


def downgrade() -> None:
    with op.batch_alter_table('audit_trail', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_trail_org_id_organisations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_trail_org_id'))
        batch_op.drop_column('org_id')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index('ix_organisations_name')
        batch_op.drop_constraint(batch_op.f('uq_organisations_path'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_organisations_parent_id'), type_='unique')
        batch_op.create_unique_constraint('uq_organisations_name', ['name'])
        batch_op.drop_column('path')
