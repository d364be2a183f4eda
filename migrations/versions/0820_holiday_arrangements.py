"""holiday arrangements: the State Council's notice of a year, entered by an administrator

Revision ID: 0820
Revises: 0800
Create Date: 2026-11-30 07:58:32.348524

"""
from alembic import op
import sqlalchemy as sa

import app.core.types


# revision identifiers, used by Alembic.
revision = '0820'
down_revision = '0800'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('holiday_arrangement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('notice', sa.String(length=120), nullable=True),
    sa.Column('updated_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holiday_arrangement')),
    sa.UniqueConstraint('year', name=op.f('uq_holiday_arrangement_year'))
    )
    op.create_table('arranged_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('arrangement_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('festival', sa.Enum('new_year', 'spring_festival', 'qingming', 'labour_day', 'dragon_boat', 'mid_autumn', 'national_day', 'other', name='festival', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.ForeignKeyConstraint(['arrangement_id'], ['holiday_arrangement.id'], name=op.f('fk_arranged_day_arrangement_id_holiday_arrangement'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arranged_day')),
    sa.UniqueConstraint('day', name=op.f('uq_arranged_day_day'))
    )
    with op.batch_alter_table('arranged_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arranged_day_arrangement_id'), ['arrangement_id'], unique=False)



def downgrade():
    with op.batch_alter_table('arranged_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arranged_day_arrangement_id'))

    op.drop_table('arranged_day')
    op.drop_table('holiday_arrangement')
