"""webhook endpoints; where a problem came in (source)

Revision ID: 0940
Revises: 0890
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.types


# revision identifiers, used by Alembic.
revision = '0940'
down_revision = '0890'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('events', sa.String(length=500), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('created_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint'))
    )
    # Plain ADD COLUMN, not a batch: a batch on SQLite copies the table (and would drop its triggers).
    op.add_column('problem', sa.Column(
        'source',
        sa.Enum('on_site', 'hotline', 'province_platform', 'other', name='problemsource', native_enum=False, create_constraint=False, length=20),
        server_default='on_site', nullable=False,
    ))
    if op.get_bind().dialect.name != 'sqlite':
        # SQLite cannot add a constraint to an existing table without copying it; the model
        # (and a database created from it) has the check there too.
        op.create_check_constraint(
            op.f('ck_problem_problemsource'), 'problem',
            "source IN ('on_site', 'hotline', 'province_platform', 'other')",
        )


def downgrade():
    op.drop_column('problem', 'source')
    op.drop_table('webhook_endpoint')
