"""Answer links do not stay in clear in the outbox once a message has left (or never will)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import SMTP

from sqlalchemy import select

from app.extensions import db
from app.invitations import services
from app.mail import dispatch
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.services import withdraw
from app.orgs.models import OrgKind
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def has_answer_link(raw: bytes) -> bool:
    """True when any part of the message (decoded) carries an /rsvp/ link."""
    message = message_from_bytes(raw, policy=SMTP)
    return any(b"/rsvp/" in (part.get_payload(decode=True) or b"") for part in message.walk() if not part.is_multipart())


def _invite(people: int = 1):
    activity = factories.activity(starts_at=NOW + timedelta(days=7))
    firm = factories.organisation(OrgKind.enterprise)
    for n in range(people):
        factories.person(firm, email=f"contact{n}@example.com")
    services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=NOW)
    db.session.commit()
    return activity


def test_a_delivered_message_keeps_its_headers_but_not_the_answer_link(app, smtp_server):
    _invite()
    assert dispatch.deliver_due(NOW + timedelta(minutes=1)).sent == 1
    (sent,) = smtp_server.messages
    assert has_answer_link(sent[2])  # the invitee got a working link
    row = db.session.scalar(select(OutboxMessage))
    assert row.status == OutboxStatus.sent
    assert not has_answer_link(row.raw) and b"Content-Transfer-Encoding" not in row.raw
    assert b"Subject:" in row.raw and row.message_id.encode() in row.raw


def test_a_failed_message_keeps_its_body_for_the_retry(app, smtp_server):
    _invite()
    smtp_server.stop()
    assert dispatch.deliver_due(NOW + timedelta(minutes=1)).retrying == 1
    row = db.session.scalar(select(OutboxMessage))
    assert has_answer_link(row.raw)  # the same bytes go out on the next attempt


def test_a_withdrawn_message_keeps_no_answer_link(app):
    _invite()
    rows = list(db.session.scalars(select(OutboxMessage)))
    assert rows and all(has_answer_link(row.raw) for row in rows)
    withdraw(rows)
    db.session.commit()
    assert not any(has_answer_link(row.raw) for row in db.session.scalars(select(OutboxMessage)))
