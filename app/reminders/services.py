"""Planning reminders and sweeping the due ones into the outbox.

Planning: a *planner* turns a subject (an invitation, a problem …) into the reminders it should
have (`Planned`); `replace_pending` makes the pending rows of that subject equal to the plan —
rows no longer wanted are suppressed, new ones inserted, rows already done are kept (so a plan
computed again never sends twice: the unique key includes the due time). Planners flush only.

Sweeping (`sweep`, run by the scheduler or `flask reminders sweep`) is an edge and commits:
1. claim: due rows get a lease and this pass's claim token (`FOR UPDATE SKIP LOCKED` on
   PostgreSQL) — committed, so a crash leaves claimed rows that a later pass takes over once
   the lease has run out;
2. in ONE transaction: rows whose subject no longer wants them (cancelled activity, declined
   invitee …) are suppressed, one outbox row per remaining reminder is inserted (dedupe key
   `reminder-<id>`, built at send time from the current state), and the reminders are marked
   done.
All three are set-based statements, so a sweep of 10,000 rows costs a few bulk statements.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import String, and_, case, cast, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.core.errors import ValidationFailed
from app.core.types import UTCDateTime
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.services import mail_domain
from app.orgs.models import Person
from app.reminders.models import Reminder, ReminderKind, ReminderStatus, SubjectType

LEASE = timedelta(minutes=5)
OUTBOX_KIND = "reminder"
DEDUPE_PREFIX = "reminder-"


# -- plans -------------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    """A reminder a subject should have."""

    kind: str
    subject_type: str
    subject_id: int
    due_at: datetime
    email: str
    person_id: int | None = None
    activity_id: int | None = None

    @property
    def recipient(self) -> str:
        return f"person:{self.person_id}" if self.person_id is not None else f"email:{self.email.lower()}"

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.kind, self.recipient, self.due_at)


OFFSET_UNITS = {"d": 24 * 60, "天": 24 * 60, "h": 60, "小时": 60, "时": 60, "m": 1, "min": 1, "分钟": 1, "分": 1, "": 1}
OFFSET_PART = re.compile(r"^(\d{1,6})\s*(d|h|min|m|天|小时|时|分钟|分)?$", re.IGNORECASE)


def parse_offsets(text: str | None) -> list[int]:
    """Read "1d, 2h, 30m" (or minutes: "1440, 120") as minutes before the start, largest first.

    Units: d (days), h (hours), m (minutes), also 天/小时/分钟; a number alone is minutes.
    Raise ValueError when a part cannot be read or is not between 1 minute and 60 days.
    """
    if text is None or not text.strip():
        return []
    minutes = set()
    for part in text.replace("，", ",").replace("、", ",").split(","):
        part = part.strip()
        if not part:
            continue
        match = OFFSET_PART.match(part)
        if match is None:
            raise ValueError(text)
        minutes.add(int(match.group(1)) * OFFSET_UNITS[(match.group(2) or "").lower()])
    if any(m <= 0 or m > 60 * 24 * 60 for m in minutes):
        raise ValueError(text)
    return sorted(minutes, reverse=True)


def format_offsets(text: str | None) -> str:
    """Stored minutes ("1440,120") as typed durations ("1d, 2h"); unreadable text is shown as is."""
    try:
        minutes = parse_offsets(text)
    except ValueError:
        return text or ""
    parts = []
    for m in minutes:
        if m % (24 * 60) == 0:
            parts.append(f"{m // (24 * 60)}d")
        elif m % 60 == 0:
            parts.append(f"{m // 60}h")
        else:
            parts.append(f"{m}m")
    return ", ".join(parts)


def check_offsets(text: str | None, field: str = "reminder_offsets") -> str | None:
    """Validate offsets typed by a user and return them normalised as minutes (None when empty)."""
    try:
        minutes = parse_offsets(text)
    except ValueError:
        raise ValidationFailed(
            _("Enter times before the start separated by commas, e.g. 1d, 2h, 30m "
              "(d = days, h = hours, m = minutes; a number alone is minutes; at most 60 days)."),
            field,
        ) from None
    return ",".join(str(m) for m in minutes) or None


def activity_offsets(activity: Activity) -> list[timedelta]:
    """Reminder offsets of an activity: its own, else its host's, else the configured default."""
    for text in (activity.reminder_offsets, activity.host.reminder_offsets if activity.host else None):
        try:
            minutes = parse_offsets(text)
        except ValueError:
            minutes = []
        if minutes:
            return [timedelta(minutes=m) for m in minutes]
    return [timedelta(minutes=m) for m in parse_offsets(current_app.config["REMINDER_OFFSETS"])]


