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


class Channel(enum.StrEnum):
    """How a delivery reaches its recipient."""

    email = "email"
    sms = "sms"
    wecom = "wecom"
    dingtalk = "dingtalk"
    webhook = "webhook"


CHANNEL_LABELS = {
    Channel.email: lazy_pgettext("channel", "E-mail"),
    Channel.sms: _l("SMS"),
    Channel.wecom: _l("WeCom group"),
    Channel.dingtalk: _l("DingTalk group"),
    Channel.webhook: _l("Webhook"),
}


class OutboxMessage(db.Model):
    """One delivery of a notice through one channel to one recipient, with its delivery state.

    An e-mail keeps its RFC 5322 bytes in `raw`; other channels keep their request body there
    (SMS template parameters, a robot's markdown, a webhook's JSON), written by the channel's
    renderer when queued or at send time. `recipient` is the channel's address: an e-mail
    address, a mobile number, a robot or webhook endpoint id.
    """

    __tablename__ = "outbox_message"
    # (status, next_attempt_at) also serves lookups by status alone.
    __table_args__ = (
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        # Channels' limits count one recipient's recent deliveries (robots' 20 a minute,
        # app/robots/sender.py; the SMS daily cap, app/notify/sms_sender.py).
        Index("ix_outbox_message_recipient_sent", "channel", "recipient", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20), server_default=Channel.email.value)
    # The notice this delivery belongs to: its deliveries through other channels share the key.
    notice_key: Mapped[str | None] = mapped_column(String(200), index=True)
    # What the notice is (app/notify/models.py NoticeKind) and whom it is for, when a person:
    # the recipient's channel preferences are checked again at send time.
    notice_kind: Mapped[str | None] = mapped_column(String(40))
    # No foreign key: adding one needs a batch copy of this table on SQLite, and people are
    # deactivated, never deleted; a missing person simply skips the preference check.
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
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
    def channel_label(self) -> str:
        """The translated channel name."""
        try:
            return str(CHANNEL_LABELS[Channel(self.channel)])
        except ValueError:
            return self.channel

    @property
    def status_label(self) -> str:
        """The translated status."""
        return str(OUTBOX_STATUS_LABELS[self.status])
