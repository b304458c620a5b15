"""the CLP admin's console: codes and survey questions can be retired from new use

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 01:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('survey_question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('survey_question', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
    with op.batch_alter_table('campaign_code', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
