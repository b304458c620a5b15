"""an admin's revocation names its kind: access withdrawn (deliveries held for review) or lost

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 22:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE device SET revoked_reason = 'access_withdrawn' WHERE revoked_reason = 'admin'")


def downgrade():
    op.execute("UPDATE device SET revoked_reason = 'admin' WHERE revoked_reason IN ('access_withdrawn', 'lost')")
