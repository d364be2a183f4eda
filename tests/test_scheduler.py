"""The scheduler process: a real APScheduler job, and on PostgreSQL one active copy with stand-bys."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.jobstores.memory import MemoryJobStore
from sqlalchemy import select

from app.config import normalise_database_url
from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from app.reminders import planning, scheduler
from app.reminders.models import Reminder
from tests import factories
from tests.conftest import SMTPSink, build_app

ROOT = Path(__file__).resolve().parent.parent


def wait_until(condition, timeout: float, what: str) -> None:
    """Poll a condition until it holds or the deadline passes (no fixed sleeps in assertions)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def due_reminders(count: int, offset_minutes: int = 1440) -> list[int]:
    """An activity three hours ahead with `count` accepted invitees whose reminder is already due."""
    now = datetime.now(UTC)
    activity = factories.activity(starts_at=now + timedelta(hours=3), reminder_offsets=str(offset_minutes))
    for _ in range(count):
        factories.answered_invitation(activity)
    planning.plan_for_activity(activity, now - timedelta(days=2))
    db.session.commit()
    return list(db.session.scalars(select(Reminder.id).where(Reminder.activity_id == activity.id)))


def test_one_interval_job_that_never_overlaps_and_runs_late_passes(app):
    job = scheduler.build_scheduler(app, 30).get_job(scheduler.JOB_ID)
    assert job.misfire_grace_time is None and job.coalesce is True and job.max_instances == 1
    assert job.trigger.interval == timedelta(seconds=30)
    assert isinstance(job._scheduler._lookup_jobstore("default"), MemoryJobStore)


def test_no_scheduler_runs_inside_the_web_app(app):
    import apscheduler.schedulers.base as base

    started = []
    original = base.BaseScheduler.start
    base.BaseScheduler.start = lambda self, *a, **k: started.append(self)
    try:
        from app import create_app
        from app.config import TestConfig

        create_app(TestConfig(str(db.engine.url), Path(app.instance_path)))
    finally:
        base.BaseScheduler.start = original
    assert started == []


def test_a_background_scheduler_delivers_a_due_reminder_end_to_end(app, smtp_server):
    [reminder_id] = due_reminders(1)
    background = scheduler.build_scheduler(app, 0.2)
    background.start()
    try:
        wait_until(lambda: len(smtp_server.messages) >= 1, 15, "the reminder to arrive")
    finally:
        background.shutdown(wait=True)
    db.session.expire_all()
    row = db.session.scalar(select(OutboxMessage))
    assert row.status == OutboxStatus.sent
    assert smtp_server.parsed()[0]["Message-ID"] == f"<reminder-{reminder_id}@linghang.test>"
    assert len(smtp_server.messages) == 1


def test_run_until_stopped_runs_passes_and_stops_cleanly(app, smtp_server, caplog):
    due_reminders(2)
    stop = threading.Event()
    result: list[int] = []
    scheduler.log.disabled = False  # Alembic's fileConfig disables loggers that existed before it ran
    with caplog.at_level("INFO", logger="linghang.scheduler"):
        runner = threading.Thread(target=lambda: result.append(scheduler.run_until_stopped(app, stop, 0.2)))
        runner.start()
        try:
            wait_until(lambda: len(smtp_server.messages) == 2, 15, "two reminders")
        finally:
            stop.set()
            runner.join(timeout=15)
    assert result == [0]
    assert "active" in caplog.text and "stopped" in caplog.text


# -- PostgreSQL: one active process, stand-bys take over ---------------------------

class Process:
    """A `flask scheduler run` subprocess whose log lines are collected by a thread."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def log(self) -> str:
        return f"--- {self.name} ---\n" + "\n".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def scheduler_database(postgres_url, tmp_path):
    """A database of its own for the scheduler processes, migrated, with the app bound to it."""
    name = f"linghang_sched_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_database_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    flask_app = build_app(url, tmp_path / "instance")
    try:
        with flask_app.app_context():
            yield flask_app, url
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_one_active_scheduler_and_a_standby_that_takes_over_after_kill_9(scheduler_database, tmp_path):
    _app, url = scheduler_database
    sink = SMTPSink()
    sink.start()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(sink.port),
        "BASE_URL": "http://linghang.test",
        "SCHEDULER_INTERVAL_SECONDS": "1",
        "SCHEDULER_STANDBY_POLL_SECONDS": "0.5",
        "LINGHANG_INSTANCE": str(tmp_path / "scheduler-instance"),
        "PYTHONUNBUFFERED": "1",
    }
    first_batch = due_reminders(10)
    first = Process("first", env)
    second: Process | None = None
    try:
        wait_until(lambda: first.saw("active:"), 20, "the first process to hold the lock\n" + first.log())
        second = Process("second", env)
        wait_until(lambda: second.saw("standby:"), 20, "the second process to wait\n" + second.log())
        wait_until(lambda: len(sink.messages) >= 10, 20, "the first batch\n" + first.log())
        # Only the holder of the lock sweeps.
        assert first.saw("pass:") and not second.saw("pass:") and not second.saw("active:")

        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        second_batch = due_reminders(10)
        wait_until(lambda: second.saw("active:"), 15, "the stand-by to take over\n" + second.log())
        wait_until(lambda: len(sink.messages) >= 20, 20, "the second batch\n" + second.log())

        # SIGTERM: finish the pass, release the lock, exit 0.
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(timeout=15) == 0, second.log()
        assert second.saw("stopped")
    finally:
        first.stop()
        if second is not None:
            second.stop()
        sink.stop()

    # Every due reminder arrived exactly once (at most the one in flight twice, same Message-ID).
    expected = {f"<reminder-{rid}@linghang.test>" for rid in first_batch + second_batch}
    received = Counter(str(message["Message-ID"]) for message in sink.parsed())
    assert set(received) == expected
    assert sum(n - 1 for n in received.values()) <= 1
    db.session.expire_all()
    assert {row.status for row in db.session.scalars(select(OutboxMessage))} == {OutboxStatus.sent}


class TimedSink(SMTPSink):
    """An SMTP server that answers each message after `delay` (a busy relay, so that a batch of
    100 takes seconds and a kill lands in its middle) and notes when each arrived."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.arrivals: list[datetime] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(self.delay)
        self.arrivals.append(datetime.now(UTC))
        return await super().handle_DATA(server, session, envelope)