def answer_deadline(activity: Activity) -> datetime:
    """When invitees should have answered: the activity's deadline, else a configured time before it."""
    if activity.answer_deadline is not None:
        return activity.answer_deadline
    return activity.starts_at - timedelta(minutes=current_app.config["REMINDER_ANSWER_DEADLINE_MINUTES"])


def plan_invitation(invitation: Invitation) -> list[Planned]:
    """The reminders one invitee should get: before the activity if accepted, a nudge if unanswered."""
    activity = invitation.activity
    person = invitation.person
    if (
        activity.status != ActivityStatus.published
        or person is None
        or not person.email
        or invitation.is_walk_in
    ):
        return []
    common = {
        "subject_type": SubjectType.invitation.value,
        "subject_id": invitation.id,
        "email": person.email,
        "person_id": person.id,
        "activity_id": activity.id,
    }
    if invitation.answer == Answer.accepted:
        if invitation.waitlisted_at is not None:  # no seat yet: nothing to be reminded of
            return []
        return [
            Planned(kind=ReminderKind.activity_upcoming.value, due_at=activity.starts_at - offset, **common)
            for offset in activity_offsets(activity)
        ]
    if invitation.answer == Answer.pending:
        due = answer_deadline(activity) - timedelta(minutes=current_app.config["REMINDER_NUDGE_MINUTES"])
        if due < activity.starts_at:
            return [Planned(kind=ReminderKind.answer_nudge.value, due_at=due, **common)]
    return []


def replace_pending(
    subject_type: str, subject_ids: Iterable[int], planned: list[Planned], now: datetime
) -> None:
    """Make the reminders of these subjects follow the plan.

    Pending rows not in the plan are suppressed (their queued mail, if any, withdrawn); planned
    rows are inserted unless they exist; a planned row whose time has already passed is only
    kept if it exists (a scheduler that was down still sends it), never created late.
    """
    ids = sorted(set(subject_ids))
    if not ids:
        return
    existing = list(
        db.session.scalars(
            select(Reminder).where(Reminder.subject_type == subject_type, Reminder.subject_id.in_(ids))
        )
    )
    wanted = {(p.subject_id, *p.key): p for p in planned}
    have = {(r.subject_id, r.kind, r.recipient, r.due_at): r for r in existing}
    for key, row in have.items():
        if key in wanted:
            if row.status == ReminderStatus.suppressed and row.due_at > now:
                row.status = ReminderStatus.pending
                row.note = None
            continue
        if row.status in (ReminderStatus.pending, ReminderStatus.claimed):
            row.status = ReminderStatus.suppressed
            row.lease_until = None
            row.note = "replanned"
        elif row.status == ReminderStatus.done and row.outbox_message_id is not None:
            _withdraw_unsent(row.outbox_message_id)
    for key, plan in wanted.items():
        if key in have or plan.due_at <= now:
            continue
        db.session.add(
            Reminder(
                kind=plan.kind,
                subject_type=plan.subject_type,
                subject_id=plan.subject_id,
                activity_id=plan.activity_id,
                recipient=plan.recipient,
                person_id=plan.person_id,
                email=plan.email,
                due_at=plan.due_at,
                status=ReminderStatus.pending,
                created_at=now,
            )
        )
    db.session.flush()


def _withdraw_unsent(outbox_id: int) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status.in_([OutboxStatus.queued, OutboxStatus.retrying]),
        )
        .values(status=OutboxStatus.cancelled)
    )


def plan_for_invitation(invitation: Invitation, now: datetime) -> None:
    """Recompute one invitee's reminders (after an invitation is sent or answered)."""
    replace_pending(SubjectType.invitation.value, [invitation.id], plan_invitation(invitation), now)


def plan_for_invitations(invitations: list[Invitation], now: datetime) -> None:
    """Recompute the reminders of several invitations at once (after a bulk invitation)."""
    planned = [p for invitation in invitations for p in plan_invitation(invitation)]
    replace_pending(SubjectType.invitation.value, [i.id for i in invitations], planned, now)


def on_answer_changed(invitation: Invitation, now: datetime) -> None:
    """Called by the invitations feature when an answer changes: declining stops the reminders."""
    plan_for_invitation(invitation, now)


def plan_for_activity(activity: Activity, now: datetime) -> None:
    """Recompute the reminders of every invitee of an activity (published, rescheduled …)."""
    invitations = list(
        db.session.scalars(select(Invitation).where(Invitation.activity_id == activity.id))
    )
    planned = [p for invitation in invitations for p in plan_invitation(invitation)]
    replace_pending(SubjectType.invitation.value, [i.id for i in invitations], planned, now)


