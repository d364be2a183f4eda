"""Delivering due outbox messages through their channels (SMTP, SMS, group robots, webhooks).

The dispatcher is an edge like a request, but one pass is several units of work
(`with unit_of_work():`), because an SMTP exchange cannot be rolled back: the claim (status →
sending, with a lease) commits before any exchange; each claimed message then has its own unit
that checks and builds it (a body built at send time commits before the exchange, so every
retry sends the same bytes and answer-link token), and one that records the exchange's outcome
right after it. The exchange itself belongs to the sender of the row's channel
(app/mail/channels.py). Messages are claimed one at a time, with a short lease that a thread renews
while the exchange runs (app/core/leases.py): a dispatcher that dies leaves the rest of its pass
unclaimed for the next pass (or the stand-by scheduler) and at most the message in flight
leased, taken over within LEASE and sent again with the same Message-ID. Renderers and send-time checks come from the app's notice registry
(app/mail/notices.py), filled by the features' register steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import partial

from flask import current_app
from sqlalchemy import or_, select, update

from app.core.leases import PassClock, Renewal
from app.core.unit_of_work import unit_of_work
from app.extensions import db
from app.mail.channels import ChannelSender, Outcome, Result
from app.mail.models import Channel, OutboxMessage, OutboxStatus
from app.mail.notices import notices
from app.mail.services import finalise, keep_headers_only

# Long enough for a pass to renew it (every third of it) while one exchange runs.
LEASE = timedelta(seconds=30)
# Wait before attempt n+1: 1 min, 5 min, 15 min, 1 h, then every 2 h.
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)]


@dataclass
class DeliveryReport:
    """What one dispatcher pass did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    withdrawn: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after `attempts` failures."""
    return BACKOFF[attempts - 1] if attempts - 1 < len(BACKOFF) else timedelta(hours=2)


def claim_due(now: datetime, limit: int = 100, lease_from: datetime | None = None) -> list[int]:
    """Take a lease on due messages (skipping rows another dispatcher holds); commits (its own unit).

    The lease runs LEASE from `lease_from` (default `now`): a long pass leases from its present moment.
    """
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
    with unit_of_work():
        # One statement (one round trip): the dispatcher claims one message at a time.
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(status=OutboxStatus.sending, lease_until=(lease_from or now) + LEASE)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        ids = sorted(claimed.scalars())
    return ids


def renew_lease(message_id: int, now: datetime) -> None:
    """Extend the lease of a message still being sent (flushes; the renewal thread commits)."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.sending)
        .values(lease_until=now + LEASE)
    )


def _fail(
    row: OutboxMessage,
    error: str,
    now: datetime,
    report: DeliveryReport,
    *,
    wait: timedelta | None = None,
    give_up: bool = False,
) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.lease_until = None
    if give_up or row.attempts >= current_app.config.get("MAIL_MAX_ATTEMPTS", 8):
        row.status = OutboxStatus.failed
        report.failed += 1
    else:
        row.status = OutboxStatus.retrying
        row.next_attempt_at = now + (wait if wait is not None else backoff(row.attempts))
        report.retrying += 1
    report.errors.append(f"{row.recipient}: {error}")


def _render(row: OutboxMessage, now: datetime, report: DeliveryReport) -> bool:
    """Build a bulk-queued message now; False when it is withdrawn (or failed to build).

    A kind without a renderer is a wiring fault, not a withdrawal: the message fails visibly
    (retried, then shown as given up) instead of silently disappearing.
    """
    if row.raw:
        return True
    if row.channel != Channel.email.value:
        return _render_body(row, now, report)
    renderer = notices().renderers.get(row.kind)
    try:
        if renderer is None:
            raise LookupError(f"no renderer registered for outbox kind {row.kind!r}")
        message = renderer(row, now)
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


