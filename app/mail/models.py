"""The outbox: every message is a row before it is an SMTP exchange."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.extensions import db


class OutboxStatus(enum.StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    retrying = "retrying"
    failed = "failed"
    cancelled = "cancelled"


OUTBOX_STATUS_LABELS = {
    OutboxStatus.queued: _l("Queued"),
    OutboxStatus.sending: _l("Sending"),
    OutboxStatus.sent: _l("Sent"),
    OutboxStatus.retrying: _l("Retrying"),
    OutboxStatus.failed: _l("Given up"),
    OutboxStatus.cancelled: lazy_pgettext("outbox status", "Withdrawn"),
}


class OutboxMessage(db.Model):
    """One e-mail to one recipient, with its delivery state."""

    __tablename__ = "outbox_message"
    # (status, next_attempt_at) also serves lookups by status alone.
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    # The complete RFC 5322 message (CRLF line ends), built once when queued.
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # Message-ID derived from the row: a retried delivery carries the same one.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    # Optional key that makes queuing the same logical message twice a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.queued
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="SET NULL"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def status_label(self) -> str:
        """The translated status."""
        return str(OUTBOX_STATUS_LABELS[self.status])
