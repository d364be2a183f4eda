"""Invitation mails that follow the activity's life: publication, updates, cancellation."""

from __future__ import annotations

from app.events.models import ActivityStatus
from app.events.signals import activity_cancelled, activity_published, activity_updated
from app.invitations import services


def on_published(activity, now, **kwargs) -> None:
    services.send_pending_invitations(activity, now)


def on_updated(activity, now, changes=None, **kwargs) -> None:
    if activity.status == ActivityStatus.published:
        services.send_update(activity, now, changes)
        # A larger room or a higher limit frees seats for the waiting list.
        services.refresh_waitlist(activity, now)


def on_cancelled(activity, now, **kwargs) -> None:
    services.send_cancellation(activity, now)


def connect() -> None:
    """Subscribe (idempotent: blinker keeps one connection per receiver)."""
    activity_published.connect(on_published)
    activity_updated.connect(on_updated)
    activity_cancelled.connect(on_cancelled)
