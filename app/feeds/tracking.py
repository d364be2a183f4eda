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
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from flask import current_app, has_app_context
from sqlalchemy import bindparam, delete, event, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.core.database import CLIENT_GRACE_SECONDS, WATCHDOG
from app.extensions import db
from app.feeds.models import FeedChange

KEEP = timedelta(days=2)
# A cached value is read afresh after this many seconds, well before the change rows that could
# still concern it are pruned (KEEP).
MAX_AGE = 86400.0
SWEEPER_IDLE = 60.0  # seconds without a poll after which a process stops sweeping ahead
TRIGGER_COUNT = 36  # migration 0900: 12 tables × insert/update/delete


@dataclass(frozen=True)
class Mark:
    """A point in the change log: a PostgreSQL snapshot (text and its xmin) or an SQLite id."""

    snapshot: str | None = None
    xmin: int = 0
    seq: int = 0


def tracking_maintained() -> bool:
    """True when the feed_change triggers exist (checked once per process and app).

    Without them (a later SQLite batch migration that recreated a table, say) nothing is cached:
    every poll reads and renders, slower but still right.
    """
    known = current_app.extensions.get("linghang_feed_triggers")
    if known is None:
        if db.engine.dialect.name == "postgresql":
            sql = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'feed_touch_%' AND NOT tgisinternal"
        else:
            sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'feed_touch_%'"
        with db.engine.connect() as connection:
            known = connection.execute(text(sql)).scalar() >= TRIGGER_COUNT
        current_app.extensions["linghang_feed_triggers"] = known
    return known


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


# -- the probe connection --------------------------------------------------------------

_local = threading.local()


def _probe_connection() -> psycopg.Connection:
    """This thread's autocommit connection for the change log (made on first use, per database)."""
    connections = _local.__dict__.setdefault("connections", {})
    url = db.engine.url
    connection = connections.get(url)
    if connection is None or connection.closed:
        config = current_app.config
        connection = psycopg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=max(2, int(config["DATABASE_CONNECT_TIMEOUT"])),
            options=f"-c statement_timeout={int(config['DATABASE_STATEMENT_TIMEOUT'])}",
        )
        connections[url] = connection
    return connection


def close_probe_connections() -> None:
    """Close this thread's probe connections (tests, shutdown)."""
    for connection in _local.__dict__.pop("connections", {}).values():
        connection.close()


def _pg(sql: str, params: Sequence) -> tuple:
    """One prepared statement on the probe connection, bounded by the database watchdog."""
    connection = _probe_connection()
    statement_ms = int(current_app.config["DATABASE_STATEMENT_TIMEOUT"])
    WATCHDOG.arm(connection, statement_ms / 1000 + CLIENT_GRACE_SECONDS if statement_ms else 3600.0)
    try:
        return connection.execute(sql, params, prepare=True).fetchone()
    finally:
        WATCHDOG.disarm(connection)


_PG_PROBE = (
    "SELECT EXISTS (SELECT 1 FROM feed_change WHERE key = ANY(%s) AND xid >= %s"
    " AND NOT pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot))"
)
_PG_SWEEP = (
    "SELECT pg_current_snapshot()::text, array_agg(DISTINCT key) FROM feed_change"
    " WHERE xid >= %s AND NOT pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot)"
)
_SQLITE_PROBE = text("SELECT EXISTS (SELECT 1 FROM feed_change WHERE key IN :keys AND id > :seq)").bindparams(
    bindparam("keys", expanding=True)
)
_SQLITE_SWEEP = text("SELECT id, key FROM feed_change WHERE id > :seq ORDER BY id")


def changed_since(keys: Sequence[str], mark: Mark) -> bool:
    """True when a change to any of the keys committed after the mark (one indexed query)."""
    if mark.snapshot is not None:
        return bool(_pg(_PG_PROBE, [list(keys), mark.xmin, mark.snapshot])[0])
    with db.engine.connect() as connection:
        return bool(connection.execute(_SQLITE_PROBE, {"keys": list(keys), "seq": mark.seq}).scalar())


