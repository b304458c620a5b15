"""pull snapshots: a download's work list, computed once and served page by page

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 12:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TOKEN = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    # A plain ADD COLUMN of a nullable column and a new table: no batch, no copy of device_storage (0014).
    op.add_column('device_storage', sa.Column('snapshot', JSON, nullable=True))
    op.create_table('pull_snapshot_chunk',
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('storage_id', sa.Uuid(), nullable=False),
    sa.Column('token', TOKEN, nullable=False),
    sa.Column('chunk', sa.Integer(), nullable=False),
    sa.Column('items', JSON, nullable=False),
    sa.ForeignKeyConstraint(['device_id', 'storage_id'], ['device_storage.device_id', 'device_storage.storage_id'],
                            name=op.f('fk_pull_snapshot_chunk_device_id_device_storage'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', 'storage_id', 'token', 'chunk', name=op.f('pk_pull_snapshot_chunk'))
    )


def downgrade():
    op.drop_table('pull_snapshot_chunk')
    op.drop_column('device_storage', 'snapshot')
