"""register editions carry their date, so an older edition can be refused

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 21:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('register_edition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('register_edition', schema=None) as batch_op:
        batch_op.drop_column('published_on')
