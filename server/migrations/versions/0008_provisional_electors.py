"""a person a volunteer found who is not on the register, once accepted, is a provisional elector

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 01:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN, not a batch: on SQLite a batch copies the table, and electors are referenced by
    # foreign keys from most of the schema. A NOT NULL column with a constant default is added in place.
    op.add_column('elector', sa.Column('provisional', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    op.drop_column('elector', 'provisional')
