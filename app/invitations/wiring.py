"""Wiring of the invitations feature: `register(app)`, called by create_app's register_features.

It connects the invitation mails to the activity's life (publication, updates, cancellation),
counts invitees in the conflict checks and declares the outbox kinds of invitation mails (built
when queued, by `emails.build_message`) in the app's notice registry.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from app.events.conflicts import add_attendance_source
from app.events.models import Activity, ActivityStatus
from app.events.signals import activity_cancelled, activity_published, activity_updated
from app.extensions import db
from app.invitations import mailing, seats
from app.invitations.emails import OUTBOX_KINDS, build_message
from app.invitations.models import Answer, Invitation
from app.invitations.sms import render_invitation_sms
from app.mail.models import Channel, OutboxMessage
from app.mail.notices import notices_of

# How the outbox page names each invitation mail.
OUTBOX_KIND_LABELS = {
    "invitation.invitation": _l("Invitation"),
    "invitation.update": _l("Change notice"),
    "invitation.cancellation": _l("Cancellation notice"),
    "invitation.nudge": _l("Reminder to answer"),
    "invitation.promotion": _l("Seat from the waiting list"),
}
# The METHOD:CANCEL mail is what tells invitees of a cancellation: never withdrawn by it.
CANCELLATION_KIND = "invitation.cancellation"


def on_published(activity, now, **kwargs) -> None:
    """Mail everyone invited while the activity was a draft."""
    mailing.send_pending_invitations(activity, now)


def on_updated(activity, now, changes=None, **kwargs) -> None:
    """Tell invitees of a new time or place; a larger room frees seats for the waiting list."""
    if activity.status == ActivityStatus.published:
        mailing.send_update(activity, now, changes)
        seats.refresh_waitlist(activity, now)


def on_cancelled(activity, now, **kwargs) -> None:
    """Send METHOD:CANCEL to everyone who got an invitation."""
    mailing.send_cancellation(activity, now)


def invitation_mail_withdrawn(row: OutboxMessage, now: datetime) -> bool:
    """Send-time check, before every attempt: an invitation, update, nudge or promotion mail is
    not sent once its activity is no longer published (cancelled, completed) or has started."""
    if row.kind not in OUTBOX_KINDS or row.kind == CANCELLATION_KIND or row.activity_id is None:
        return False
    activity = db.session.get(Activity, row.activity_id)
    return activity is None or activity.status != ActivityStatus.published or activity.starts_at <= now


def invited_organisations(org_ids: list[int], window: Select) -> Select:
    """Conflict checks: an organisation invited (and not declining) attends the activity."""
    return select(
        Invitation.activity_id.label("activity_id"), Invitation.organisation_id.label("organisation_id")
    ).where(
        Invitation.organisation_id.in_(org_ids),
        Invitation.activity_id.in_(window),
        Invitation.answer != Answer.declined,
    )


def register(app: Flask) -> None:
    """Connect the activity receivers and register with the conflict checks and the notice registry."""
    activity_published.connect(on_published)
    activity_updated.connect(on_updated)
    activity_cancelled.connect(on_cancelled)
    add_attendance_source(app, invited_organisations)
    registry = notices_of(app)
    registry.add_send_time_check(invitation_mail_withdrawn)
    for kind in OUTBOX_KINDS:
        registry.add_prebuilt(kind, build_message)
        registry.add_kind_label(kind, OUTBOX_KIND_LABELS[kind])
        registry.add_channel_renderer(Channel.sms.value, kind, render_invitation_sms)
