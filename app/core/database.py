"""Database timeouts: connecting, every statement, the health check, and a server that hangs.

PostgreSQL gets `connect_timeout` and a server-side `statement_timeout`. Neither helps when the
server stops answering altogether (paused, swapping, a half-dead network): libpq then waits
forever on its socket. A watchdog thread therefore shuts down the socket of any connection whose
statement, commit or ping outlives its deadline; psycopg reports the connection broken, the
request fails with OperationalError (answered with the static "unavailable" page) and the pool
replaces the connection once the server is back. SQLite gets a busy timeout.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

# The client waits this much longer than statement_timeout, so the server cancels first when it can.
CLIENT_GRACE_SECONDS = 2.0
# libpq counts connect_timeout in whole seconds and treats less than 2 as 2.
MIN_CONNECT_TIMEOUT = 2


class Watchdog:
    """Shuts down the socket of a connection busy past its deadline, from a background thread."""

    def __init__(self, poll_seconds: float = 0.1) -> None:
        self._armed: dict[int, tuple[float, Any, int, int]] = {}
        self._lock = threading.Lock()
        self._poll_seconds = poll_seconds
        self._thread: threading.Thread | None = None

    def arm(self, dbapi_connection: Any, seconds: float) -> None:
        """Start (or restart) the clock of a connection's current operation."""
        try:
            fd = dbapi_connection.fileno()
        except Exception:  # noqa: BLE001 - a closed connection has no socket to watch
            return
        with self._lock:
            self._armed[id(dbapi_connection)] = (time.monotonic() + seconds, dbapi_connection, fd, threading.get_ident())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, dbapi_connection: Any) -> None:
        """The connection's operation ended in time."""
        with self._lock:
            self._armed.pop(id(dbapi_connection), None)

    def disarm_thread(self) -> None:
        """Every operation of this thread ended (a session committed or rolled back)."""
        me = threading.get_ident()
        with self._lock:
            for key in [key for key, (_d, _c, _fd, owner) in self._armed.items() if owner == me]:
                del self._armed[key]

    def _run(self) -> None:
        while True:
            time.sleep(self._poll_seconds)
            now = time.monotonic()
            with self._lock:
                expired = [(key, conn, fd) for key, (deadline, conn, fd, _o) in self._armed.items() if deadline <= now]
                for key, _conn, _fd in expired:
                    del self._armed[key]
            for _key, conn, fd in expired:
                _cut(conn, fd)


def _cut(dbapi_connection: Any, fd: int) -> None:
    # Only the socket the connection still owns: a closed connection's number may be reused.
    try:
        if dbapi_connection.closed or dbapi_connection.fileno() != fd:
            return
    except Exception:  # noqa: BLE001 - closed in the meantime
        return
    # fromfd duplicates the descriptor: shutting the duplicate down ends the connection for
    # libpq (its read returns at once) while closing only the duplicate, never libpq's own fd.
    try:
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


WATCHDOG = Watchdog()


def install_deadlines(engine: Engine, statement_seconds: float, ping_seconds: float) -> None:
    """Give every statement, commit and pool check-out of a PostgreSQL engine a client-side deadline."""

    def before_statement(conn, _cursor, _statement, _parameters, _context, _executemany):
        WATCHDOG.arm(conn.connection.dbapi_connection, statement_seconds)

    def after_statement(conn, _cursor, _statement, _parameters, _context, _executemany):
        WATCHDOG.disarm(conn.connection.dbapi_connection)

    def before_commit_or_rollback(conn, *_args):
        # An invalidated connection has no socket left to watch (and asking for it would reconnect).
        if not conn.invalidated:
            WATCHDOG.arm(conn.connection.dbapi_connection, statement_seconds)

    def on_error(context):
        connection = context.connection
        if connection is not None and not connection.invalidated and connection.connection.dbapi_connection is not None:
            WATCHDOG.disarm(connection.connection.dbapi_connection)

    def ping_on_checkout(dbapi_connection, _record, _proxy):
        # pool_pre_ping, but with a deadline: SQLAlchemy's own ping would wait forever on a hung server.
        WATCHDOG.arm(dbapi_connection, ping_seconds)
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as error:
            raise exc.DisconnectionError(f"database ping failed: {error}") from error
        finally:
            WATCHDOG.disarm(dbapi_connection)

    def on_reset(dbapi_connection, _record, _reset_state):
        WATCHDOG.arm(dbapi_connection, ping_seconds)

    def on_checkin_or_close(dbapi_connection, _record, *_args):
        if dbapi_connection is not None:
            WATCHDOG.disarm(dbapi_connection)

    event.listen(engine, "before_cursor_execute", before_statement)
    event.listen(engine, "after_cursor_execute", after_statement)
    event.listen(engine, "commit", before_commit_or_rollback)
    event.listen(engine, "rollback", before_commit_or_rollback)
    event.listen(engine, "handle_error", on_error)
    event.listen(engine.pool, "checkout", ping_on_checkout)
    event.listen(engine.pool, "reset", on_reset)
    for name in ("checkin", "close", "invalidate", "soft_invalidate"):
        event.listen(engine.pool, name, on_checkin_or_close)


def _session_done(_session, *_args) -> None:
    WATCHDOG.disarm_thread()


def engine_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options with the connect, statement and lock timeouts of the settings."""
    connect = settings["DATABASE_CONNECT_TIMEOUT"]
    statement_ms = settings["DATABASE_STATEMENT_TIMEOUT"]
    if str(settings["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        # How long a writer waits for another's lock before "database is locked".
        return {"connect_args": {"timeout": statement_ms / 1000 if statement_ms else 30.0}}
    return {
        "pool_timeout": connect,
        "connect_args": {
            "connect_timeout": max(MIN_CONNECT_TIMEOUT, math.ceil(connect)),
            "options": f"-c statement_timeout={int(statement_ms)}",
        },
    }


def init_database_timeouts(app, db) -> None:
    """Install the deadlines on the app's engine (PostgreSQL) once Flask-SQLAlchemy built it."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    statement_ms = app.config["DATABASE_STATEMENT_TIMEOUT"]
    statement_seconds = statement_ms / 1000 + CLIENT_GRACE_SECONDS if statement_ms else math.inf
    ping_seconds = max(MIN_CONNECT_TIMEOUT, app.config["DATABASE_CONNECT_TIMEOUT"])
    with app.app_context():
        install_deadlines(db.engine, statement_seconds, ping_seconds)
    session_class = db.session.session_factory.class_
    for name in ("after_commit", "after_rollback"):
        if not event.contains(session_class, name, _session_done):
            event.listen(session_class, name, _session_done)


def health_engine(app) -> Engine:
    """An engine for /healthz alone: no pool, a short connect timeout and a short deadline."""
    engine = app.extensions.get("linghang_health_engine")
    if engine is None:
        seconds = app.config["HEALTHZ_TIMEOUT"] / 1000
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": seconds})
        else:
            engine = sa.create_engine(
                url,
                poolclass=NullPool,
                connect_args={
                    "connect_timeout": max(MIN_CONNECT_TIMEOUT, math.ceil(seconds)),
                    "options": f"-c statement_timeout={int(seconds * 1000)}",
                },
            )
            install_deadlines(engine, seconds, seconds)
        app.extensions["linghang_health_engine"] = engine
    return engine


def database_answers(app) -> bool:
    """True when the database answers a trivial query within HEALTHZ_TIMEOUT (plus connecting)."""
    try:
        # Its own connection: a request stuck on a pooled one must not hold up the answer.
        with health_engine(app).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - the health check reports any failure
        app.logger.warning("health check: database unreachable: %s", error)
        return False
    return True
