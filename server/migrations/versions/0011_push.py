"""web push: browsers' push subscriptions, and when each notice's push was settled

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 08:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade():
    # Plain ADD COLUMNs of nullable columns without foreign keys: added in place on both databases. Notices
    # written before this upgrade have pushed_at null; the push job settles them (no device had subscribed).
    op.add_column('notice', sa.Column('pushed_at', WHEN, nullable=True))
    op.add_column('notice', sa.Column('push_outcome', sa.String(length=16), nullable=True))
    op.create_index(op.f('ix_notice_pushed_at'), 'notice', ['pushed_at'], unique=False)

    op.create_table('push_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('endpoint', sa.Text(), nullable=False),
    sa.Column('p256dh', sa.String(length=100), nullable=False),
    sa.Column('auth', sa.String(length=32), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('last_success_at', WHEN, nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', WHEN, nullable=True),
    sa.Column('user_agent', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_push_subscription_device_id_device'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_push_subscription_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscription')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscription_endpoint'))
    )
    op.create_index(op.f('ix_push_subscription_device_id'), 'push_subscription', ['device_id'], unique=False)
    op.create_index(op.f('ix_push_subscription_user_id'), 'push_subscription', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_push_subscription_user_id'), table_name='push_subscription')
    op.drop_index(op.f('ix_push_subscription_device_id'), table_name='push_subscription')
    op.drop_table('push_subscription')
    op.drop_index(op.f('ix_notice_pushed_at'), table_name='notice')
    op.drop_column('notice', 'push_outcome')
    op.drop_column('notice', 'pushed_at')
