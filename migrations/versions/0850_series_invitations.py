"""series invitations: an invitation made to the whole series of its activity

Revision ID: 0850
Revises: 0840
Create Date: 2026-11-30 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0850'
down_revision = '0840'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, not a batch: on SQLite a batch would copy the table and lose the feed
    # triggers that migration 0600 put on it.
    op.add_column('invitation', sa.Column('whole_series', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+), keeping the table and its triggers.
    op.drop_column('invitation', 'whole_series')
