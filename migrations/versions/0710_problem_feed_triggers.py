"""feed_state triggers for problems and follow-up visits

Revision ID: 0710
Revises: 0700
Create Date: 2026-11-25 15:40:00

A department's calendar feed holds the follow-up visits on its problems, so a change of a
problem's department (or enterprise) and any added, moved or removed follow-up link bump
feed_state.generation, the same way migration 0600 does for activities.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0710'
down_revision = '0700'
branch_labels = None
depends_on = None


FEED_TRIGGERS = [
    ('problem', ['INSERT', 'UPDATE OF department_id, enterprise_id', 'DELETE']),
    ('problem_follow_up', ['INSERT', 'UPDATE OF problem_id, activity_id', 'DELETE']),
]
BUMP = (
    "INSERT INTO feed_state (id, epoch, generation, changed_at) VALUES (1, {epoch}, 1, {now}) "
    "ON CONFLICT (id) DO UPDATE SET generation = feed_state.generation + 1, changed_at = {now}"
)


def trigger_name(table, event):
    return f"feed_bump_{table}_{event.split()[0].lower()}"


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # linghang_feed_bump() is created by 0600.
        for table, events in FEED_TRIGGERS:
            for event in events:
                op.execute(
                    f"CREATE TRIGGER {trigger_name(table, event)} AFTER {event} ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION linghang_feed_bump()"
                )
    else:
        bump = BUMP.format(epoch="abs(random() % 9007199254740991)", now="strftime('%Y-%m-%d %H:%M:%f', 'now')")
        for table, events in FEED_TRIGGERS:
            for event in events:
                op.execute(
                    f"CREATE TRIGGER {trigger_name(table, event)} AFTER {event} ON {table} BEGIN {bump}; END"
                )


def downgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table, events in FEED_TRIGGERS:
        for event in events:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table, event)}" + (f" ON {table}" if postgres else ""))
