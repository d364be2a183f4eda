"""feed change log: changes keyed by the feeds they touch, no global row

Revision ID: 0900
Revises: 0940
Create Date: 2026-11-30 11:00:00

Replaces feed_state (one row every writer updated, migrations 0600 and 0710) by feed_change: row
triggers insert one row per key a change touches ('public', 'o:<org>', 'a:<alliance>',
'p:<person>', 's:<series>', 'O:<org row>', 'P:<person row>', 'V:<venue>', 'T:<theme>',
't:<token>'; see app/feeds/tracking.py). Inserts never wait for each other, so concurrent writers
to different activities do not serialise. On PostgreSQL each row carries its transaction id, so a
reader can tell which rows it had not seen at a snapshot.
"""
from alembic import op
import sqlalchemy as sa

import app.core.types


# revision identifiers, used by Alembic.
revision = '0900'
down_revision = '0940'
branch_labels = None
depends_on = None


def _activity_keys(r):
    """Who may see activity row `r` (NEW or OLD): the audiences its feeds read."""
    return [
        f"CASE WHEN {r}.kind <> 'visit' THEN 'public' END",
        f"'o:' || {r}.host_id",
        f"'o:' || {r}.site_id",
        f"'a:' || {r}.alliance_id",
        f"'p:' || {r}.organiser_id",
        f"'s:' || {r}.series_id",
        ("'o:' || organisation_id", f"FROM invitation WHERE activity_id = {r}.id"),
        ("'p:' || person_id", f"FROM invitation WHERE activity_id = {r}.id"),
        ("'o:' || organisation_id", f"FROM activity_cohost WHERE activity_id = {r}.id"),
        ("'o:' || p.department_id",
         f"FROM problem_follow_up f JOIN problem p ON p.id = f.problem_id WHERE f.activity_id = {r}.id"),
    ]


# Columns whose change can show in a feed (not capacity, reminders, answer deadline, version…).
ACTIVITY_COLUMNS = (
    "kind, visit_kind, title, agenda, description, theme_id, host_id, alliance_id, venue_id, site_id, "
    "location_note, starts_at, ends_at, status, status_reason, sequence, organiser_id, series_id, "
    "recurrence_id, created_at, updated_at"
)

# table -> (UPDATE OF columns or None for every column, keys of a row alias)
TRACKED = {
    'activity': (ACTIVITY_COLUMNS, _activity_keys),
    'activity_cohost': (None, lambda r: [f"'o:' || {r}.organisation_id"]),
    'invitation': ("activity_id, person_id, organisation_id, whole_series",
                   lambda r: [f"'o:' || {r}.organisation_id", f"'p:' || {r}.person_id"]),
    'alliance_membership': (None, lambda r: [f"'o:' || {r}.enterprise_id"]),
    'organisation': (None, lambda r: [f"'O:' || {r}.id"]),
    'person': (None, lambda r: [f"'P:' || {r}.id"]),
    'venue': (None, lambda r: [f"'V:' || {r}.id"]),
    'monthly_theme': (None, lambda r: [f"'T:' || {r}.id"]),
    'activity_series': (None, lambda r: [f"'s:' || {r}.id"]),
    'problem': ("department_id", lambda r: [f"'o:' || {r}.department_id"]),
    'problem_follow_up': ("problem_id, activity_id",
                          lambda r: [("'o:' || department_id", f"FROM problem WHERE id = {r}.problem_id")]),
    'feed_token': ("token_hash, kind, organisation_id, person_id, revoked_at", lambda r: [f"'t:' || {r}.id"]),
}


def _insert(table, aliases, postgres):
    _columns, keys = TRACKED[table]
    selects = []
    for alias in aliases:
        for key in keys(alias):
            if table == 'activity' and alias == 'OLD' and len(aliases) == 2 and isinstance(key, tuple):
                continue  # an update keeps the id: invitations, co-hosts and follow-ups once (NEW)
            # (expression, FROM …): a subquery may yield several keys
            expression, source = key if isinstance(key, tuple) else (key, "")
            selects.append(f"SELECT {expression} AS k {source}".rstrip())
    stamp = "clock_timestamp()" if postgres else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    xid = "pg_current_xact_id()::text::bigint" if postgres else "NULL"
    union = " UNION ".join(selects)
    return (
        f"INSERT INTO feed_change (key, xid, changed_at) SELECT k, {xid}, {stamp} "
        f"FROM ({union}) AS touched WHERE k IS NOT NULL"
    )


