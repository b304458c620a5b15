"""what a team on one list shares: the latest knock and call per elector, call-backs as data, member calls

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:10:00

After upgrading, run `flask sync rebuild` once: it fills the new derived columns of elector_state from the
contacts already stored (until then, phones see only the work recorded after the upgrade).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contact_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('call_back_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_contact_record_member_id'), ['member_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_contact_record_member_id_member'), 'member', ['member_id'], ['id'])
    with op.batch_alter_table('elector_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_door_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_door_outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('last_call_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_call_outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('call_back_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('assignment_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=160), nullable=True))


def downgrade():
    with op.batch_alter_table('assignment_item', schema=None) as batch_op:
        batch_op.drop_column('reason')
    with op.batch_alter_table('elector_state', schema=None) as batch_op:
        batch_op.drop_column('call_back_at')
        batch_op.drop_column('last_call_outcome')
        batch_op.drop_column('last_call_at')
        batch_op.drop_column('last_door_outcome')
        batch_op.drop_column('last_door_at')
    with op.batch_alter_table('contact_record', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contact_record_member_id_member'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_contact_record_member_id'))
        batch_op.drop_column('call_back_at')
        batch_op.drop_column('member_id')