def reminders_due_in(count: int, due_in: timedelta) -> tuple[list[int], datetime]:
    """An activity with `count` accepted invitees whose one reminder falls due `due_in` after
    they are planned (the invitees are made first: on a busy machine that takes a while)."""
    activity = factories.activity(starts_at=datetime.now(UTC) + timedelta(hours=3), reminder_offsets="60")
    for _ in range(count):
        factories.answered_invitation(activity)
    due_at = datetime.now(UTC) + due_in
    activity.starts_at, activity.ends_at = due_at + timedelta(minutes=60), due_at + timedelta(minutes=120)
    planning.plan_for_activity(activity, datetime.now(UTC))
    db.session.commit()
    ids = list(db.session.scalars(select(Reminder.id).where(Reminder.activity_id == activity.id)))
    assert len(ids) == count
    return ids, due_at


BATCH = 100


def test_a_scheduler_killed_mid_batch_is_taken_over_within_a_minute(scheduler_database, tmp_path):
    _app, url = scheduler_database
    sink = TimedSink(delay=0.02)
    sink.start()
    env = {
        **os.environ, "DATABASE_URL": url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port),
        "BASE_URL": "http://linghang.test", "SCHEDULER_INTERVAL_SECONDS": "1", "SCHEDULER_STANDBY_POLL_SECONDS": "0.5",
        "LINGHANG_INSTANCE": str(tmp_path / "scheduler-instance"), "PYTHONUNBUFFERED": "1",
    }
    first = Process("first", env)
    second: Process | None = None
    try:
        # Starting a process takes a while on a busy machine; the clock of the test starts later.
        wait_until(lambda: first.saw("active:"), 120, "the first process to hold the lock")
        second = Process("second", env)
        wait_until(lambda: second.saw("standby:"), 120, "the second process to wait")
        batch, due_at = reminders_due_in(BATCH, timedelta(seconds=3))
        try:
            wait_until(lambda: len(sink.messages) >= BATCH // 4, 120, "a quarter of the batch")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{first.log()}") from None
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        at_kill, killed_at = len(sink.messages), datetime.now(UTC)
        wait_until(
            # Counted cheaply first: parsing every message at each poll would slow the schedulers down.
            lambda: len(sink.messages) >= BATCH and len({str(m["Message-ID"]) for m in sink.parsed()}) >= BATCH, 120,
            "the stand-by to deliver the rest\n" + second.log(),
        )
    finally:
        first.stop()
        if second is not None:
            second.stop()
        sink.stop()

    received = Counter(str(message["Message-ID"]) for message in sink.parsed())
    first_arrival: dict[str, datetime] = {}
    for message, arrival in zip(sink.parsed(), sink.arrivals, strict=True):
        first_arrival.setdefault(str(message["Message-ID"]), arrival)
    late = max(arrival - due_at for arrival in first_arrival.values())
    duplicates = sum(n - 1 for n in received.values())
    offsets = sorted(round((arrival - due_at).total_seconds(), 1) for arrival in first_arrival.values())
    print(f"\nkilled {(killed_at - due_at).total_seconds():.1f} s after due, after {at_kill} of {BATCH}; {len(received)} delivered; "
          f"latest {late.total_seconds():.1f} s after due; duplicates {duplicates}; arrivals (s after due): {offsets}")
    assert at_kill < BATCH  # the kill came in the middle of the batch
    assert set(received) == {f"<reminder-{rid}@linghang.test>" for rid in batch}
    assert late <= timedelta(seconds=60)
    assert duplicates <= 1


def test_a_pass_replans_now_and_then_so_unplanned_invitations_are_reminded(app, smtp_server):
    start = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)
    activity = factories.activity(starts_at=start)
    factories.answered_invitation(activity)  # accepted, but nobody called the planner
    db.session.commit()
    clock = scheduler.PlanClock(timedelta(minutes=10))
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert scheduler.run_pass(app, now, clock)["claimed"] == 0
    assert db.session.scalar(select(sa.func.count()).select_from(Reminder)) == 2
    assert not clock.due(now + timedelta(minutes=5)) and clock.due(now + timedelta(minutes=10))
    figures = scheduler.run_pass(app, start - timedelta(days=1), clock)
    assert (figures["queued"], figures["sent"]) == (1, 1)
    assert len(smtp_server.messages) == 1


def test_on_sqlite_a_second_copy_on_the_same_host_waits_for_the_lock_file(tmp_path):
    path = tmp_path / "linghang.sqlite.scheduler-lock"
    first, second = scheduler.FileLock(path), scheduler.FileLock(path)
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()
