"""What the audit log records of outgoing mail."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.audit.subjects import AuditedModel, choice
from app.mail.models import OUTBOX_STATUS_LABELS, OutboxMessage

OUTBOX_MESSAGE = AuditedModel(
    OutboxMessage, _l("Outgoing mail"),
    {"status": choice(_l("Status"), OUTBOX_STATUS_LABELS)},
    title=lambda message: f"{message.recipient} · {message.subject}",
    url=lambda _message: url_for("mail.outbox"),
    actions={"retry": _l("Sent again")},
)

AUDITED = [OUTBOX_MESSAGE]
