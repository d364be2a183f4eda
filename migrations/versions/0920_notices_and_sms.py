"""channel-neutral notices and SMS: mobile numbers, notice preferences, outbox rows know their notice kind and person

Revision ID: 0920
Revises: 0910
Create Date: 2026-11-30 11:00:00

"""
import re

from alembic import op
import sqlalchemy as sa

import app.core.types


# revision identifiers, used by Alembic.
revision = '0920'
# Joins main's outbox channels (0860) and the short links (0880), both on 0850.
down_revision = '0910'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notice_preference',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_type', sa.String(length=20), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('updated_at', app.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_preference')),
        sa.UniqueConstraint('owner_type', 'owner_id', 'kind', 'channel',
                            name=op.f('uq_notice_preference_owner_type_owner_id_kind_channel')),
    )
    # Plain ADD COLUMN, not a batch: a batch on SQLite copies the table (and would drop its triggers).
    op.add_column('person', sa.Column('mobile', sa.String(length=11), nullable=True))
    op.create_index(op.f('ix_person_mobile'), 'person', ['mobile'], unique=False)
    _mobiles_from_phones()
    op.add_column('outbox_message', sa.Column('notice_kind', sa.String(length=40), nullable=True))
    op.add_column('outbox_message', sa.Column('person_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_outbox_message_person_id'), 'outbox_message', ['person_id'], unique=False)


def _mobiles_from_phones():
    """People whose phone is a mainland mobile number get it as their SMS number."""
    person = sa.table('person', sa.column('id', sa.Integer), sa.column('phone', sa.String),
                      sa.column('mobile', sa.String))
    connection = op.get_bind()
    mobile = re.compile(r"1[3-9][0-9]{9}")
    for person_id, phone in connection.execute(sa.select(person.c.id, person.c.phone).where(person.c.phone.is_not(None))):
        digits = re.sub(r"[\s\-()]", "", phone or "")
        for prefix in ("+86", "0086", "86"):
            if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
                digits = digits[len(prefix):]
                break
        if mobile.fullmatch(digits):
            connection.execute(person.update().where(person.c.id == person_id).values(mobile=digits))


def downgrade():
    op.drop_index(op.f('ix_outbox_message_person_id'), table_name='outbox_message')
    op.drop_column('outbox_message', 'person_id')
    op.drop_column('outbox_message', 'notice_kind')
    op.drop_index(op.f('ix_person_mobile'), table_name='person')
    op.drop_column('person', 'mobile')
    op.drop_table('notice_preference')
