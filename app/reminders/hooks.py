"""Wiring of the reminders feature: `register(app)` (called by create_app) connects the activity
and invitation signals that re-plan or suppress reminders, and registers with the app's notice
registry the outbox renderer of reminder rows, their send-time check, the invitation subject
check, the builders of the invitation reminder mails and the outbox page's reminder panel."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from flask import Flask, render_template
from flask_babel import lazy_pgettext
from markupsafe import Markup
from sqlalchemy import func, select

from app.core.inputs import parse_int
from app.events.models import Activity, ActivityStatus
from app.events.signals import (
    activity_cancelled,
    activity_completed,
    activity_published,
    activity_reminders_changed,
    activity_updated,
)
from app.extensions import db
from app.invitations.models import Invitation
from app.invitations.signals import answer_changed, invitations_sent
from app.invitations.sms import invitation_sms
from app.mail.models import Channel, OutboxMessage
from app.mail.notices import notices, notices_of
from app.mail.services import notice_key_of
from app.notify.models import REMINDER_NOTICE_KINDS
from app.notify.sms_texts import SMS_KINDS
from app.reminders import emails, planning, sweep
from app.reminders.models import (
    DEDUPE_PREFIX,
    OUTBOX_KIND,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SubjectType,
)


class MissingReminderBuilder(LookupError):
    """A due reminder whose kind has no builder: a wiring fault, never a withdrawal."""


def reminder_of(row: OutboxMessage) -> Reminder | None:
    """The reminder an outbox row was queued for."""
    key = notice_key_of(row)
    if row.kind != OUTBOX_KIND or not key.startswith(DEDUPE_PREFIX):
        return None
    number = key.removeprefix(DEDUPE_PREFIX)
    reminder_id = parse_int(number, 1)
    return db.session.get(Reminder, reminder_id) if reminder_id else None


def _suppress(reminder: Reminder, note: str) -> None:
    reminder.status = ReminderStatus.suppressed
    reminder.note = note


def reminder_withdrawn(row: OutboxMessage, now: datetime) -> bool:
    """Send-time check, before every attempt: a reminder whose activity was cancelled or has
    started by `now` (or whose invitee declined) is not sent."""
    reminder = reminder_of(row)
    if reminder is None or sweep.still_wanted(reminder, now):
        return False
    _suppress(reminder, "withdrawn at send time")
    return True


def render_reminder(row: OutboxMessage, now: datetime) -> EmailMessage | None:
    """Build a reminder mail from the current state of its subject, or withdraw it.

    A kind without a builder raises MissingReminderBuilder: the dispatcher records the failure
    (retried, then shown as given up) instead of treating the reminder as withdrawn.
    """
    reminder = reminder_of(row)
    if reminder is None:
        return None
    if not sweep.still_wanted(reminder, now):
        _suppress(reminder, "no longer wanted at send time")
        return None
    builder = notices().reminder_builders.get(reminder.kind)
    if builder is None:
        raise MissingReminderBuilder(f"no builder registered for reminder kind {reminder.kind!r}")
    return builder(reminder, now)


def render_reminder_sms(row: OutboxMessage, now: datetime) -> bytes | None:
    """Build a reminder's SMS from the current state (invitation reminders; others have no SMS)."""
    reminder = reminder_of(row)
    if reminder is None:
        return None
    kind = REMINDER_NOTICE_KINDS.get(reminder.kind)
    if kind not in SMS_KINDS or reminder.subject_type != SubjectType.invitation.value:
        raise MissingReminderBuilder(f"no SMS for reminder kind {reminder.kind!r}")
    invitation = db.session.get(Invitation, reminder.subject_id)
    return invitation_sms(invitation, kind, now) if invitation is not None else None


def outbox_panel() -> str:
    """The outbox page's block on reminders: how many wait, and those that could not be queued."""
    reminder_counts = dict(db.session.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all())
    failed_reminders = list(
        db.session.scalars(
            select(Reminder).where(Reminder.status == ReminderStatus.failed).order_by(Reminder.due_at.desc()).limit(20)
        )
    )
    return Markup(render_template(
        "reminders/outbox_panel.html",
        reminder_counts=reminder_counts,
        failed_reminders=failed_reminders,
        ReminderStatus=ReminderStatus,
    ))


def _published(sender: Activity, now: datetime, **_kwargs) -> None:
    planning.plan_for_activity(sender, now)


def _updated(sender: Activity, now: datetime, changes: dict | None = None, **_kwargs) -> None:
    if sender.status == ActivityStatus.published:
        planning.plan_for_activity(sender, now)


def _cancelled(sender: Activity, now: datetime, **_kwargs) -> None:
    planning.suppress_for_activity(sender, now, "cancelled")


def _completed(sender: Activity, now: datetime, **_kwargs) -> None:
    planning.suppress_for_activity(sender, now, "completed")


def _invitations_sent(sender, now: datetime, **_kwargs) -> None:
    planning.plan_for_invitations(list(sender), now)


def _answer_changed(sender, now: datetime, **_kwargs) -> None:
    planning.on_answer_changed(sender, now)


def register(app: Flask) -> None:
    """Connect the receivers and fill the app's notice registry (blinker keeps one connection each)."""
    activity_published.connect(_published, weak=False)
    activity_updated.connect(_updated, weak=False)
    activity_reminders_changed.connect(_updated, weak=False)
    activity_cancelled.connect(_cancelled, weak=False)
    activity_completed.connect(_completed, weak=False)
    invitations_sent.connect(_invitations_sent, weak=False)
    answer_changed.connect(_answer_changed, weak=False)
    registry = notices_of(app)
    registry.add_renderer(OUTBOX_KIND, render_reminder)
    registry.add_channel_renderer(Channel.sms.value, OUTBOX_KIND, render_reminder_sms)
    registry.add_kind_label(OUTBOX_KIND, lazy_pgettext("outbox kind", "Reminder"))
    registry.add_send_time_check(reminder_withdrawn)
    registry.add_subject_check(SubjectType.invitation.value, planning.invitation_still_wanted)
    registry.add_reminder_builder(ReminderKind.activity_upcoming.value, emails.activity_reminder)
    registry.add_reminder_builder(ReminderKind.answer_nudge.value, emails.answer_nudge)
    registry.add_outbox_panel(outbox_panel)
