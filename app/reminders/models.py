"""A reminder is a row: what, about which subject, for whom, due when (UTC), and its state."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.extensions import db

# Reminders reach the outbox as rows of this kind, with the dedupe key DEDUPE_PREFIX + reminder id.
OUTBOX_KIND = "reminder"
DEDUPE_PREFIX = "reminder-"


class ReminderStatus(enum.StrEnum):
    pending = "pending"
    claimed = "claimed"
    done = "done"
    suppressed = "suppressed"
    failed = "failed"


REMINDER_STATUS_LABELS = {
    ReminderStatus.pending: _l("Pending"),
    ReminderStatus.claimed: _l("Being queued"),
    ReminderStatus.done: _l("Queued for sending"),
    ReminderStatus.suppressed: _l("Suppressed"),
    ReminderStatus.failed: _l("Failed"),
}


class SubjectType(enum.StrEnum):
    activity = "activity"
    invitation = "invitation"
    problem = "problem"


class ReminderKind(enum.StrEnum):
    # An accepted invitee, some time before the activity.
    activity_upcoming = "activity_upcoming"
    # An invitee who has not answered, some time before the answer deadline.
    answer_nudge = "answer_nudge"
    # A department, before a problem's deadline (催办).
    problem_due = "problem_due"
    # A department, when the deadline has passed.
    problem_overdue = "problem_overdue"
    # The organiser, when a problem stays overdue.
    problem_escalation = "problem_escalation"
    # An instructor, when a follow-up visit (回访) is due.
    follow_up_due = "follow_up_due"


REMINDER_KIND_LABELS = {
    ReminderKind.activity_upcoming: lazy_pgettext("reminder kind", "Activity reminder"),
    ReminderKind.answer_nudge: lazy_pgettext("reminder kind", "Reply reminder"),
    ReminderKind.problem_due: lazy_pgettext("reminder kind", "Problem deadline reminder"),
    ReminderKind.problem_overdue: lazy_pgettext("reminder kind", "Problem overdue"),
    ReminderKind.problem_escalation: lazy_pgettext("reminder kind", "Overdue problem escalated"),
    ReminderKind.follow_up_due: lazy_pgettext("reminder kind", "Follow-up visit due"),
}


class Reminder(db.Model):
    """One reminder for one recipient about one subject at one due time."""

    __tablename__ = "reminder"
    __table_args__ = (
        # Planning twice, or a reschedule back to the same time, never makes a second row.
        UniqueConstraint("subject_type", "subject_id", "recipient", "kind", "due_at"),
        Index("ix_reminder_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    # The activity the reminder is about, when there is one (cancel/reschedule look it up).
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), index=True
    )
    # "person:<id>" or "email:<address>": the recipient part of the unique key.
    recipient: Mapped[str] = mapped_column(String(300))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[ReminderStatus] = mapped_column(
        enum_column(ReminderStatus), default=ReminderStatus.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which sweep holds the claim (one id per pass), so a pass only touches its own rows.
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    # The outbox row it became (whose dedupe key is "reminder-<id>"). No foreign key: outbox rows
    # are never deleted, and the sweep writes both rows of 10,000 reminders in one statement.
    outbox_message_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def kind_label(self) -> str:
        """The translated kind."""
        label = REMINDER_KIND_LABELS.get(self.kind)  # type: ignore[call-overload]
        return str(label) if label is not None else self.kind

    @property
    def status_label(self) -> str:
        """The translated status."""
        return str(REMINDER_STATUS_LABELS[self.status])

    def __repr__(self) -> str:
        return f"<Reminder {self.id} {self.kind} {self.subject_type}:{self.subject_id} {self.recipient} {self.due_at} {self.status}>"
