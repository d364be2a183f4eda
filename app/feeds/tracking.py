"""Change tracking for feeds: which keys a feed reads, marks, and the one-query staleness probe.

Triggers (migration 0900) insert a feed_change row for every key a committed change touches:

    public        an activity that is not a visit (the public feed)
    o:<org>       an activity hosted, co-hosted, visited at or inviting the organisation, a
                  follow-up visit on a problem of the department, an alliance membership of it
    a:<alliance>  an activity of the alliance
    p:<person>    an activity inviting or organised by the person
    s:<series>    the series row or any of its occurrences
    O:<org>, P:<person>, V:<venue>, T:<theme>   the row itself (names shown in events)
    t:<token>     a feed token revoked, rotated or moved

A cached value (a rendered feed, a resolved token) remembers the keys it depends on and a *mark*
taken before it read anything. It is still current exactly when no feed_change row with one of
its keys was committed after the mark:

- PostgreSQL: the mark is the snapshot (pg_current_snapshot()); a row is new when its writing
  transaction's id is not visible in that snapshot. Sequence numbers would not do: a transaction
  can take a lower number and commit after a higher one.
- SQLite: one writer at a time, so ids grow in commit order; the mark is the highest id.

Rows are only ever inserted, so writers never wait for each other; rows older than two days
can be pruned (`flask feeds prune`): a cached feed lives at most until local midnight (its key
holds the day) and Last-Modified is at least the start of the day.

The probe asks the question in one indexed query. On PostgreSQL it runs on a per-thread
autocommit connection with a prepared statement and no pool check-out, no ping and no
transaction: one round trip (the watchdog of app/core/database.py still bounds it). When the
probe cannot answer, the caller treats the value as stale and takes the ordinary path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from flask import current_app
from sqlalchemy import bindparam, delete, func, select, text

from app.core.database import CLIENT_GRACE_SECONDS, WATCHDOG
from app.extensions import db
from app.feeds.models import FeedChange

KEEP = timedelta(days=2)
TRIGGER_COUNT = 36  # migration 0900: 12 tables × insert/update/delete


@dataclass(frozen=True)
class Mark:
    """A point in the change log: a PostgreSQL snapshot (text and its xmin) or an SQLite id."""

    snapshot: str | None = None
    xmin: int = 0
    seq: int = 0


def tracking_maintained() -> bool:
    """True when the feed_change triggers exist (checked once per process and database).

    Without them (a later SQLite batch migration that recreated a table, say) nothing is cached:
    every poll reads and renders, slower but still right.
    """
    known = current_app.extensions.setdefault("linghang_feed_triggers", {})
    url = db.engine.url
    if url not in known:
        if db.engine.dialect.name == "postgresql":
            sql = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'feed_touch_%' AND NOT tgisinternal"
        else:
            sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'feed_touch_%'"
        known[url] = db.session.execute(text(sql)).scalar() >= TRIGGER_COUNT
    return known[url]


def take_mark(connection=None) -> Mark:
    """The current mark; take it before reading what the cached value is made of."""
    executor = connection if connection is not None else db.session
    if db.engine.dialect.name == "postgresql":
        snapshot = executor.execute(text("SELECT pg_current_snapshot()::text")).scalar_one()
        return Mark(snapshot=snapshot, xmin=int(snapshot.split(":", 1)[0]))
    return Mark(seq=int(executor.execute(select(func.coalesce(func.max(FeedChange.id), 0))).scalar_one()))


def last_change(keys: Iterable[str], mark: Mark) -> datetime | None:
    """When the newest change to these keys visible at the mark happened (for Last-Modified)."""
    keys = sorted(set(keys))
    if mark.snapshot is not None:
        value = db.session.execute(
            text(
                "SELECT max(changed_at) FROM feed_change WHERE key = ANY(:keys) "
                "AND pg_visible_in_snapshot(xid::text::xid8, CAST(:snapshot AS pg_snapshot))"
            ),
            {"keys": keys, "snapshot": mark.snapshot},
        ).scalar()
    else:
        value = db.session.execute(
            select(func.max(FeedChange.changed_at)).where(FeedChange.key.in_(keys), FeedChange.id <= mark.seq)
        ).scalar()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


# -- the probe ---------------------------------------------------------------------

_PG_PROBE = (
    "SELECT EXISTS (SELECT 1 FROM feed_change WHERE key = ANY(%s) AND xid >= %s"
    " AND NOT pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot))"
    " OR EXISTS (SELECT 1 FROM feed_change WHERE key = ANY(%s) AND xid >= %s"
    " AND NOT pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot))"
)
_SQLITE_PROBE = text(
    "SELECT EXISTS (SELECT 1 FROM feed_change WHERE key IN :k1 AND id > :m1)"
    " OR EXISTS (SELECT 1 FROM feed_change WHERE key IN :k2 AND id > :m2)"
).bindparams(bindparam("k1", expanding=True), bindparam("k2", expanding=True))

_local = threading.local()


def _probe_connection() -> psycopg.Connection:
    """This thread's autocommit connection for probes (made on first use, per database)."""
    connections = _local.__dict__.setdefault("connections", {})
    url = db.engine.url
    connection = connections.get(url)
    if connection is None or connection.closed:
        config = current_app.config
        statement_ms = int(config["DATABASE_STATEMENT_TIMEOUT"])
        connection = psycopg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=max(2, int(config["DATABASE_CONNECT_TIMEOUT"])),
            options=f"-c statement_timeout={statement_ms}",
        )
        connections[url] = connection
    return connection


def close_probe_connections() -> None:
    """Close this thread's probe connections (tests, shutdown)."""
    for connection in _local.__dict__.pop("connections", {}).values():
        connection.close()


def _pg_changed(pairs: Sequence[tuple[Sequence[str], Mark]]) -> bool:
    params: list = []
    for keys, mark in pairs:
        params += [list(keys), mark.xmin, mark.snapshot or "1:1:"]
    connection = _probe_connection()
    statement_ms = int(current_app.config["DATABASE_STATEMENT_TIMEOUT"])
    WATCHDOG.arm(connection, statement_ms / 1000 + CLIENT_GRACE_SECONDS if statement_ms else 3600.0)
    try:
        row = connection.execute(_PG_PROBE, params, prepare=True).fetchone()
    finally:
        WATCHDOG.disarm(connection)
    return bool(row[0])


def changed_since(*pairs: tuple[Sequence[str], Mark]) -> bool:
    """True when a change to any of the keys committed after its mark (one or two pairs).

    Also True when the probe cannot tell (connection lost…): the caller then reads afresh.
    """
    padded = list(pairs) + [((), Mark(seq=0, snapshot=pairs[0][1].snapshot))] * (2 - len(pairs))
    try:
        if db.engine.dialect.name == "postgresql":
            return _pg_changed(padded)
        params = {"k1": list(padded[0][0]), "m1": padded[0][1].seq, "k2": list(padded[1][0]), "m2": padded[1][1].seq}
        with db.engine.connect() as connection:
            return bool(connection.execute(_SQLITE_PROBE, params).scalar())
    except (psycopg.Error, OSError) as error:
        current_app.logger.warning("feed probe failed, reading afresh: %s", error)
        close_probe_connections()
        return True


def prune(now: datetime) -> int:
    """Delete change rows older than KEEP (no cached value can still need them)."""
    result = db.session.execute(delete(FeedChange).where(FeedChange.changed_at < now - KEEP))
    return result.rowcount or 0

