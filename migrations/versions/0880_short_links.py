"""short links: /r/<code> for links in SMS, code and target stored sealed

Revision ID: 0880
Revises: 0850
Create Date: 2026-11-30 10:35:03.795329

"""
from alembic import op
import sqlalchemy as sa

import app.core.types


# revision identifiers, used by Alembic.
revision = '0880'
down_revision = '0850'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('short_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('target_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=16), nullable=False),
    sa.Column('target_sealed', sa.LargeBinary(length=2048), nullable=False),
    sa.Column('code_sealed', sa.LargeBinary(length=16), nullable=False),
    sa.Column('expires_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_short_link')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_short_link_code_hash'))
    )
    with op.batch_alter_table('short_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_short_link_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_short_link_target_hash_expires_at', ['target_hash', 'expires_at'], unique=False)



def downgrade():
    with op.batch_alter_table('short_link', schema=None) as batch_op:
        batch_op.drop_index('ix_short_link_target_hash_expires_at')
        batch_op.drop_index(batch_op.f('ix_short_link_expires_at'))

    op.drop_table('short_link')