def trigger_name(table, event):
    return f"feed_touch_{table}_{event.lower()}"


EVENTS = {'INSERT': ['NEW'], 'UPDATE': ['OLD', 'NEW'], 'DELETE': ['OLD']}


def create_triggers():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table, (columns, _keys) in TRACKED.items():
        if postgres:
            body = " ".join(
                f"{'IF' if n == 0 else 'ELSIF'} TG_OP = '{event}' THEN {_insert(table, aliases, True)};"
                for n, (event, aliases) in enumerate(EVENTS.items())
            )
            op.execute(
                f"CREATE OR REPLACE FUNCTION linghang_feed_touch_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body} END IF; RETURN NULL; END $$"
            )
        for event, aliases in EVENTS.items():
            on = f"UPDATE OF {columns}" if event == 'UPDATE' and columns else event
            if postgres:
                op.execute(
                    f"CREATE TRIGGER {trigger_name(table, event)} AFTER {on} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION linghang_feed_touch_{table}()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {trigger_name(table, event)} AFTER {on} ON {table} "
                    f"BEGIN {_insert(table, aliases, False)}; END"
                )


def drop_triggers():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table in TRACKED:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table, event)}" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS linghang_feed_touch_{table}()")


# The triggers of migrations 0600 and 0710 (the downgrade puts them back).
OLD_TRIGGERS = [
    ('activity', ['INSERT', 'UPDATE', 'DELETE']),
    ('activity_cohost', ['INSERT', 'UPDATE', 'DELETE']),
    ('alliance_membership', ['INSERT', 'UPDATE', 'DELETE']),
    ('organisation', ['INSERT', 'UPDATE', 'DELETE']),
    ('person', ['INSERT', 'UPDATE', 'DELETE']),
    ('venue', ['INSERT', 'UPDATE', 'DELETE']),
    ('monthly_theme', ['INSERT', 'UPDATE', 'DELETE']),
    ('invitation', ['INSERT', 'UPDATE OF activity_id, person_id, organisation_id', 'DELETE']),
    ('problem', ['INSERT', 'UPDATE OF department_id, enterprise_id', 'DELETE']),
    ('problem_follow_up', ['INSERT', 'UPDATE OF problem_id, activity_id', 'DELETE']),
]
OLD_BUMP = (
    "INSERT INTO feed_state (id, epoch, generation, changed_at) VALUES (1, {epoch}, 1, {now}) "
    "ON CONFLICT (id) DO UPDATE SET generation = feed_state.generation + 1, changed_at = {now}"
)


def _old_name(table, event):
    return f"feed_bump_{table}_{event.split()[0].lower()}"


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table, events in OLD_TRIGGERS:
        for event in events:
            op.execute(f"DROP TRIGGER IF EXISTS {_old_name(table, event)}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS linghang_feed_bump()")
    op.drop_table('feed_state')
    op.create_table('feed_change',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('xid', sa.BigInteger(), nullable=True),
    sa.Column('changed_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_change')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('feed_change', schema=None) as batch_op:
        batch_op.create_index('ix_feed_change_key_xid', ['key', 'xid'], unique=False)
        batch_op.create_index('ix_feed_change_xid', ['xid'], unique=False)
    create_triggers()


def downgrade():
    drop_triggers()
    with op.batch_alter_table('feed_change', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_change_xid')
        batch_op.drop_index('ix_feed_change_key_xid')
    op.drop_table('feed_change')
    op.create_table('feed_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', app.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_state'))
    )
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute(
            "CREATE OR REPLACE FUNCTION linghang_feed_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            + OLD_BUMP.format(epoch="floor(random() * 9007199254740991)::bigint", now="clock_timestamp()")
            + "; RETURN NULL; END $$"
        )
    bump = OLD_BUMP.format(epoch="abs(random() % 9007199254740991)", now="strftime('%Y-%m-%d %H:%M:%f', 'now')")
    for table, events in OLD_TRIGGERS:
        for event in events:
            if postgres:
                op.execute(f"CREATE TRIGGER {_old_name(table, event)} AFTER {event} ON {table} "
                           "FOR EACH STATEMENT EXECUTE FUNCTION linghang_feed_bump()")
            else:
                op.execute(f"CREATE TRIGGER {_old_name(table, event)} AFTER {event} ON {table} BEGIN {bump}; END")
