"""Wiring: activity signals recompute or suppress reminders; the outbox builds and re-checks them."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from app.events.models import Activity, ActivityStatus
from app.events.signals import (
    activity_cancelled,
    activity_completed,
    activity_published,
    activity_reminders_changed,
    activity_updated,
)
from app.extensions import db
from app.mail import dispatch
from app.mail.models import OutboxMessage
from app.reminders import emails, services
from app.reminders.models import Reminder, ReminderStatus


def reminder_of(row: OutboxMessage) -> Reminder | None:
    """The reminder an outbox row was queued for."""
    key = row.dedupe_key or ""
    if row.kind != services.OUTBOX_KIND or not key.startswith(services.DEDUPE_PREFIX):
        return None
    number = key.removeprefix(services.DEDUPE_PREFIX)
    return db.session.get(Reminder, int(number)) if number.isdigit() else None


def _suppress(reminder: Reminder, note: str) -> None:
    reminder.status = ReminderStatus.suppressed
    reminder.note = note


def reminder_withdrawn(row: OutboxMessage) -> bool:
    """Send-time check: a reminder whose activity was cancelled (or whose invitee declined) is not sent."""
    reminder = reminder_of(row)
    if reminder is None or services.still_wanted(reminder, None):
        return False
    _suppress(reminder, "withdrawn at send time")
    return True


def render_reminder(row: OutboxMessage, now: datetime) -> EmailMessage | None:
    """Build a reminder mail from the current state of its subject, or withdraw it."""
    reminder = reminder_of(row)
    if reminder is None:
        return None
    if not services.still_wanted(reminder, now):
        _suppress(reminder, "no longer wanted at send time")
        return None
    builder = emails.builders.get(reminder.kind)
    return builder(reminder, now) if builder is not None else None


def _published(sender: Activity, now: datetime, **_kwargs) -> None:
    services.plan_for_activity(sender, now)


def _updated(sender: Activity, now: datetime, changes: dict | None = None, **_kwargs) -> None:
    if sender.status == ActivityStatus.published:
        services.plan_for_activity(sender, now)


def _cancelled(sender: Activity, now: datetime, **_kwargs) -> None:
    services.suppress_for_activity(sender, now, "cancelled")


def _completed(sender: Activity, now: datetime, **_kwargs) -> None:
    services.suppress_for_activity(sender, now, "completed")


def install() -> None:
    """Connect the receivers and register with the dispatcher (idempotent)."""
    activity_published.connect(_published, weak=False)
    activity_updated.connect(_updated, weak=False)
    activity_reminders_changed.connect(_updated, weak=False)
    activity_cancelled.connect(_cancelled, weak=False)
    activity_completed.connect(_completed, weak=False)
    if reminder_withdrawn not in dispatch.send_time_suppressors:
        dispatch.send_time_suppressors.append(reminder_withdrawn)
    dispatch.renderers[services.OUTBOX_KIND] = render_reminder
