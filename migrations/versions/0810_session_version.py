"""user_account.session_version: sessions and remember-me cookies that can be revoked

Revision ID: 0810
Revises: 0820
Create Date: 2026-11-30 08:20:00

Flask-Login keeps "<account id>:<session version>" in the session and the remember-me cookie;
the user loader refuses a cookie whose version is not the account's current one, so raising
the version (log-out, password change, deactivation) ends every session of the account.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0810'
down_revision = '0820'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_version')
