"""Planning reminders: what each subject should have, and making its pending rows follow that.

A *planner* turns a subject (an invitation, a problem …) into the reminders it should have
(`Planned`); `replace_pending` makes the pending rows of that subject equal to the plan — rows
no longer wanted are suppressed, new ones inserted, rows already done are kept (so a plan
computed again never sends twice: the unique key includes the due time). Everything here
flushes only; the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, literal, or_, select, update

from app.core.offsets import parse_offsets
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.invitations.services import asks_for_the_answer
from app.mail.models import OutboxMessage, OutboxStatus
from app.reminders.models import OUTBOX_KIND, Reminder, ReminderKind, ReminderStatus, SubjectType


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
    if invitation.answer == Answer.pending and asks_for_the_answer(invitation):
        # One answer covers a whole series: only the invitee's first meeting of it nudges.
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
