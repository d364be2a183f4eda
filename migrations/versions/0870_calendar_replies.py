"""calendar replies: iTIP REPLY / COUNTER mails read from the reply mailbox; answers "from the calendar"

Revision ID: 0870
Revises: 0860
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0870'
down_revision = '0860'
branch_labels = None
depends_on = None

CHANNELS = ('link', 'account', 'phone', 'letter', 'walk_in')
OUTCOMES = ('applied', 'counter', 'unchanged', 'refused', 'unknown', 'stale', 'forged', 'ignored')
# The feed triggers migration 0600 put on the invitation table (SQLite loses them when the
# table is rebuilt to change its CHECK constraint, so they are made again).
INVITATION_TRIGGERS = ('INSERT', 'UPDATE OF activity_id, person_id, organisation_id', 'DELETE')
BUMP = (
    "INSERT INTO feed_state (id, epoch, generation, changed_at) VALUES (1, abs(random() % 9007199254740991), 1, "
    "strftime('%Y-%m-%d %H:%M:%f', 'now')) ON CONFLICT (id) DO UPDATE SET generation = feed_state.generation + 1, "
    "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now')"
)


def _channels(values):
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_invitation_answerchannel'), 'invitation', type_='check')
        op.create_check_constraint('answerchannel', 'invitation', sa.column('channel').in_(values))
        return
    for event in INVITATION_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS feed_bump_invitation_{event.split()[0].lower()}")
    with op.batch_alter_table('invitation', recreate='always') as batch_op:
        batch_op.drop_constraint(op.f('ck_invitation_answerchannel'), type_='check')
        batch_op.create_check_constraint('answerchannel', sa.column('channel').in_(values))
    for event in INVITATION_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER feed_bump_invitation_{event.split()[0].lower()} AFTER {event} ON invitation BEGIN {BUMP}; END"
        )


def upgrade():
    op.create_table(
        'calendar_reply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=300), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sender', sa.String(length=254), nullable=True),
        sa.Column('method', sa.String(length=20), nullable=True),
        sa.Column('uid', sa.String(length=300), nullable=True),
        sa.Column('attendee', sa.String(length=254), nullable=True),
        sa.Column('partstat', sa.String(length=20), nullable=True),
        sa.Column('sequence', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.Enum(*OUTCOMES, name='replyoutcome', native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('invitation_id', sa.Integer(), nullable=True),
        sa.Column('activity_id', sa.Integer(), nullable=True),
        sa.Column('proposed_starts_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('proposed_ends_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_calendar_reply_activity_id_activity'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_calendar_reply_invitation_id_invitation'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_reply')),
        sa.UniqueConstraint('message_id', name=op.f('uq_calendar_reply_message_id')),
    )
    with op.batch_alter_table('calendar_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_reply_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_reply_invitation_id'), ['invitation_id'], unique=False)
    _channels((*CHANNELS, 'calendar'))


def downgrade():
    op.execute("UPDATE invitation SET channel = 'link' WHERE channel = 'calendar'")
    _channels(CHANNELS)
    with op.batch_alter_table('calendar_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_reply_invitation_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_reply_activity_id'))
    op.drop_table('calendar_reply')
