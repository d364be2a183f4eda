"""Queuing messages in the outbox; flushes, never commits, so a message commits with its cause."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.mail.models import Channel, OutboxMessage, OutboxStatus


def mail_domain() -> str:
    """The host name used in Message-IDs, from BASE_URL."""
    return urlsplit(current_app.config["BASE_URL"]).hostname or "linghang.local"


def outbox_message_id(row: OutboxMessage) -> str:
    """A Message-ID derived from the outbox row, stable across delivery attempts."""
    stamp = row.created_at.strftime("%Y%m%d%H%M%S")
    return f"<outbox-{row.id}.{stamp}@{mail_domain()}>"


def enqueue(
    message: EmailMessage,
    *,
    kind: str,
    now: datetime,
    activity_id: int | None = None,
    invitation_id: int | None = None,
    dedupe_key: str | None = None,
    notice_key: str | None = None,
    notice_kind: str | None = None,
    person_id: int | None = None,
) -> OutboxMessage:
    """Put a message in the outbox (once per dedupe key) and return its row."""
    row, created = _queue(
        channel=Channel.email.value, kind=kind, recipient=str(message["To"]), now=now,
        subject=str(message["Subject"] or ""), notice_key=notice_key, notice_kind=notice_kind, person_id=person_id,
        activity_id=activity_id, invitation_id=invitation_id, dedupe_key=dedupe_key,
    )
    if created:  # an existing row for the dedupe key is returned as it is
        finalise(row, message, now)
        db.session.flush()
    return row


def enqueue_delivery(
    *,
    channel: str,
    kind: str,
    recipient: str,
    now: datetime,
    body: bytes = b"",
    subject: str = "",
    notice_key: str | None = None,
    activity_id: int | None = None,
    invitation_id: int | None = None,
    dedupe_key: str | None = None,
    notice_kind: str | None = None,
    person_id: int | None = None,
) -> OutboxMessage:
    """Queue one non-e-mail delivery (once per dedupe key); an empty body is built at send time."""
    return _queue(
        channel=channel, kind=kind, recipient=recipient, now=now, body=body, subject=subject, notice_key=notice_key,
        activity_id=activity_id, invitation_id=invitation_id, dedupe_key=dedupe_key, notice_kind=notice_kind,
        person_id=person_id,
    )[0]


def _queue(*, channel: str, kind: str, recipient: str, now: datetime, body: bytes = b"", subject: str = "",
           dedupe_key: str | None = None, **links) -> tuple[OutboxMessage, bool]:
    """The row for the dedupe key if there is one (False), else a new queued row (True)."""
    if dedupe_key is not None:
        existing = db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing, False
    row = OutboxMessage(
        kind=kind,
        channel=channel,
        recipient=recipient[:254] if channel != Channel.email.value else recipient,
        subject=subject[:300],
        raw=body,
        message_id=f"pending-{channel}-{now.timestamp()}-{id(body)}",
        dedupe_key=dedupe_key,
        status=OutboxStatus.queued,
        next_attempt_at=now,
        created_at=now,
        **links,
    )
    db.session.add(row)
    db.session.flush()
    # The delivery id (an e-mail's Message-ID): stable across attempts, so receivers drop duplicates.
    row.message_id = outbox_message_id(row)
    db.session.flush()
    return row, True


def notice_key_of(row: OutboxMessage) -> str:
    """The key of the notice a delivery belongs to (older e-mail rows: their dedupe key)."""
    return row.notice_key or row.dedupe_key or ""


def finalise(row: OutboxMessage, message: EmailMessage, now: datetime) -> None:
    """Store a built message in its row: sender, date, the row's Message-ID, CRLF bytes."""
    if "From" not in message:
        message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    if "Date" not in message:
        message["Date"] = formatdate(now.timestamp(), usegmt=True)
    del message["Message-ID"]
    message["Message-ID"] = row.message_id
    if message["Subject"]:
        row.subject = str(message["Subject"])[:300]
    # policy.SMTP keeps CRLF line ends, which the iCalendar parts need.
    row.raw = message.as_bytes(policy=SMTP)


def keep_headers_only(row: OutboxMessage) -> None:
    """Drop the body of a message that was delivered or withdrawn; its headers stay on record.

    Invitation and reminder bodies carry the invitee's live answer link, whose token is
    otherwise stored only as a hash. The body is needed until the message has left: every
    attempt sends the same bytes (see app/mail/dispatch.py). After that nothing reads it — a
    sent or withdrawn message is never sent again (a manual retry concerns failed ones) — so
    it is purged rather than kept in clear. Subject, recipient and Message-ID stay in the row.
    """
    if row.channel == Channel.webhook.value:
        # A webhook's body is the event (no link, no token), and a resend sends it again as it was.
        return
    if row.channel not in (None, Channel.email.value):
        # Other channels have no headers to keep: an SMS body holds its short answer link.
        row.raw = b""
        return
    head, separator, _body = row.raw.partition(b"\r\n\r\n")
    if separator:
        row.raw = head + separator


def withdraw(rows: list[OutboxMessage]) -> None:
    """Withdraw messages that have not been sent yet (e.g. superseded by a newer one)."""
    for row in rows:
        if row.status in (OutboxStatus.queued, OutboxStatus.retrying):
            row.status = OutboxStatus.cancelled
            keep_headers_only(row)
    db.session.flush()


def retry_now(row: OutboxMessage, now: datetime) -> None:
    """Put a given-up or retrying message back in the queue (organiser's manual retry)."""
    if row.status in (OutboxStatus.failed, OutboxStatus.retrying):
        row.status = OutboxStatus.queued
        row.next_attempt_at = now
        row.lease_until = None
        db.session.flush()
