"""The one scheduler process: APScheduler with a memory job store and one interval job.

`flask scheduler run` calls `run_until_stopped`. On PostgreSQL the process first takes a session
advisory lock on a dedicated connection, held for its lifetime; copies started on other hosts
wait as stand-bys, trying the lock every few seconds, and take over when the holder dies —
PostgreSQL frees the lock as soon as the holder's connection drops, even after `kill -9`.
The lock only keeps the work in one place: correctness comes from the tables (leases,
claim tokens, unique keys), so even two active processes would neither lose nor double a mail.
On SQLite one host is assumed; copies on that host wait on a lock file beside the database.
No scheduler ever starts inside the web application.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.pool import NullPool

from app.core.clock import utcnow
from app.core.unit_of_work import unit_of_work
from app.extensions import db
from app.mail.dispatch import deliver_due
from app.reminders.planning import plan_upcoming
from app.reminders.sweep import sweep
from app.shortlinks.services import purge_expired

log = logging.getLogger("linghang.scheduler")

# Any fixed 64-bit number shared by every copy of the scheduler ("LHSCHED" in ASCII).
LOCK_KEY = 0x4C48534348454400 >> 8
JOB_ID = "sweep-and-dispatch"


class PlanClock:
    """When the scheduler last re-planned upcoming activities (a safety net, every few minutes)."""

    def __init__(self, every: timedelta) -> None:
        self.every = every
        self.last: datetime | None = None

    def due(self, now: datetime) -> bool:
        if self.last is None or now - self.last >= self.every:
            self.last = now
            return True
        return False


def run_pass(app: Flask, now: datetime | None = None, plan_clock: PlanClock | None = None) -> dict[str, int]:
    """One pass: (now and then) re-plan and drop long-expired short links, sweep due reminders into the outbox, deliver what is due.

    Each step runs in units of work: the re-planning is one; the sweep and the delivery commit
    per claim and per message (see app/reminders/sweep.py and app/mail/dispatch.py), because
    their leases must survive a pass that dies half-way.
    """
    with app.app_context():
        try:
            moment = now or utcnow()
            if plan_clock is not None and plan_clock.due(moment):
                with unit_of_work():
                    plan_upcoming(moment)
                    purge_expired(moment)
            swept = sweep(moment)
            delivered = deliver_due(moment, limit=500)
        except Exception:
            log.exception("pass failed; the next pass retries")
            raise
        finally:
            db.session.remove()
    figures = {
        "claimed": swept.claimed,
        "queued": swept.queued,
        "suppressed": swept.suppressed,
        "reminders_failed": swept.failed,
        "sent": delivered.sent,
        "retrying": delivered.retrying,
        "failed": delivered.failed,
        "withdrawn": delivered.withdrawn,
    }
    if any(figures.values()):
        log.info("pass: %s", " ".join(f"{k}={v}" for k, v in figures.items()))
    for error in delivered.errors:
        log.warning("delivery: %s", error)
    return figures


def build_scheduler(app: Flask, interval: float) -> BackgroundScheduler:
    """A BackgroundScheduler with one interval job; passes that fall behind run once, never twice at a time."""
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(1)},
        timezone=UTC,
    )
    scheduler.add_job(
        run_pass,
        trigger=IntervalTrigger(seconds=interval, timezone=UTC),
        args=[app],
        kwargs={"plan_clock": PlanClock(timedelta(seconds=app.config["SCHEDULER_PLAN_EVERY_SECONDS"]))},
        id=JOB_ID,
        # A late pass still runs (what fell due while we were busy or down is sent, once) …
        misfire_grace_time=None,
        # … several missed runs collapse into one, and passes never overlap.
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),
    )
    return scheduler


class AdvisoryLock:
    """A PostgreSQL session advisory lock on its own connection (not from the app's pool)."""

    def __init__(self, url: sa.URL | str, key: int = LOCK_KEY) -> None:
        self.engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.key = key
        self.connection: sa.Connection | None = None

    def try_acquire(self) -> bool:
        """Try once; True when this process now holds the lock."""
        try:
            if self.connection is None:
                self.connection = self.engine.connect()
            return bool(self.connection.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}))
        except sa.exc.DBAPIError as error:
            log.warning("lock: database not reachable (%s)", error.__class__.__name__)
            self._drop()
            return False

    def alive(self) -> bool:
        """Is the connection (and so the lock) still there?"""
        if self.connection is None:
            return False
        try:
            self.connection.scalar(sa.text("SELECT 1"))
            return True
        except sa.exc.DBAPIError:
            self._drop()
            return False

    def release(self) -> None:
        """Unlock and close the connection."""
        if self.connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self.connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        self._drop()
        self.engine.dispose()

    def _drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self.connection.close()
            self.connection = None


class FileLock:
    """SQLite: an exclusive lock on a file beside the database, so copies on the same host wait.

    The kernel releases it when the process dies. It does not reach other hosts: with SQLite run
    the scheduler on the one host that has the database file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def alive(self) -> bool:
        return self.handle is not None

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def scheduler_lock(app: Flask) -> AdvisoryLock | FileLock | None:
    """The lock that keeps one scheduler active for this app's database."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return FileLock(Path(url.database).with_name(Path(url.database).name + ".scheduler-lock"))
    return None


def run_until_stopped(app: Flask, stop: threading.Event, interval: float | None = None) -> int:
    """Wait for the lock, then run passes every `interval` seconds until `stop` is set.

    Returns the exit status: 0 after a clean stop, 1 when the lock's connection was lost (a
    supervisor restarts the process, which then waits as a stand-by).
    """
    interval = interval or app.config["SCHEDULER_INTERVAL_SECONDS"]
    poll = app.config["SCHEDULER_STANDBY_POLL_SECONDS"]
    lock = scheduler_lock(app)
    if lock is not None:
        announced = False
        while not stop.is_set() and not lock.try_acquire():
            if not announced:
                log.info("standby: another scheduler holds the lock; trying every %.1f s", poll)
                announced = True
            stop.wait(poll)
        if stop.is_set():
            lock.release()
            log.info("stopped (was on stand-by)")
            return 0
    log.info("active: holding the scheduler lock (%s); a pass every %.1f s", type(lock).__name__, interval)
    scheduler = build_scheduler(app, interval)
    scheduler.start()
    status = 0
    try:
        while not stop.wait(min(poll, interval)):
            if lock is not None and not lock.alive():
                log.error("lost the database connection holding the lock; stopping")
                status = 1
                break
    finally:
        scheduler.shutdown(wait=True)
        if lock is not None:
            lock.release()
    log.info("stopped")
    return status
