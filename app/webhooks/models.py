"""Webhook endpoints: where events are posted, with the secret that signs them."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.types import UTCDateTime
from app.extensions import db


class EventType(enum.StrEnum):
    """What an endpoint can subscribe to; the value is the payload's `type`."""

    activity_published = "activity.published"
    activity_changed = "activity.changed"
    activity_cancelled = "activity.cancelled"
    invitation_answered = "invitation.answered"
    problem_created = "problem.created"
    problem_stepped = "problem.stepped"
    problem_resolved = "problem.resolved"
    problem_closed = "problem.closed"


EVENT_LABELS = {
    EventType.activity_published: _l("Activity published"),
    EventType.activity_changed: _l("Activity time or place changed"),
    EventType.activity_cancelled: _l("Activity cancelled"),
    EventType.invitation_answered: _l("Invitation answered"),
    EventType.problem_created: _l("Problem recorded"),
    EventType.problem_stepped: _l("Problem moved a step in the ledger"),
    EventType.problem_resolved: _l("Problem resolved"),
    EventType.problem_closed: _l("Problem closed out"),
}


class WebhookEndpoint(db.Model):
    """A receiver's URL, the events it wants and the secret its deliveries are signed with.

    The secret is kept as it is: signing needs it (HMAC), unlike a password or an API key that
    only has to be recognised. It is shown once, when created or replaced, never again.
    """

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    # Space-separated EventType values.
    events: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why deliveries stopped (the receiver answered 410 Gone), until an administrator enables it again.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def event_types(self) -> list[EventType]:
        """The subscribed events, in the order of EventType."""
        chosen = set(self.events.split())
        return [event for event in EventType if event.value in chosen]

    @property
    def recipient(self) -> str:
        """How the endpoint's outbox rows name it (their `recipient`)."""
        return recipient_of(self.id)


def recipient_of(endpoint_id: int) -> str:
    """The outbox recipient of an endpoint's deliveries."""
    return f"webhook:{endpoint_id}"


def endpoint_id_of(recipient: str) -> int | None:
    """The endpoint id an outbox recipient names, None when it names none."""
    prefix, _sep, raw = recipient.partition(":")
    return int(raw) if prefix == "webhook" and raw.isdigit() else None
