"""ledger summaries: monthly roll-ups per department and category (and per alliance), enterprise tallies

Revision ID: 0910
Revises: 0930
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0910'
down_revision = '0930'
branch_labels = None
depends_on = None


def _measures():
    return [
        sa.Column(name, sa.BigInteger() if name == 'loans_cents' else sa.Integer(), server_default='0', nullable=False)
        for name in ('collected', 'resolved', 'on_site', 'on_time', 'rated', 'satisfied', 'open_due', 'disputes', 'loans_cents')
    ]


def upgrade():
    op.create_table(
        'ledger_rollup',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint('month', 'department_id', 'category', name=op.f('pk_ledger_rollup')),
    )
    op.create_table(
        'ledger_alliance_rollup',
        sa.Column('alliance_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint('alliance_id', 'month', 'department_id', 'category', name=op.f('pk_ledger_alliance_rollup')),
    )
    op.create_table(
        'ledger_enterprise_tally',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('problems', sa.Integer(), server_default='0', nullable=False),
        sa.Column('loan_problems', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('year', 'enterprise_id', name=op.f('pk_ledger_enterprise_tally')),
    )
    op.create_table(
        'ledger_enterprise_count',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('enterprises', sa.Integer(), server_default='0', nullable=False),
        sa.Column('loan_enterprises', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('year', 'shard', name=op.f('pk_ledger_enterprise_count')),
    )
    # Fill them from the ledger already there, with the code the app keeps them with (the same
    # as `flask stats rebuild`).
    from app.stats.rebuild import rebuild

    rebuild(op.get_bind())


def downgrade():
    op.drop_table('ledger_enterprise_count')
    op.drop_table('ledger_enterprise_tally')
    op.drop_table('ledger_alliance_rollup')
    op.drop_table('ledger_rollup')
