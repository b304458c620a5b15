"""monitoring rollups: activity by campaign, polling district, week and volunteer; electorates; seat totals

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def _counts(*names):
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade():
    op.create_index('ix_contact_record_received_at', 'contact_record', ['received_at'])
    op.create_table('activity_rollup',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('district_key', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('user_key', sa.Integer(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=True),
    *_counts('contacts', 'doors', 'calls', 'conversations', 'reached'),
    sa.PrimaryKeyConstraint('campaign_id', 'district_key', 'week', 'user_key', name=op.f('pk_activity_rollup'))
    )
    op.create_index('ix_activity_rollup_campaign_clp', 'activity_rollup', ['campaign_id', 'constituency_id', 'week'])
    op.create_table('activity_electorate',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('polling_district_id', sa.Integer(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('electors', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'polling_district_id', name=op.f('pk_activity_electorate'))
    )
    op.create_index('ix_activity_electorate_campaign_clp', 'activity_electorate', ['campaign_id', 'constituency_id'])
    op.create_table('activity_seat',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    *_counts('contacts', 'doors', 'calls', 'conversations', 'reached', 'volunteers', 'electorate'),
    sa.Column('computed_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'constituency_id', name=op.f('pk_activity_seat'))
    )
    op.create_index(op.f('ix_activity_seat_constituency_id'), 'activity_seat', ['constituency_id'])
    op.create_table('rollup_dirty',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('district_key', sa.Integer(), nullable=False),
    sa.Column('marked_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'constituency_id', 'district_key', name=op.f('pk_rollup_dirty'))
    )
    op.create_table('rollup_cursor',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('received_through', WHEN, nullable=True),
    sa.Column('ran_at', WHEN, nullable=True),
    sa.Column('keys_done', sa.Integer(), nullable=False),
    sa.Column('recent', JSON, nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_rollup_cursor'))
    )


def downgrade():
    op.drop_table('rollup_cursor')
    op.drop_table('rollup_dirty')
    op.drop_index(op.f('ix_activity_seat_constituency_id'), table_name='activity_seat')
    op.drop_table('activity_seat')
    op.drop_index('ix_activity_electorate_campaign_clp', table_name='activity_electorate')
    op.drop_table('activity_electorate')
    op.drop_index('ix_activity_rollup_campaign_clp', table_name='activity_rollup')
    op.drop_table('activity_rollup')
    op.drop_index('ix_contact_record_received_at', table_name='contact_record')
