"""members and data protection: member imports and erasure, notices, time-limited roles, announced access changes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 05:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade():
    # Plain ADD COLUMNs of nullable columns without foreign keys: added in place on both databases (a batch
    # would copy these heavily referenced tables on SQLite).
    op.add_column('member', sa.Column('updated_at', WHEN, nullable=True))
    op.add_column('member', sa.Column('left_on', sa.Date(), nullable=True))
    op.add_column('member', sa.Column('erased_at', WHEN, nullable=True))
    op.add_column('elector', sa.Column('erased_at', WHEN, nullable=True))
    op.add_column('suppression', sa.Column('fingerprint', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_suppression_fingerprint'), 'suppression', ['fingerprint'], unique=False)
    op.add_column('contact_record', sa.Column('personal_removed_at', WHEN, nullable=True))

    op.create_table('role_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('canvasser', 'phone_banker', 'clp_admin', 'membership_secretary', 'regional_staff',
                              'national_admin', name='role', native_enum=False, length=32), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', WHEN, nullable=False),
    sa.Column('ends_at', WHEN, nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('warned_at', WHEN, nullable=True),
    sa.Column('lapsed_at', WHEN, nullable=True),
    sa.Column('revoked_at', WHEN, nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituency.id'], name=op.f('fk_role_grant_constituency_id_constituency')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['app_user.id'], name=op.f('fk_role_grant_granted_by_id_app_user')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['app_user.id'], name=op.f('fk_role_grant_revoked_by_id_app_user')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_role_grant_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grant'))
    )
    op.create_index('ix_role_grant_user_ends', 'role_grant', ['user_id', 'ends_at'], unique=False)
    op.create_index(op.f('ix_role_grant_constituency_id'), 'role_grant', ['constituency_id'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('link', sa.String(length=200), nullable=True),
    sa.Column('data', JSON, nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('read_at', WHEN, nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notice_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('user_id', 'key', name='uq_notice_user_key')
    )
    op.create_index(op.f('ix_notice_user_id'), 'notice', ['user_id'], unique=False)

    op.create_table('access_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('suspend', 'restore', name='accesschangekind', native_enum=False, length=16),
              nullable=False),
    sa.Column('effective_at', WHEN, nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('cancelled_at', WHEN, nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['app_user.id'], name=op.f('fk_access_change_cancelled_by_id_app_user')),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituency.id'], name=op.f('fk_access_change_constituency_id_constituency')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_access_change_created_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_change'))
    )
    op.create_table('audit_subject',
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['audit_event.id'], name=op.f('fk_audit_subject_event_id_audit_event'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'subject_type', 'subject_id', name=op.f('pk_audit_subject'))
    )
    op.create_index('ix_audit_subject_subject', 'audit_subject', ['subject_type', 'subject_id'], unique=False)
    op.create_index('ix_access_change_clp_effective', 'access_change', ['constituency_id', 'effective_at'],
                    unique=False)


def downgrade():
    op.drop_table('audit_subject')
    op.drop_table('access_change')
    op.drop_table('notice')
    op.drop_table('role_grant')
    op.drop_column('contact_record', 'personal_removed_at')
    op.drop_index(op.f('ix_suppression_fingerprint'), table_name='suppression')
    op.drop_column('suppression', 'fingerprint')
    op.drop_column('elector', 'erased_at')
    op.drop_column('member', 'erased_at')
    op.drop_column('member', 'left_on')
    op.drop_column('member', 'updated_at')
