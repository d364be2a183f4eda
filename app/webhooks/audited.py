"""What the audit log records of webhook endpoints (never their secret)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.audit.subjects import AuditedField, AuditedModel, flag, text
from app.webhooks.models import EVENT_LABELS, WebhookEndpoint


def _events(value: object) -> str:
    labels = {event.value: str(label) for event, label in EVENT_LABELS.items()}
    return ", ".join(labels.get(part, part) for part in str(value or "").split())


WEBHOOK_ENDPOINT = AuditedModel(
    WebhookEndpoint, _l("Webhook endpoint"),
    {
        "name": text(_l("Name")),
        "url": text(_l("Address")),
        "events": AuditedField(_l("Events"), _events),
        "active": flag(_l("Active")),
    },
    title=lambda endpoint: endpoint.name,
    url=lambda endpoint: url_for("webhooks.endpoint", endpoint_id=endpoint.id),
    actions={
        "replace_secret": _l("Secret replaced"),
        "disable": _l("Disabled after the receiver answered 410 Gone"),
    },
)

AUDITED = [WEBHOOK_ENDPOINT]