def _render_body(row: OutboxMessage, now: datetime, report: DeliveryReport) -> bool:
    """Build a non-e-mail delivery's body now; False when it is withdrawn (or failed to build)."""
    renderer = notices().channel_renderers.get((row.channel, row.kind))
    try:
        if renderer is None:
            raise LookupError(f"no renderer registered for {row.channel} kind {row.kind!r}")
        body = renderer(row, now)
    except Exception as error:  # a broken builder must not stop the other deliveries
        current_app.logger.exception("building outbox delivery %s failed", row.id)
        _fail(row, f"{type(error).__name__}: {error}", now, report)
        return False
    if body is None:
        return False
    row.raw = body
    return True


def _withdraw(row: OutboxMessage, report: DeliveryReport) -> None:
    if row.status == OutboxStatus.sending:
        row.status = OutboxStatus.cancelled
        row.lease_until = None
        keep_headers_only(row)
        report.withdrawn += 1


def _prepare(message_id: int, now: datetime, report: DeliveryReport) -> OutboxMessage | None:
    """Check and build one claimed message (its own unit of work); None when it is not to be sent."""
    with unit_of_work():
        row = db.session.get(OutboxMessage, message_id)
        if row is None or row.status != OutboxStatus.sending:
            return None
        if any(check(row, now) for check in notices().send_time_checks) or not _render(row, now, report):
            _withdraw(row, report)
            return None
    return row


class _Senders:
    """The senders of one pass, made at the first row of their channel."""

    def __init__(self) -> None:
        self.open: dict[str, ChannelSender] = {}

    def for_channel(self, channel: str) -> ChannelSender | None:
        if channel not in self.open:
            factory = notices().senders.get(channel)
            if factory is None:
                return None
            self.open[channel] = factory()
        return self.open[channel]

    def close(self) -> None:
        for sender in self.open.values():
            try:
                sender.close()
            except Exception:  # closing one channel must not keep the others open
                current_app.logger.exception("closing the %s sender failed", type(sender).__name__)


def _outcome(row: OutboxMessage, senders: _Senders, now: datetime) -> Outcome:
    sender = senders.for_channel(row.channel)
    if sender is None:
        # A wiring fault, not the recipient's: retried (and shown) until the channel is configured.
        return Outcome.retry(f"no sender registered for channel {row.channel!r}")
    try:
        return sender.send(row, now)
    except Exception as error:  # a sender that breaks its promise must not stop the pass
        current_app.logger.exception("sending outbox delivery %s failed", row.id)
        return Outcome.retry(f"{type(error).__name__}: {error}")


def _send(row: OutboxMessage, senders: _Senders, now: datetime, report: DeliveryReport) -> None:
    """One exchange with the channel; its outcome commits right after it (its own unit of work)."""
    with unit_of_work():
        outcome = _outcome(row, senders, now)
        if outcome.result is Result.defer:
            # Not attempted: back in the queue for its turn, the attempt not counted.
            row.status = OutboxStatus.queued
            row.lease_until = None
            row.next_attempt_at = now + (outcome.wait or timedelta(minutes=1))
            report.deferred += 1
            return
        if outcome.result is not Result.sent:
            _fail(
                row, outcome.error or "", now, report, wait=outcome.wait, give_up=outcome.result is Result.give_up
            )
            return
        row.status = OutboxStatus.sent
        row.sent_at = now
        keep_headers_only(row)
        row.attempts += 1
        row.lease_until = None
        row.last_error = None
        report.sent += 1


def deliver_due(now: datetime, limit: int = 100) -> DeliveryReport:
    """Send every due message once; failures are retried later and finally shown as given up."""
    report = DeliveryReport()
    clock = PassClock(now)
    senders = _Senders()
    try:
        # One claim per message: a pass that dies holds nothing but the message in flight.
        while report.claimed < limit:
            claimed = claim_due(now, 1, lease_from=clock())
            if not claimed:
                break
            report.claimed += 1
            message_id = claimed[0]
            with Renewal(partial(renew_lease, message_id), clock, LEASE / 3):
                row = _prepare(message_id, now, report)
                if row is not None:
                    _send(row, senders, now, report)
    finally:
        senders.close()
    return report
