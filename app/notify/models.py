"""What a notice is (its kind, independent of the channel) and who wants it through which channel."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_pgettext
from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.types import UTCDateTime
from app.extensions import db
from app.mail.models import Channel


class NoticeKind(enum.StrEnum):
    """One thing Linghang tells someone, whatever the channel."""

    invitation = "invitation"
    update = "update"
    cancellation = "cancellation"
    reminder = "reminder"
    nudge = "nudge"
    promotion = "promotion"
    problem_assigned = "problem_assigned"
    problem_due = "problem_due"
    problem_overdue = "problem_overdue"
    problem_resolved = "problem_resolved"
    problem_unassigned = "problem_unassigned"
    follow_up = "follow_up"


NOTICE_KIND_LABELS = {
    NoticeKind.invitation: lazy_pgettext("notice kind", "Invitation"),
    NoticeKind.update: lazy_pgettext("notice kind", "Change notice"),
    NoticeKind.cancellation: lazy_pgettext("notice kind", "Cancellation notice"),
    NoticeKind.reminder: lazy_pgettext("notice kind", "Activity reminder"),
    NoticeKind.nudge: lazy_pgettext("notice kind", "Reminder to answer"),
    NoticeKind.promotion: lazy_pgettext("notice kind", "Seat from the waiting list"),
    NoticeKind.problem_assigned: lazy_pgettext("notice kind", "Problem assigned"),
    NoticeKind.problem_due: lazy_pgettext("notice kind", "Problem deadline reminder"),
    NoticeKind.problem_overdue: lazy_pgettext("notice kind", "Problem overdue"),
    NoticeKind.problem_resolved: lazy_pgettext("notice kind", "Problem resolved: please rate"),
    NoticeKind.problem_unassigned: lazy_pgettext("notice kind", "Problem waiting to be assigned"),
    NoticeKind.follow_up: lazy_pgettext("notice kind", "Follow-up visit due"),
}

# The channels a person or an organisation chooses per notice kind here; group robots are
# configured per alliance, department or organisation on their own page.
PERSONAL_CHANNELS = (Channel.email, Channel.sms)

_EMAIL_SMS = frozenset({Channel.email.value, Channel.sms.value})
_EMAIL = frozenset({Channel.email.value})
# What each kind goes out through when nobody chose otherwise.
DEFAULT_CHANNELS: dict[NoticeKind, frozenset[str]] = {
    NoticeKind.invitation: _EMAIL_SMS,
    NoticeKind.update: _EMAIL_SMS,
    NoticeKind.cancellation: _EMAIL_SMS,
    NoticeKind.reminder: _EMAIL_SMS,
    NoticeKind.nudge: _EMAIL_SMS,
    NoticeKind.promotion: _EMAIL_SMS,
    NoticeKind.problem_assigned: _EMAIL,
    NoticeKind.problem_due: _EMAIL,
    NoticeKind.problem_overdue: _EMAIL,
    NoticeKind.problem_resolved: _EMAIL,
    NoticeKind.problem_unassigned: _EMAIL,
    NoticeKind.follow_up: _EMAIL,
}
# Notices nobody may switch off on every channel: a cancellation must reach the invitee.
MANDATORY = frozenset({NoticeKind.cancellation})

# The outbox kinds of the features' notices, by notice kind (reminder rows: by reminder kind).
OUTBOX_NOTICE_KINDS = {
    "invitation.invitation": NoticeKind.invitation,
    "invitation.update": NoticeKind.update,
    "invitation.cancellation": NoticeKind.cancellation,
    "invitation.nudge": NoticeKind.nudge,
    "invitation.promotion": NoticeKind.promotion,
    "problem.assigned": NoticeKind.problem_assigned,
    "problem.resolved": NoticeKind.problem_resolved,
    "problem.unassigned": NoticeKind.problem_unassigned,
}
REMINDER_NOTICE_KINDS = {
    "activity_upcoming": NoticeKind.reminder,
    "answer_nudge": NoticeKind.nudge,
    "problem_due": NoticeKind.problem_due,
    "problem_overdue": NoticeKind.problem_overdue,
    "problem_escalation": NoticeKind.problem_overdue,
    "follow_up_due": NoticeKind.follow_up,
}


class OwnerType(enum.StrEnum):
    person = "person"
    organisation = "organisation"


class NoticePreference(db.Model):
    """A person's or an organisation's choice for one notice kind on one channel.

    No row: the organisation's choice applies to its people, then DEFAULT_CHANNELS.
    """

    __tablename__ = "notice_preference"
    __table_args__ = (UniqueConstraint("owner_type", "owner_id", "kind", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
