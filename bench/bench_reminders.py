"""Sweep 10,000 due reminders and compare with a bare claim `UPDATE … RETURNING` of the same rows.

    .venv/bin/python bench/bench_reminders.py            # SQLite in a temporary folder
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1/test .venv/bin/python bench/bench_reminders.py

The sweep claims the rows (lease + claim token), checks that each is still wanted (invitee
accepted, activity published and ahead), inserts one outbox row each and marks them done —
all set-based. Each round times both back to back and takes their ratio, so load elsewhere on
the machine affects both alike; it prints the median and the best of the rounds. Aim: under 3×.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.config import TestConfig, normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.mail.models import OutboxMessage  # noqa: E402
from app.reminders import sweep  # noqa: E402
from app.reminders.models import Reminder, ReminderStatus  # noqa: E402

N = int(os.environ.get("BENCH_REMINDERS", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
NOW = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
START = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def fill() -> None:
    """One published activity with N accepted invitees, each with a due reminder."""
    engine = db.engine
    with engine.begin() as connection:
        org_id = connection.execute(
            sa.text("INSERT INTO organisation (name, kind, party_branch, active, created_at, updated_at) "
                    "VALUES ('基准企业', 'enterprise', 'none', true, :t, :t) RETURNING id"),
            {"t": NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW},
        ).scalar_one()
    from app.events.models import Activity, ActivityKind, ActivityStatus
    from app.invitations.models import Answer, Invitation
    from app.orgs.models import Organisation, OrgKind, Person

    host = Organisation(name="基准党委", kind=OrgKind.committee)
    activity = Activity(kind=ActivityKind.salon, title="基准活动", host=host, starts_at=START,
                        ends_at=START + timedelta(hours=2), status=ActivityStatus.published)
    db.session.add(activity)
    db.session.flush()
    people = [{"name": f"联系人{i}", "email": f"p{i}@bench.example", "organisation_id": org_id,
               "is_contact": True, "active": True, "created_at": NOW} for i in range(N)]
    db.session.execute(sa.insert(Person), people)
    person_ids = list(db.session.scalars(sa.select(Person.id).order_by(Person.id)))
    invitations = [{"activity_id": activity.id, "person_id": pid, "organisation_id": org_id,
                    "answer": Answer.accepted, "seats": 1, "token_hash": secrets.token_hex(32),
                    "checkin_code": secrets.token_hex(6), "checked_in_count": 0, "is_walk_in": False,
                    "created_at": NOW, "updated_at": NOW} for pid in person_ids]
    db.session.execute(sa.insert(Invitation), invitations)
    rows = db.session.execute(sa.select(Invitation.id, Invitation.person_id)).all()
    db.session.execute(sa.insert(Reminder), [
        {"kind": "activity_upcoming", "subject_type": "invitation", "subject_id": iid,
         "activity_id": activity.id, "recipient": f"person:{pid}", "person_id": pid,
         "email": f"p{pid}@bench.example", "due_at": NOW - timedelta(minutes=1),
         "status": ReminderStatus.pending, "attempts": 0, "created_at": NOW}
        for iid, pid in rows
    ])
    db.session.commit()


def reset() -> None:
    """Every reminder pending again, no outbox rows."""
    db.session.execute(sa.delete(OutboxMessage))
    db.session.execute(sa.update(Reminder).values(
        status=ReminderStatus.pending, claim_token=None, lease_until=None, outbox_message_id=None, attempts=0))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # both timings start from tidy tables and fresh statistics
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE reminder"))
            connection.execute(sa.text("VACUUM ANALYZE outbox_message"))


def bare_claim() -> float:
    """The floor: claim the same rows with one UPDATE … RETURNING, nothing else."""
    due = (sa.select(Reminder.id)
           .where(Reminder.status == ReminderStatus.pending, Reminder.due_at <= NOW)
           .order_by(Reminder.due_at, Reminder.id).limit(N))
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    started = time.perf_counter()
    ids = db.session.execute(
        sa.update(Reminder).where(Reminder.id.in_(due.scalar_subquery()))
        .values(status=ReminderStatus.claimed, lease_until=NOW + sweep.LEASE, claim_token=uuid.uuid4().hex)
        .returning(Reminder.id)
    ).all()
    db.session.commit()
    elapsed = time.perf_counter() - started
    assert len(ids) == N, len(ids)
    return elapsed


def full_sweep() -> float:
    started = time.perf_counter()
    report = sweep.sweep(NOW, batch=N)
    elapsed = time.perf_counter() - started
    assert (report.claimed, report.queued) == (N, N), report
    return elapsed


def main() -> None:
    admin_url = os.environ.get("TEST_DATABASE_URL")
    folder = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    admin = None
    if admin_url:
        name = f"linghang_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{folder / 'bench.sqlite'}"
    app = create_app(TestConfig(url, folder / "instance"))
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            fill()
            bare, swept = [], []
            for _ in range(ROUNDS):
                reset()
                bare.append(bare_claim())
                reset()
                swept.append(full_sweep())
            ratios = [s / b for b, s in zip(bare, swept, strict=True)]
            print(f"database: {db.engine.dialect.name}; {N} due reminders; {ROUNDS} rounds")
            print(f"bare claim UPDATE … RETURNING: median {statistics.median(bare) * 1000:.0f} ms, "
                  f"best {min(bare) * 1000:.0f} ms")
            print(f"sweep (claim, check, outbox rows, mark done): median {statistics.median(swept) * 1000:.0f} ms, "
                  f"best {min(swept) * 1000:.0f} ms")
            print(f"ratio sweep / bare claim (per round, same moment): median {statistics.median(ratios):.2f}x, "
                  f"best {min(ratios):.2f}x, rounds {' '.join(f'{r:.2f}' for r in ratios)}")
            db.session.remove()
            db.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
