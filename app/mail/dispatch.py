"""Delivering due outbox messages over SMTP.

The dispatcher is an edge like a request: it commits. The claim (status → sending, with a
lease) is committed before any SMTP exchange, and each message's outcome right after its own
exchange, so a crash leaves at most the message in flight to be sent again after the lease —
with the same Message-ID.
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import or_, select, update

from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.services import finalise

LEASE = timedelta(minutes=5)
# Wait before attempt n+1: 1 min, 5 min, 15 min, 1 h, then every 2 h.
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)]

# Checks run just before sending; a check that returns True withdraws the message
# (e.g. a reminder for an activity cancelled since it was queued).
send_time_suppressors: list[Callable[[OutboxMessage], bool]] = []

# Builders of messages queued in bulk without a body (raw == b""), by outbox kind: they build
# the mail from the current state at send time, or return None to withdraw it.
renderers: dict[str, Callable[[OutboxMessage, datetime], EmailMessage | None]] = {}


@dataclass
class DeliveryReport:
    """What one dispatcher pass did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    withdrawn: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after `attempts` failures."""
    return BACKOFF[attempts - 1] if attempts - 1 < len(BACKOFF) else timedelta(hours=2)


def claim_due(now: datetime, limit: int = 100) -> list[int]:
    """Take a lease on due messages (skipping rows another dispatcher holds) and commit the claim."""
    due = (
        select(OutboxMessage.id)
        .where(
            or_(
                OutboxMessage.status.in_([OutboxStatus.queued, OutboxStatus.retrying])
                & (OutboxMessage.next_attempt_at <= now),
                # A dispatcher died mid-send: take the message over once its lease ran out.
                (OutboxMessage.status == OutboxStatus.sending) & (OutboxMessage.lease_until < now),
            )
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due))
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status=OutboxStatus.sending, lease_until=now + LEASE)
        )
    db.session.commit()
    return ids


def _connect() -> smtplib.SMTP:
    config = current_app.config
    connection = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15)
    if config.get("MAIL_USE_TLS"):
        connection.starttls()
    if config.get("MAIL_USERNAME"):
        connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
    return connection


def _fail(row: OutboxMessage, error: str, now: datetime, report: DeliveryReport) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.lease_until = None
    if row.attempts >= current_app.config.get("MAIL_MAX_ATTEMPTS", 8):
        row.status = OutboxStatus.failed
        report.failed += 1
    else:
        row.status = OutboxStatus.retrying
        row.next_attempt_at = now + backoff(row.attempts)
        report.retrying += 1
    report.errors.append(f"{row.recipient}: {error}")


def _render(row: OutboxMessage, now: datetime, report: DeliveryReport) -> bool:
    """Build a bulk-queued message now; False when it is withdrawn (or failed to build)."""
    if row.raw:
        return True
    renderer = renderers.get(row.kind)
    try:
        message = renderer(row, now) if renderer is not None else None
    except Exception as error:  # a broken builder must not stop the other messages
        current_app.logger.exception("building outbox message %s failed", row.id)
        _fail(row, f"{type(error).__name__}: {error}", now, report)
        return False
    if message is None:
        return False
    if "To" not in message:
        message["To"] = row.recipient
    else:  # built now: the recipient's current address
        row.recipient = parseaddr(str(message["To"]))[1] or row.recipient
    finalise(row, message, now)
    return True


def deliver_due(now: datetime, limit: int = 100) -> DeliveryReport:
    """Send every due message once; failures are retried later and finally shown as given up."""
    report = DeliveryReport()
    ids = claim_due(now, limit)
    report.claimed = len(ids)
    if not ids:
        return report
    connection: smtplib.SMTP | None = None
    try:
        for message_id in ids:
            row = db.session.get(OutboxMessage, message_id)
            if row is None or row.status != OutboxStatus.sending:
                continue
            built_before = bool(row.raw)
            if any(check(row) for check in send_time_suppressors) or not _render(row, now, report):
                if row.status == OutboxStatus.sending:
                    row.status = OutboxStatus.cancelled
                    row.lease_until = None
                    report.withdrawn += 1
                db.session.commit()
                continue
            if not built_before:
                # Build once: the body (and whatever its builder wrote, e.g. an answer-link token)
                # commits before the SMTP exchange, so every later attempt sends the same bytes.
                db.session.commit()
            try:
                if connection is None:
                    connection = _connect()
                connection.sendmail(
                    current_app.config["MAIL_DEFAULT_SENDER"], [row.recipient], row.raw
                )
            except (TimeoutError, smtplib.SMTPException, OSError) as error:
                if isinstance(error, smtplib.SMTPServerDisconnected | OSError):
                    connection = None
                _fail(row, f"{type(error).__name__}: {error}", now, report)
            else:
                row.status = OutboxStatus.sent
                row.sent_at = now
                row.attempts += 1
                row.lease_until = None
                row.last_error = None
                report.sent += 1
            db.session.commit()
    finally:
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.quit()
    return report