def plan_upcoming(now: datetime, horizon: timedelta = timedelta(days=60)) -> int:
    """Recompute the reminders of every published activity starting within the horizon.

    A safety net run by the scheduler now and then (and `flask reminders plan`): reminders of
    invitations that were created or answered without the planning call still get planned.
    """
    activities = list(
        db.session.scalars(
            select(Activity).where(
                Activity.status == ActivityStatus.published,
                Activity.starts_at > now,
                Activity.starts_at <= now + horizon,
            )
        )
    )
    for activity in activities:
        plan_for_activity(activity, now)
    return len(activities)


def suppress_for_activity(activity: Activity, now: datetime, reason: str = "cancelled") -> int:
    """Stop every reminder about an activity; withdraw their mails not sent yet."""
    result = db.session.execute(
        update(Reminder)
        .where(
            Reminder.activity_id == activity.id,
            Reminder.status.in_([ReminderStatus.pending, ReminderStatus.claimed]),
        )
        .values(status=ReminderStatus.suppressed, lease_until=None, note=reason)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.kind == OUTBOX_KIND,
            OutboxMessage.activity_id == activity.id,
            OutboxMessage.status.in_([OutboxStatus.queued, OutboxStatus.retrying]),
        )
        .values(status=OutboxStatus.cancelled)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount or 0


# -- problems and follow-up visits (wired by the problem ledger) ----------------

def _people_of(organisation_id: int) -> list[Person]:
    return list(
        db.session.scalars(
            select(Person).where(
                Person.organisation_id == organisation_id,
                Person.active.is_(True),
                Person.is_contact.is_(True),
                Person.email.is_not(None),
            )
        )
    )


def plan_problem_deadline(
    problem_id: int,
    deadline: datetime | None,
    department_id: int | None,
    now: datetime,
    *,
    organiser_person_id: int | None = None,
    warn_before: timedelta = timedelta(days=2),
    escalate_after: timedelta = timedelta(days=3),
) -> None:
    """Remind a problem's department before its deadline and when it is overdue, then escalate.

    Call it whenever a problem is assigned, reassigned, extended or changes state; pass
    deadline=None (or department_id=None) once it is resolved, returned or withdrawn: its pending
    reminders are then suppressed. The department's active contacts with an e-mail are
    reminded; the organiser (a person id) gets the escalation `escalate_after` the deadline.
    """
    planned: list[Planned] = []
    if deadline is not None and department_id is not None:
        for person in _people_of(department_id):
            common = {"subject_type": SubjectType.problem.value, "subject_id": problem_id,
                      "email": person.email or "", "person_id": person.id}
            planned.append(Planned(kind=ReminderKind.problem_due.value, due_at=deadline - warn_before, **common))
            planned.append(Planned(kind=ReminderKind.problem_overdue.value, due_at=deadline, **common))
        organiser = db.session.get(Person, organiser_person_id) if organiser_person_id else None
        if organiser is not None and organiser.email:
            planned.append(
                Planned(
                    kind=ReminderKind.problem_escalation.value,
                    subject_type=SubjectType.problem.value,
                    subject_id=problem_id,
                    due_at=deadline + escalate_after,
                    email=organiser.email,
                    person_id=organiser.id,
                )
            )
    keep = [p for p in _pending_of(SubjectType.problem.value, problem_id)
            if p.kind == ReminderKind.follow_up_due.value]
    replace_pending(SubjectType.problem.value, [problem_id], planned + keep, now)


def plan_follow_up(problem_id: int, due_at: datetime | None, instructor_person_id: int | None, now: datetime) -> None:
    """Remind the instructor when a follow-up visit (回访) on a problem is due; None clears it."""
    planned: list[Planned] = []
    instructor = db.session.get(Person, instructor_person_id) if instructor_person_id else None
    if due_at is not None and instructor is not None and instructor.email:
        planned.append(
            Planned(
                kind=ReminderKind.follow_up_due.value,
                subject_type=SubjectType.problem.value,
                subject_id=problem_id,
                due_at=due_at,
                email=instructor.email,
                person_id=instructor.id,
            )
        )
    keep = [p for p in _pending_of(SubjectType.problem.value, problem_id)
            if p.kind != ReminderKind.follow_up_due.value]
    replace_pending(SubjectType.problem.value, [problem_id], planned + keep, now)


