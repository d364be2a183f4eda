"""The outbox: queued in the caller's transaction, delivered over real SMTP, never lost or doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, select

from app.extensions import db
from app.mail import dispatch
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.notices import notices_of
from app.mail.services import enqueue, retry_now

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def message(to: str = "qiye@example.com", subject: str = "邀请：主题党日") -> EmailMessage:
    msg = EmailMessage()
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("您好，\n请点击链接回复。\n")
    return msg


def test_queued_message_is_delivered_once_with_its_message_id(app, smtp_server):
    row = enqueue(message(), kind="invitation", now=NOW)
    db.session.commit()
    assert row.message_id.startswith(f"<outbox-{row.id}.")
    report = dispatch.deliver_due(NOW)
    assert (report.claimed, report.sent) == (1, 1)
    assert dispatch.deliver_due(NOW + timedelta(hours=1)).claimed == 0
    assert len(smtp_server.messages) == 1
    received = smtp_server.parsed()[0]
    assert received["Message-ID"] == row.message_id
    assert received["Subject"] == "邀请：主题党日"
    assert b"\r\n" in smtp_server.messages[0][2]
    db.session.expire_all()
    assert db.session.get(OutboxMessage, row.id).status == OutboxStatus.sent


def test_rolled_back_change_sends_nothing(app, smtp_server):
    enqueue(message(), kind="invitation", now=NOW)
    db.session.rollback()
    assert dispatch.deliver_due(NOW).claimed == 0
    assert smtp_server.messages == []


def test_dedupe_key_queues_once(app):
    first = enqueue(message(), kind="nudge", now=NOW, dedupe_key="nudge-1")
    second = enqueue(message(), kind="nudge", now=NOW, dedupe_key="nudge-1")
    db.session.commit()
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_nothing_is_lost_while_smtp_is_down(app, smtp_server):
    rows = [enqueue(message(f"c{i}@example.com"), kind="invitation", now=NOW) for i in range(3)]
    db.session.commit()
    smtp_server.stop()
    report = dispatch.deliver_due(NOW)
    assert (report.sent, report.retrying) == (0, 3)
    db.session.expire_all()
    row = db.session.get(OutboxMessage, rows[0].id)
    assert row.status == OutboxStatus.retrying and row.last_error
    assert row.next_attempt_at == NOW + dispatch.backoff(1)
    assert dispatch.deliver_due(NOW + timedelta(seconds=30)).claimed == 0  # backing off
    smtp_server.start()
    report = dispatch.deliver_due(NOW + timedelta(minutes=2))
    assert report.sent == 3
    assert sorted(to[0] for _f, to, _r in smtp_server.messages) == [f"c{i}@example.com" for i in range(3)]
    assert dispatch.deliver_due(NOW + timedelta(days=1)).claimed == 0


def test_gives_up_after_the_configured_attempts_and_can_be_retried(app, smtp_server):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    try:
        row = enqueue(message(), kind="invitation", now=NOW)
        db.session.commit()
        smtp_server.stop()
        moment = NOW
        for _ in range(3):
            dispatch.deliver_due(moment)
            moment += timedelta(hours=3)
        db.session.expire_all()
        row = db.session.get(OutboxMessage, row.id)
        assert row.status == OutboxStatus.failed and row.attempts == 3
        assert dispatch.deliver_due(moment).claimed == 0  # given up stays given up, and visible
        smtp_server.start()
        retry_now(row, moment)
        db.session.commit()
        assert dispatch.deliver_due(moment).sent == 1
    finally:
        app.config["MAIL_MAX_ATTEMPTS"] = 8


def test_a_dispatcher_that_died_mid_send_is_taken_over_after_the_lease(app, smtp_server):
    row = enqueue(message(), kind="invitation", now=NOW)
    db.session.commit()
    assert dispatch.claim_due(NOW) == [row.id]  # claimed, then the process "dies"
    assert dispatch.deliver_due(NOW + dispatch.LEASE / 2).claimed == 0  # lease still held
    report = dispatch.deliver_due(NOW + dispatch.LEASE + timedelta(seconds=1))
    assert report.sent == 1
    assert len(smtp_server.messages) == 1


def test_suppressor_withdraws_at_send_time(app, smtp_server, monkeypatch):
    enqueue(message(), kind="reminder", now=NOW)
    db.session.commit()
    monkeypatch.setattr(notices_of(app), "send_time_checks", [lambda row, now: row.kind == "reminder"])
    report = dispatch.deliver_due(NOW)
    assert report.withdrawn == 1 and smtp_server.messages == []


def test_outbox_send_command(app, runner, smtp_server):
    enqueue(message(), kind="invitation", now=datetime.now(UTC) - timedelta(minutes=1))
    db.session.commit()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0
    assert "sent 1" in result.output
    assert len(smtp_server.messages) == 1


# -- the outbox page (app/mail/views.py) ------------------------------------------

def test_outbox_page_is_for_organisers_and_retry_needs_csrf(app, client, login_as):
    row = OutboxMessage(
        kind="invitation", recipient="a@example.com", subject="邀请", raw=b"x", message_id="<m1@t>",
        status=OutboxStatus.failed, attempts=8, next_attempt_at=NOW, last_error="550 mailbox unavailable",
        created_at=NOW,
    )
    db.session.add(row)
    db.session.commit()
    assert client.get("/outbox").status_code == 302  # log in first
    login_as("contact")
    assert client.get("/outbox").status_code == 403
    assert client.post(f"/outbox/{row.id}/retry").status_code == 403
    client.post("/logout")
    login_as("organiser")
    assert client.get("/outbox?status=nonsense").status_code == 404
    page = client.get("/outbox").get_data(as_text=True)
    assert "550 mailbox unavailable" in page and "立即重发" in page
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/outbox/{row.id}/retry").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(OutboxMessage, row.id).status == OutboxStatus.failed
    client.post(f"/outbox/{row.id}/retry")
    assert db.session.get(OutboxMessage, row.id).status == OutboxStatus.queued
