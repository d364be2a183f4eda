"""problem rating links: a resolved problem's enterprise rates it from a mailed link

Revision ID: 0840
Revises: 0810
Create Date: 2026-11-30 08:50:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.types


# revision identifiers, used by Alembic.
revision = '0840'
down_revision = '0810'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('problem_rating_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_problem_rating_link_person_id_person')),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_problem_rating_link_problem_id_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_rating_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_problem_rating_link_token_hash'))
    )
    with op.batch_alter_table('problem_rating_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_rating_link_problem_id'), ['problem_id'], unique=False)


def downgrade():
    with op.batch_alter_table('problem_rating_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_rating_link_problem_id'))
    op.drop_table('problem_rating_link')
