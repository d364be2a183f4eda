"""group robots: WeCom and DingTalk group webhooks per organisation, sealed at rest

Revision ID: 0930
Revises: 0880
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0930'
down_revision = '0880'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'group_robot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.Enum('wecom', 'dingtalk', name='provider', native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column('key_sealed', sa.LargeBinary(length=1024), nullable=False),
        sa.Column('secret_sealed', sa.LargeBinary(length=1024), nullable=True),
        sa.Column('key_hint', sa.String(length=8), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_group_robot_organisation_id_organisation'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_robot')),
        sa.UniqueConstraint('organisation_id', 'provider', name=op.f('uq_group_robot_organisation_id_provider')),
    )
    op.create_index(op.f('ix_group_robot_organisation_id'), 'group_robot', ['organisation_id'], unique=False)
    # Plain CREATE INDEX, not a batch: a batch on SQLite copies the table (and would drop its triggers).
    op.create_index('ix_outbox_message_recipient_sent', 'outbox_message', ['channel', 'recipient', 'sent_at'], unique=False)


def downgrade():
    op.drop_index('ix_outbox_message_recipient_sent', table_name='outbox_message')
    op.drop_index(op.f('ix_group_robot_organisation_id'), table_name='group_robot')
    op.drop_table('group_robot')