def _mark_now() -> Mark:
    if db.engine.dialect.name == "postgresql":
        snapshot = _pg("SELECT pg_current_snapshot()::text", [])[0]
        return Mark(snapshot=snapshot, xmin=int(snapshot.split(":", 1)[0]))
    with db.engine.connect() as connection:
        return take_mark(connection)


def _sweep_after(mark: Mark) -> tuple[Mark, frozenset[str]]:
    """The keys of changes committed after the mark, and the mark they were read at."""
    if mark.snapshot is not None:
        snapshot, keys = _pg(_PG_SWEEP, [mark.xmin, mark.snapshot])
        return Mark(snapshot=snapshot, xmin=int(snapshot.split(":", 1)[0])), frozenset(keys or ())
    with db.engine.connect() as connection:
        rows = connection.execute(_SQLITE_SWEEP, {"seq": mark.seq}).all()
    return Mark(seq=rows[-1][0] if rows else mark.seq), frozenset(key for _id, key in rows)


# -- the watch -------------------------------------------------------------------------

@dataclass
class Tracked:
    """What a cached value needs to stay checkable: its keys, its mark, the watch's generation."""

    keys: frozenset[str]
    mark: Mark
    generation: int  # the last sweep completed before the mark was taken
    born: float  # the watch's clock when it was read


class ChangeWatch:
    """One process's view of the change log, refreshed by polls at most FEED_FRESHNESS_SECONDS apart.

    A *sweep* reads, in one query, the keys of every change committed since the previous sweep
    and keeps them per generation (the last HISTORY sweeps). A cached value is current when no
    sweep after its own generation touched its keys; when one did (it may be a change the value
    already saw) or the history no longer reaches back that far, one exact query decides. Polls use the last sweep when it began at
    most FEED_FRESHNESS_SECONDS ago (else they sweep, one at a time: waiting threads reuse a
    sweep that began after they arrived; under steady traffic a background thread sweeps ahead,
    so polls do not wait), and at once after this process committed a write through the ORM
    session (`note_write`). So a change is served: at once by the process that
    made it, within FEED_FRESHNESS_SECONDS by every other; with 0, on the next poll everywhere.
    """

    HISTORY = 4096

    def __init__(self, freshness: float, clock=time.monotonic) -> None:
        self.freshness = freshness
        self.clock = clock
        self.generation = 0
        self.mark: Mark | None = None
        self.swept_at = float("-inf")  # when the last sweep began (clock)
        self.dirty = False
        self._history: deque[tuple[int, frozenset[str]]] = deque(maxlen=self.HISTORY)
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._starting = threading.Lock()
        self._polled = float("-inf")  # time.monotonic() of the last poll (the sweeper's idleness)

    def note_write(self) -> None:
        """This process committed a write: the next poll sweeps first."""
        self.dirty = True

    def track(self, keys: Iterable[str], mark: Mark, generation: int) -> Tracked:
        """Checkable state of a value read at `mark` (`generation`: self.generation before the mark)."""
        return Tracked(frozenset(keys), mark, generation, self.clock())

    def _sweep(self, arrived: float, wait: bool = True) -> None:
        if not self._lock.acquire(blocking=wait):
            return  # another thread is sweeping already; the last sweep is still fresh enough
        try:
            if self.swept_at >= arrived and not self.dirty:
                return  # a sweep that began after this poll arrived covers it
            began = self.clock()
            self.dirty = False
            if self.mark is None:
                self.mark = _mark_now()
                self.generation += 1
            else:
                self.mark, keys = _sweep_after(self.mark)
                self.generation += 1
                self._history.append((self.generation, keys))
            self.swept_at = began
        finally:
            self._lock.release()

    def refresh(self) -> bool:
        """Sweep when the last sweep is too old or this process wrote; False if the log is unreadable.

        Past half the freshness a background thread sweeps while polls go on using the last
        sweep, so that under steady traffic no poll waits for the database.
        """
        now = self.clock()
        self._polled = time.monotonic()
        age = now - self.swept_at
        try:
            if self.dirty or age > self.freshness:
                self._sweep(now)
            elif age > self.freshness / 2:
                self._start_sweeper()
        except (psycopg.Error, OSError, SQLAlchemyError) as error:
            current_app.logger.warning("feed change log unreadable, reading afresh: %s", error)
            close_probe_connections()
            return False
        return True

    def _start_sweeper(self) -> None:
        if self._sweeper is not None and self._sweeper.is_alive():
            return
        with self._starting:
            if self._sweeper is None or not self._sweeper.is_alive():
                app = current_app._get_current_object()  # the thread needs the app, not the proxy
                self._sweeper = threading.Thread(target=self._sweep_ahead, args=(app,), name="feed-sweeper", daemon=True)
                self._sweeper.start()

    def _sweep_ahead(self, app) -> None:
        """Keep the watch fresh while polls come in; stop after SWEEPER_IDLE seconds without one."""
        pause = max(self.freshness / 4, 0.05)
        with app.app_context():
            try:
                while time.monotonic() - self._polled < SWEEPER_IDLE:
                    if self.clock() - self.swept_at > self.freshness / 2:
                        self._sweep(self.clock(), wait=False)
                    time.sleep(pause)
            except (psycopg.Error, OSError, SQLAlchemyError) as error:
                app.logger.warning("feed sweeper stopped: %s", error)
            finally:
                close_probe_connections()

    def current(self, tracked: Tracked) -> bool:
        """True when no change to the value's keys is known since its mark (call refresh() first)."""
        if self.clock() - tracked.born > MAX_AGE:
            return False  # older than any change row is kept for: read afresh
        generation = self.generation
        if tracked.generation >= generation:
            return True
        history = list(self._history)
        covered = bool(history) and history[0][0] <= tracked.generation + 1
        if not covered or any(gen > tracked.generation and keys & tracked.keys for gen, keys in history):
            # A sweep may also list changes the value already saw: one exact query decides.
            try:
                if changed_since(sorted(tracked.keys), tracked.mark):
                    return False
            except (psycopg.Error, OSError, SQLAlchemyError):
                close_probe_connections()
                return False
        tracked.generation = max(tracked.generation, generation)
        return True