def _pending_of(subject_type: str, subject_id: int) -> list[Planned]:
    rows = db.session.scalars(
        select(Reminder).where(
            Reminder.subject_type == subject_type,
            Reminder.subject_id == subject_id,
            Reminder.status.in_([ReminderStatus.pending, ReminderStatus.claimed, ReminderStatus.done]),
        )
    )
    return [
        Planned(kind=r.kind, subject_type=r.subject_type, subject_id=r.subject_id, due_at=r.due_at,
                email=r.email, person_id=r.person_id, activity_id=r.activity_id)
        for r in rows
    ]


# -- which claimed reminders are still wanted ------------------------------------

# Per subject type: a SQL condition (on Reminder) that is true while a reminder is still wanted
# at `now`. The sweep suppresses claimed rows for which it is false; the problem ledger adds
# its own with register_subject_check("problem", ...).
SubjectCheck = Callable[[datetime | None], object]
subject_checks: dict[str, SubjectCheck] = {}


def register_subject_check(subject_type: str, check: SubjectCheck) -> None:
    """Add the "still wanted" SQL condition of a subject type."""
    subject_checks[subject_type] = check


def invitation_still_wanted(now: datetime | None):
    """Published, not started yet (unless now is None), and the answer still calls for this kind."""
    started = Activity.starts_at > now if now is not None else literal(True)
    return exists(
        select(Invitation.id)
        .join(Activity, Activity.id == Invitation.activity_id)
        .where(
            Invitation.id == Reminder.subject_id,
            Activity.status == ActivityStatus.published,
            started,
            or_(
                and_(
                    Reminder.kind == ReminderKind.activity_upcoming.value,
                    Invitation.answer == Answer.accepted,
                    Invitation.waitlisted_at.is_(None),
                ),
                and_(Reminder.kind == ReminderKind.answer_nudge.value, Invitation.answer == Answer.pending),
            ),
        )
    )


register_subject_check(SubjectType.invitation.value, invitation_still_wanted)


def still_wanted(reminder: Reminder, now: datetime | None) -> bool:
    """The same check for one reminder (used again at send time; now=None skips the time test)."""
    check = subject_checks.get(reminder.subject_type)
    if check is None:
        return True
    found = db.session.scalar(select(Reminder.id).where(Reminder.id == reminder.id, check(now)))
    return found is not None


# -- the sweep -------------------------------------------------------------------

@dataclass
class SweepReport:
    """What one sweep did."""

    claimed: int = 0
    queued: int = 0
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


def claim(now: datetime, limit: int, lease: timedelta = LEASE) -> Claim | None:
    """Lease up to `limit` due reminders under a new claim token and commit; None when none are due."""
    token = uuid.uuid4().hex
    due = select(Reminder.id).where(_due_clause(now)).order_by(Reminder.due_at, Reminder.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = db.session.execute(
        update(Reminder)
        .where(Reminder.id.in_(due.scalar_subquery()))
        .values(
            status=ReminderStatus.claimed,
            lease_until=now + lease,
            claim_token=token,
            attempts=Reminder.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return Claim(token, result.rowcount) if result.rowcount else None


def queue_claimed(token: str, now: datetime, claimed: int | None = None) -> SweepReport:
    """Suppress unwanted claimed rows, queue one outbox row per remaining one, mark them done (flushes)."""
    report = SweepReport()
    mine = and_(Reminder.claim_token == token, Reminder.status == ReminderStatus.claimed)
    if claimed is None:
        claimed = db.session.scalar(select(func.count()).select_from(Reminder).where(mine)) or 0
    for subject_type, check in subject_checks.items():
        result = db.session.execute(
            update(Reminder)
            .where(mine, Reminder.subject_type == subject_type, ~check(now))
            .values(status=ReminderStatus.suppressed, lease_until=None, note="no longer wanted")
            .execution_options(synchronize_session=False)
        )
        report.suppressed += result.rowcount or 0
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
    "next_attempt_at", "activity_id", "invitation_id", "created_at",
]


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
    ]


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
            Reminder.subject_id, Reminder.outbox_message_id,
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
    """Reminders whose passes died MAX_CLAIMS times in a row are marked failed (and shown), not retried forever."""
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
    db.session.commit()
    return result.rowcount or 0


def sweep(now: datetime, batch: int = 1000, lease: timedelta = LEASE) -> SweepReport:
    """Move every due reminder into the outbox, batch by batch; commits (an edge, like a request)."""
    total = SweepReport()
    total.failed = give_up_stuck(now)
    while True:
        leased = claim(now, batch, lease)
        if leased is None:
            return total
        try:
            report = queue_claimed(leased.token, now, leased.count)
            db.session.commit()
        except Exception:
            db.session.rollback()  # the claimed rows are taken over after the lease
            raise
        total.claimed += report.claimed
        total.queued += report.queued
        total.suppressed += report.suppressed
        if report.claimed < batch:
            return total
