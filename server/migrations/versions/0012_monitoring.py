"""regional monitoring: what each phone reports of its unsent work, and constituency demographics for peer groups

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade():
    # Plain ADD COLUMNs of nullable columns: added in place on both databases.
    op.add_column('device_storage', sa.Column('unsent_count', sa.Integer(), nullable=True))
    op.add_column('device_storage', sa.Column('oldest_unsent_at', WHEN, nullable=True))
    op.add_column('device_storage', sa.Column('app_version', sa.String(length=32), nullable=True))
    op.add_column('device_storage', sa.Column('reported_at', WHEN, nullable=True))

    op.create_table('constituency_profile',
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('features', JSON, nullable=False),
    sa.Column('previous_winner', sa.String(length=60), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituency.id'],
                            name=op.f('fk_constituency_profile_constituency_id_constituency')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'],
                            name=op.f('fk_constituency_profile_updated_by_id_app_user')),
    sa.PrimaryKeyConstraint('constituency_id', name=op.f('pk_constituency_profile'))
    )


def downgrade():
    op.drop_table('constituency_profile')
    op.drop_column('device_storage', 'reported_at')
    op.drop_column('device_storage', 'app_version')
    op.drop_column('device_storage', 'oldest_unsent_at')
    op.drop_column('device_storage', 'unsent_count')
