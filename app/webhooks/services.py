"""Registering webhook endpoints, their delivery log and resending; every function flushes, never commits."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import Select, select

from app.audit.services import created, diff, record
from app.core.errors import ValidationFailed
from app.extensions import db
from app.mail.models import Channel, OutboxMessage, OutboxStatus
from app.webhooks.models import EventType, WebhookEndpoint, recipient_of
from app.webhooks.signing import checked_secret, generate_secret


def _checked(name: str | None, url: str | None, events: list[str] | None) -> tuple[str, str, str]:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the endpoint a name."), "name")
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise ValidationFailed(_("Give an http:// or https:// address of at most 500 characters."), "url")
    known = {event.value for event in EventType}
    chosen = [event for event in (events or []) if event in known]
    if not chosen or len(chosen) != len(events or []):
        raise ValidationFailed(_("Choose at least one event."), "events")
    ordered = " ".join(event.value for event in EventType if event.value in chosen)
    return name[:100], url, ordered


def create_endpoint(
    *, name: str | None, url: str | None, events: list[str] | None, secret: str | None, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret (the pasted one, or a new one), to show once."""
    name, url, chosen = _checked(name, url, events)
    secret = checked_secret(secret) if (secret or "").strip() else generate_secret()
    endpoint = WebhookEndpoint(
        name=name, url=url, events=chosen, secret=secret, active=True, created_at=now, updated_at=now
    )
    db.session.add(endpoint)
    db.session.flush()
    record(endpoint, "create", created(endpoint), now=now)
    return endpoint, secret


def update_endpoint(
    endpoint: WebhookEndpoint, *, name: str | None, url: str | None, events: list[str] | None, now: datetime
) -> WebhookEndpoint:
    """Change an endpoint's name, address or events (the secret stays)."""
    name, url, chosen = _checked(name, url, events)
    changes = diff(endpoint, {"name": name, "url": url, "events": chosen})
    if changes:
        endpoint.updated_at = now
        record(endpoint, "update", changes, now=now)
    db.session.flush()
    return endpoint


def replace_secret(endpoint: WebhookEndpoint, secret: str | None, now: datetime) -> str:
    """Give the endpoint a new secret (pasted or generated) and return it, to show once."""
    endpoint.secret = checked_secret(secret) if (secret or "").strip() else generate_secret()
    endpoint.updated_at = now
    record(endpoint, "replace_secret", now=now)
    db.session.flush()
    return endpoint.secret


def set_active(endpoint: WebhookEndpoint, active: bool, now: datetime) -> None:
    """Enable (e.g. after the receiver answered 410) or disable deliveries to an endpoint."""
    if endpoint.active == active:
        return
    endpoint.active = active
    endpoint.disabled_reason = None if active else _("Disabled by an administrator.")
    endpoint.updated_at = now
    record(endpoint, "activate" if active else "deactivate", {"active": [not active, active]}, now=now)
    db.session.flush()


def delete_endpoint(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Remove an endpoint; its deliveries not yet sent are withdrawn, the log stays in the outbox."""
    for row in db.session.scalars(deliveries_of(endpoint).where(OutboxMessage.status.in_(WAITING))):
        row.status = OutboxStatus.cancelled
        row.lease_until = None
    record(endpoint, "delete", {"name": [endpoint.name, None], "url": [endpoint.url, None]}, now=now)
    db.session.delete(endpoint)
    db.session.flush()


WAITING = (OutboxStatus.queued, OutboxStatus.retrying)
RESENDABLE = (OutboxStatus.sent, OutboxStatus.failed, OutboxStatus.retrying)


def deliveries_of(endpoint: WebhookEndpoint) -> Select:
    """The endpoint's deliveries, newest first."""
    return (
        select(OutboxMessage)
        .where(OutboxMessage.channel == Channel.webhook.value, OutboxMessage.recipient == recipient_of(endpoint.id))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )


def delivery_of(endpoint: WebhookEndpoint, delivery_id: int) -> OutboxMessage | None:
    """One of the endpoint's deliveries, None when the id is another's."""
    return db.session.scalar(deliveries_of(endpoint).where(OutboxMessage.id == delivery_id))


def resend(endpoint: WebhookEndpoint, row: OutboxMessage, now: datetime) -> None:
    """Queue a delivery again at once, with the same body and `webhook-id` (receivers drop a duplicate)."""
    if not endpoint.active:
        raise ValidationFailed(_("Enable the endpoint before resending its deliveries."))
    if row.status not in RESENDABLE:
        raise ValidationFailed(_("This delivery is already waiting to be sent."))
    old = row.status.value
    row.status = OutboxStatus.queued
    row.next_attempt_at = now
    row.lease_until = None
    record(row, "retry", {"status": [old, row.status.value]}, now=now)
    db.session.flush()
