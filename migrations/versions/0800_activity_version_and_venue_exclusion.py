"""activity version and venue override; no double booking on PostgreSQL

Revision ID: 0800
Revises: 0710
Create Date: 2026-11-30 08:10:00

`activity.version` is SQLAlchemy's version_id_col (edit forms carry it, a stale save is refused).
`activity.venue_override` marks an activity whose organiser used a taken venue with a reason
(kept in the audit log). On PostgreSQL an exclusion constraint makes the database refuse two
published, not overridden activities holding one venue at overlapping times; SQLite has no
such constraint (the services serialise the check and the insert with its write lock).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0800'
down_revision = '0710'
branch_labels = None
depends_on = None

VENUE_EXCLUSION = 'ex_activity_venue_time'


def upgrade():
    # Plain ADD COLUMN, not a batch: on SQLite a batch would copy the table and lose the feed
    # triggers that migration 0600 put on it.
    op.add_column('activity', sa.Column('venue_override', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('activity', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
        # Half-open ranges ([start, end)): an activity ending at 16:00 does not clash with one
        # starting at 16:00, as in the services' overlap check.
        op.execute(
            f"ALTER TABLE activity ADD CONSTRAINT {VENUE_EXCLUSION} EXCLUDE USING gist "
            "(venue_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status = 'published' AND NOT venue_override)"
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE activity DROP CONSTRAINT IF EXISTS {VENUE_EXCLUSION}')
    # Plain DROP COLUMN (SQLite 3.35+), keeping the table and its triggers.
    op.drop_column('activity', 'version')
    op.drop_column('activity', 'venue_override')
