"""Invitation mails that follow the activity's life: publication, updates, cancellation."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.events import conflicts
from app.events.models import ActivityStatus
from app.events.signals import activity_cancelled, activity_published, activity_updated
from app.invitations import services
from app.invitations.models import Answer, Invitation


def on_published(activity, now, **kwargs) -> None:
    services.send_pending_invitations(activity, now)


def on_updated(activity, now, changes=None, **kwargs) -> None:
    if activity.status == ActivityStatus.published:
        services.send_update(activity, now, changes)
        # A larger room or a higher limit frees seats for the waiting list.
        services.refresh_waitlist(activity, now)


def on_cancelled(activity, now, **kwargs) -> None:
    services.send_cancellation(activity, now)


def invited_organisations(org_ids: list[int], window: Select) -> Select:
    """Conflict checks: an organisation invited (and not declining) attends the activity."""
    return select(
        Invitation.activity_id.label("activity_id"), Invitation.organisation_id.label("organisation_id")
    ).where(
        Invitation.organisation_id.in_(org_ids),
        Invitation.activity_id.in_(window),
        Invitation.answer != Answer.declined,
    )


def connect() -> None:
    """Subscribe (idempotent: blinker keeps one connection per receiver)."""
    if invited_organisations not in conflicts.attendance_sources:
        conflicts.attendance_sources.append(invited_organisations)
    activity_published.connect(on_published)
    activity_updated.connect(on_updated)
    activity_cancelled.connect(on_cancelled)
