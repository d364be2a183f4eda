"""outbox channels: each outbox row is one delivery of a notice through one channel

Revision ID: 0860
Revises: 0850
Create Date: 2026-11-30 10:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0860'
down_revision = '0850'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, not a batch: a batch on SQLite copies the table (and would drop its triggers).
    op.add_column('outbox_message', sa.Column('channel', sa.String(length=20), server_default='email', nullable=False))
    op.add_column('outbox_message', sa.Column('notice_key', sa.String(length=200), nullable=True))
    op.create_index(op.f('ix_outbox_message_notice_key'), 'outbox_message', ['notice_key'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_outbox_message_notice_key'), table_name='outbox_message')
    op.drop_column('outbox_message', 'notice_key')
    op.drop_column('outbox_message', 'channel')
