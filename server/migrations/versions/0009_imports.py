"""the import pipeline: uploaded files, import jobs, each CLP's remembered mappings; batch settings

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 02:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    # Plain ADD COLUMNs, not a batch: contact_record references import_batch, and on SQLite a batch copies
    # the table. Nullable columns without a foreign key are added in place on both databases.
    op.add_column('import_batch', sa.Column('campaign_id', sa.Integer(), nullable=True))
    op.add_column('import_batch', sa.Column('settings', JSON, nullable=True))
    op.add_column('import_batch', sa.Column('committed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('import_batch', sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('import_file',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('proposal', JSON, nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_import_file_batch_id_import_batch'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_import_file'))
    )
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=True),
    sa.Column('error', JSON, nullable=True),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_import_job_batch_id_import_batch'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_import_job_created_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    op.create_index(op.f('ix_import_job_batch_id'), 'import_job', ['batch_id'], unique=False)
    op.create_index('ix_import_job_status_created', 'import_job', ['status', 'created_at'], unique=False)
    op.create_index('uq_import_job_active', 'import_job', ['batch_id'], unique=True,
                    postgresql_where=sa.text("status IN ('queued', 'running')"),
                    sqlite_where=sa.text("status IN ('queued', 'running')"))
    op.create_table('import_mapping',
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('columns', JSON, nullable=False),
    sa.Column('codes', JSON, nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituency.id'],
                            name=op.f('fk_import_mapping_constituency_id_constituency')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'], name=op.f('fk_import_mapping_updated_by_id_app_user')),
    sa.PrimaryKeyConstraint('constituency_id', name=op.f('pk_import_mapping'))
    )


def downgrade():
    op.drop_table('import_mapping')
    op.drop_index('uq_import_job_active', table_name='import_job')
    op.drop_index('ix_import_job_status_created', table_name='import_job')
    op.drop_index(op.f('ix_import_job_batch_id'), table_name='import_job')
    op.drop_table('import_job')
    op.drop_table('import_file')
    op.drop_column('import_batch', 'undone_at')
    op.drop_column('import_batch', 'committed_at')
    op.drop_column('import_batch', 'settings')
    op.drop_column('import_batch', 'campaign_id')
