"""recognition and one scheduler: milestones, leaderboard opt-in, campaign milestones, list sessions,
the scheduler's lease and the log of job runs

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 11:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade():
    # Plain ADD COLUMNs, not batches: on SQLite a batch copies the table, and these tables are referenced by
    # foreign keys from most of the schema (0008 says the same).
    op.add_column('campaign', sa.Column('milestones', JSON, nullable=True))
    op.add_column('assignment', sa.Column('session_at', WHEN, nullable=True))
    op.add_column('assignment', sa.Column('meeting_place', sa.String(length=200), nullable=True))
    op.add_column('app_user', sa.Column('leaderboard_opt_in', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index('ix_activity_rollup_user', 'activity_rollup', ['user_key', 'campaign_id'])
    op.create_table('milestone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=True),
    sa.Column('measure', sa.String(length=16), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('reached_at', WHEN, nullable=False),
    sa.Column('celebrated_at', WHEN, nullable=True),
    sa.Column('thanked_at', WHEN, nullable=True),
    sa.Column('thanked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_milestone_user_id_app_user')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_milestone_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituency.id'],
                            name=op.f('fk_milestone_constituency_id_constituency')),
    sa.ForeignKeyConstraint(['thanked_by_id'], ['app_user.id'], name=op.f('fk_milestone_thanked_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestone')),
    sa.UniqueConstraint('user_id', 'campaign_id', 'measure', 'threshold', name='uq_milestone_once')
    )
    op.create_index(op.f('ix_milestone_user_id'), 'milestone', ['user_id'])
    op.create_index(op.f('ix_milestone_constituency_id'), 'milestone', ['constituency_id'])
    op.create_table('scheduler_lease',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=120), nullable=True),
    sa.Column('fence', sa.BigInteger(), nullable=False),
    sa.Column('acquired_at', WHEN, nullable=True),
    sa.Column('expires_at', WHEN, nullable=True),
    sa.Column('heartbeat_at', WHEN, nullable=True),
    sa.Column('released_at', WHEN, nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_lease'))
    )
    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('tick', WHEN, nullable=True),
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('fence', sa.BigInteger(), nullable=True),
    sa.Column('started_at', WHEN, nullable=False),
    sa.Column('finished_at', WHEN, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', JSON, nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run')),
    sa.UniqueConstraint('job', 'tick', name='uq_job_run_tick')
    )
    op.create_index('ix_job_run_job_started', 'job_run', ['job', 'started_at'])


def downgrade():
    op.drop_index('ix_job_run_job_started', table_name='job_run')
    op.drop_table('job_run')
    op.drop_table('scheduler_lease')
    op.drop_index(op.f('ix_milestone_constituency_id'), table_name='milestone')
    op.drop_index(op.f('ix_milestone_user_id'), table_name='milestone')
    op.drop_table('milestone')
    op.drop_index('ix_activity_rollup_user', table_name='activity_rollup')
    op.drop_column('app_user', 'leaderboard_opt_in')
    op.drop_column('assignment', 'meeting_place')
    op.drop_column('assignment', 'session_at')
    op.drop_column('campaign', 'milestones')