def watch() -> ChangeWatch:
    """This process's watch of the change log (one per app)."""
    found = current_app.extensions.get("linghang_feed_watch")
    if found is None:
        found = ChangeWatch(float(current_app.config.get("FEED_FRESHNESS_SECONDS", 1.0)))
        current_app.extensions["linghang_feed_watch"] = found
        _listen_for_writes()
    return found


def _wrote(session, *_args) -> None:
    session.info["linghang_feed_wrote"] = True


def _orm_execute(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["linghang_feed_wrote"] = True


def _committed(session) -> None:
    if session.info.pop("linghang_feed_wrote", False) and has_app_context():
        found = current_app.extensions.get("linghang_feed_watch")
        if found is not None:
            found.note_write()


def _rolled_back(session) -> None:
    session.info.pop("linghang_feed_wrote", None)


def _listen_for_writes() -> None:
    """Let commits of this process's ORM sessions that wrote make the next poll sweep first."""
    session_class = db.session.session_factory.class_
    for name, listener in (("after_flush", _wrote), ("do_orm_execute", _orm_execute),
                           ("after_commit", _committed), ("after_rollback", _rolled_back)):
        if not event.contains(session_class, name, listener):
            event.listen(session_class, name, listener)


def prune(now: datetime) -> int:
    """Delete change rows older than KEEP (no cached value can still need them)."""
    result = db.session.execute(delete(FeedChange).where(FeedChange.changed_at < now - KEEP))
    return result.rowcount or 0

