"""Sweeping due reminders into the outbox (run by the scheduler or `flask reminders sweep`).

A sweep is an edge, like a request, made of several units of work (`with unit_of_work():`):
1. claim: due rows get a short lease and this pass's claim token (`FOR UPDATE SKIP LOCKED` on
   PostgreSQL) — committed on its own, so a crash leaves claimed rows that a later pass takes
   over once the lease has run out (the lease is the guarantee, so the claim must commit first);
   a thread renews the lease while the batch is queued (app/core/leases.py), so a dead pass's
   rows return within LEASE (seconds) while a slow one keeps them;
2. in ONE unit of work per batch: rows whose subject no longer wants them (cancelled activity,
   declined invitee …) are suppressed, one outbox row per remaining reminder is inserted (dedupe
   key `reminder-<id>`, built at send time from the current state), and the reminders are
   marked done.
All three are set-based statements, so a sweep of 10,000 rows costs a few bulk statements.
The "still wanted" condition of each subject type comes from the app's notice registry
(app/mail/notices.py), registered by the feature that owns the subject.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from sqlalchemy import String, and_, case, cast, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.core.leases import PassClock, Renewal
from app.core.types import UTCDateTime
from app.core.unit_of_work import unit_of_work
from app.extensions import db
from app.mail.models import Channel, OutboxMessage, OutboxStatus
from app.mail.notices import notices
from app.mail.services import mail_domain
from app.notify.models import REMINDER_NOTICE_KINDS
from app.notify.preferences import sql_default, sql_wants
from app.notify.services import sms_enabled
from app.notify.sms_texts import SMS_KINDS
from app.orgs.models import Person
from app.reminders.models import DEDUPE_PREFIX, OUTBOX_KIND, Reminder, ReminderStatus, SubjectType

# Short: a pass renews it (every third of it) while it queues, so a dead pass's rows return within it.
LEASE = timedelta(seconds=30)


def still_wanted(reminder: Reminder, now: datetime | None) -> bool:
    """Is this reminder still wanted (used again at send time; now=None skips the time test)?

    A subject type without a check has no condition that could withdraw it: it is wanted.
    """
    check = notices().subject_checks.get(reminder.subject_type)
    if check is None:
        return True
    found = db.session.scalar(select(Reminder.id).where(Reminder.id == reminder.id, check(now)))
    return found is not None


@dataclass
class SweepReport:
    """What one sweep did."""

    claimed: int = 0
    queued: int = 0
    queued_sms: int = 0
    suppressed: int = 0
    failed: int = 0


def _due_clause(now: datetime):
    return or_(
        and_(Reminder.status == ReminderStatus.pending, Reminder.due_at <= now),
        # A sweep died between claiming and queuing: take its rows over after the lease.
        and_(Reminder.status == ReminderStatus.claimed, Reminder.lease_until < now),
    )


class Claim(NamedTuple):
    """Rows leased by one pass: its token and how many."""

    token: str
    count: int


def claim(now: datetime, limit: int, lease: timedelta = LEASE, lease_from: datetime | None = None) -> Claim | None:
    """Lease up to `limit` due reminders under a new claim token; None when none are due.

    Commits on its own (a unit of work of its own): the lease must hold even if the pass dies.
    The lease runs from `lease_from` (default `now`).
    """
    token = uuid.uuid4().hex
    due = select(Reminder.id).where(_due_clause(now)).order_by(Reminder.due_at, Reminder.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    with unit_of_work():
        result = db.session.execute(
            update(Reminder)
            .where(Reminder.id.in_(due.scalar_subquery()))
            .values(
                status=ReminderStatus.claimed,
                lease_until=(lease_from or now) + lease,
                claim_token=token,
                attempts=Reminder.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
    return Claim(token, result.rowcount) if result.rowcount else None


def renew_claim(token: str, lease: timedelta, now: datetime) -> None:
    """Extend the lease of a claim still being queued (flushes; the renewal thread commits)."""
    db.session.execute(
        update(Reminder)
        .where(Reminder.claim_token == token, Reminder.status == ReminderStatus.claimed)
        .values(lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )


def queue_claimed(token: str, now: datetime, claimed: int | None = None) -> SweepReport:
    """Suppress unwanted claimed rows, queue one outbox row per remaining one, mark them done (flushes)."""
    report = SweepReport()
    mine = and_(Reminder.claim_token == token, Reminder.status == ReminderStatus.claimed)
    if claimed is None:
        claimed = db.session.scalar(select(func.count()).select_from(Reminder).where(mine)) or 0
    for subject_type, check in notices().subject_checks.items():
        result = db.session.execute(
            update(Reminder)
            .where(mine, Reminder.subject_type == subject_type, ~check(now))
            .values(status=ReminderStatus.suppressed, lease_until=None, note="no longer wanted")
            .execution_options(synchronize_session=False)
        )
        report.suppressed += result.rowcount or 0
    # The SMS of the same notices first, while the reminders are still claimed (same transaction).
    report.queued_sms = _queue_sms(mine, now)
    if db.engine.dialect.name == "postgresql":
        report.queued = _queue_postgresql(mine, now)
    else:
        report.queued = _queue_portable(mine, now)
    report.claimed = claimed
    if report.queued < claimed - report.suppressed:
        _link_existing(token)
    db.session.flush()
    return report


def _link_existing(token: str) -> None:
    """Reminders whose outbox row already existed (never expected): point them at that row."""
    dedupe = literal(DEDUPE_PREFIX) + cast(Reminder.id, String)
    db.session.execute(
        update(Reminder)
        .where(
            Reminder.claim_token == token,
            Reminder.status == ReminderStatus.done,
            ~exists(select(OutboxMessage.id).where(OutboxMessage.id == Reminder.outbox_message_id)),
        )
        .values(outbox_message_id=select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe).scalar_subquery())
        .execution_options(synchronize_session=False)
    )


OUTBOX_COLUMNS = [
    "kind", "recipient", "subject", "raw", "message_id", "dedupe_key", "status", "attempts",
    "next_attempt_at", "activity_id", "invitation_id", "created_at", "notice_key", "notice_kind", "person_id",
]


def notice_kind_of(kind_column):
    """SQL: the notice kind (app/notify/models.py) of a reminder kind."""
    return case(*[(kind_column == key, literal(value.value)) for key, value in REMINDER_NOTICE_KINDS.items()], else_=None)


def _outbox_values(source, now: datetime) -> list:
    """The outbox columns of a reminder row (`source` has the reminder's columns)."""
    dedupe = literal(DEDUPE_PREFIX) + cast(source.id, String)
    return [
        literal(OUTBOX_KIND),
        source.email,
        literal(""),
        literal(b""),  # built at send time from the current state (see app/reminders/hooks.py)
        literal("<") + dedupe + literal(f"@{mail_domain()}>"),
        dedupe,
        literal(OutboxStatus.queued.value),
        literal(0),
        literal(now, UTCDateTime),
        source.activity_id,
        # The invitation, for invitation reminders (the answer link, the organiser's view).
        case((source.subject_type == SubjectType.invitation.value, source.subject_id), else_=None),
        literal(now, UTCDateTime),
        dedupe,  # the notice: its SMS (below) shares the key
        notice_kind_of(source.kind),
        source.person_id,
    ]


SMS_COLUMNS = ["channel", *OUTBOX_COLUMNS]


def _queue_sms(mine, now: datetime) -> int:
    """One INSERT … FROM SELECT: the SMS of claimed reminders whose person wants it and has a mobile.

    Built at send time like the e-mail (body empty); dedupe key "reminder-<id>:sms".
    """
    sms_kinds = [key for key, value in REMINDER_NOTICE_KINDS.items() if value in SMS_KINDS]
    if not sms_enabled() or not sms_kinds:
        return 0
    notice = literal(DEDUPE_PREFIX) + cast(Reminder.id, String)
    kind = notice_kind_of(Reminder.kind)
    sms = Channel.sms.value
    values = _outbox_values(Reminder, now)
    values[1] = Person.mobile  # recipient
    values[4] = literal("<") + notice + literal(f".sms@{mail_domain()}>")  # message id
    values[5] = notice + literal(":sms")  # dedupe key
    chosen = (
        select(literal(sms), *values)
        .select_from(Reminder)
        .join(Person, Person.id == Reminder.person_id)
        .where(
            mine,
            Reminder.kind.in_(sms_kinds),
            Reminder.subject_type == SubjectType.invitation.value,
            Person.mobile.is_not(None),
            Person.active.is_(True),
            sql_wants(Person.id, Person.organisation_id, kind, sms, sql_default(kind, sms)),
        )
    )
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    insert = (
        dialect.insert(OutboxMessage.__table__)
        .from_select(SMS_COLUMNS, chosen)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    return len(db.session.execute(insert).all())


def _queue_postgresql(mine, now: datetime) -> int:
    """One statement: mark done with a fresh outbox id from the sequence, insert those outbox rows."""
    done = (
        update(Reminder)
        .where(mine)
        .values(
            status=ReminderStatus.done,
            lease_until=None,
            outbox_message_id=func.nextval(func.pg_get_serial_sequence("outbox_message", "id")),
        )
        .returning(
            Reminder.id, Reminder.email, Reminder.activity_id, Reminder.subject_type,
            Reminder.subject_id, Reminder.outbox_message_id, Reminder.kind, Reminder.person_id,
        )
        .cte("done")
    )
    insert = (
        postgresql.insert(OutboxMessage.__table__)
        .from_select(["id", *OUTBOX_COLUMNS], select(done.c.outbox_message_id, *_outbox_values(done.c, now)))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
        .add_cte(done)
    )
    return len(db.session.execute(insert).all())


def _queue_portable(mine, now: datetime) -> int:
    """SQLite: insert the outbox rows, then mark the reminders done with their outbox ids."""
    insert = (
        sqlite.insert(OutboxMessage.__table__)
        .from_select(OUTBOX_COLUMNS, select(*_outbox_values(Reminder, now)).where(mine))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    queued = len(db.session.execute(insert).all())
    dedupe = literal(DEDUPE_PREFIX) + cast(Reminder.id, String)
    db.session.execute(
        update(Reminder)
        .where(mine)
        .values(
            status=ReminderStatus.done,
            lease_until=None,
            outbox_message_id=select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe).scalar_subquery(),
        )
        .execution_options(synchronize_session=False)
    )
    return queued


MAX_CLAIMS = 5


def give_up_stuck(now: datetime) -> int:
    """Reminders whose passes died MAX_CLAIMS times in a row are marked failed (and shown), not retried forever.

    Commits on its own (a unit of work of its own).
    """
    with unit_of_work():
        result = db.session.execute(
            update(Reminder)
            .where(
                Reminder.status == ReminderStatus.claimed,
                Reminder.lease_until < now,
                Reminder.attempts >= MAX_CLAIMS,
            )
            .values(status=ReminderStatus.failed, lease_until=None, note=f"gave up after {MAX_CLAIMS} passes")
            .execution_options(synchronize_session=False)
        )
    return result.rowcount or 0


def sweep(now: datetime, batch: int = 1000, lease: timedelta = LEASE) -> SweepReport:
    """Move every due reminder into the outbox, batch by batch: a claim and a queuing unit of work each.

    A queuing unit that fails rolls back; its claimed rows are taken over after the lease.
    """
    total = SweepReport()
    total.failed = give_up_stuck(now)
    clock = PassClock(now)
    while True:
        leased = claim(now, batch, lease, lease_from=clock())
        if leased is None:
            return total
        with Renewal(partial(renew_claim, leased.token, lease), clock, lease / 3), unit_of_work():
            report = queue_claimed(leased.token, now, leased.count)
        total.claimed += report.claimed
        total.queued += report.queued
        total.queued_sms += report.queued_sms
        total.suppressed += report.suppressed
        if report.claimed < batch:
            return total
