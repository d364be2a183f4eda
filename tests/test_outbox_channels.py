"""The dispatcher's channel contract: each row goes to its channel's sender, whose outcome decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.mail import dispatch
from app.mail.channels import Outcome
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.notices import notices_of
from app.mail.services import enqueue_delivery

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class ScriptedSender:
    """A test channel that answers each attempt with the next scripted outcome."""

    def __init__(self, outcomes: list[Outcome], log: list[bytes]) -> None:
        self.outcomes = outcomes
        self.log = log
        self.closed = False

    def send(self, row, now):
        self.log.append(row.raw)
        return self.outcomes.pop(0)

    def close(self):
        self.closed = True


@pytest.fixture
def scripted(app, monkeypatch):
    registry = notices_of(app)
    outcomes: list[Outcome] = []
    log: list[bytes] = []
    made: list[ScriptedSender] = []

    def factory():
        made.append(ScriptedSender(outcomes, log))
        return made[-1]

    monkeypatch.setitem(registry.senders, "webhook", factory)
    monkeypatch.setitem(
        registry.channel_renderers, ("webhook", "test.rendered"), lambda row, now: f"built {now:%H:%M}".encode()
    )
    return outcomes, log, made


def queue(kind: str = "test.prebuilt", body: bytes = b'{"n": 1}') -> OutboxMessage:
    row = enqueue_delivery(channel="webhook", kind=kind, recipient="endpoint-1", body=body, now=NOW)
    db.session.commit()
    return row


def status_of(row: OutboxMessage) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, row.id)


def test_a_delivery_goes_to_its_channels_sender_once(app, scripted):
    outcomes, log, made = scripted
    outcomes.append(Outcome.sent())
    row = queue()
    assert row.message_id.startswith(f"<outbox-{row.id}.")
    assert dispatch.deliver_due(NOW).sent == 1
    assert dispatch.deliver_due(NOW + timedelta(hours=1)).claimed == 0
    assert log == [b'{"n": 1}'] and made[0].closed
    assert status_of(row).status == OutboxStatus.sent


def test_a_retry_waits_the_providers_time_and_a_give_up_stops_at_once(app, scripted):
    outcomes, log, _made = scripted
    outcomes += [Outcome.retry("throttled", timedelta(seconds=30)), Outcome.give_up("invalid number")]
    row = queue()
    assert dispatch.deliver_due(NOW).retrying == 1
    assert status_of(row).next_attempt_at == NOW + timedelta(seconds=30)
    assert dispatch.deliver_due(NOW + timedelta(seconds=29)).claimed == 0
    assert dispatch.deliver_due(NOW + timedelta(seconds=30)).failed == 1
    final = status_of(row)
    assert (final.status, final.attempts, final.last_error) == (OutboxStatus.failed, 2, "invalid number")


def test_a_deferred_delivery_keeps_its_attempts_and_comes_back(app, scripted):
    outcomes, log, _made = scripted
    outcomes += [Outcome.defer(timedelta(seconds=20)), Outcome.sent()]
    row = queue()
    assert dispatch.deliver_due(NOW).deferred == 1
    waiting = status_of(row)
    assert (waiting.status, waiting.attempts) == (OutboxStatus.queued, 0)
    assert dispatch.deliver_due(NOW + timedelta(seconds=20)).sent == 1
    assert len(log) == 2


def test_a_body_queued_empty_is_built_at_send_time_and_kept_for_retries(app, scripted):
    outcomes, log, _made = scripted
    outcomes += [Outcome.retry("down"), Outcome.sent()]
    queue(kind="test.rendered", body=b"")
    dispatch.deliver_due(NOW)
    dispatch.deliver_due(NOW + timedelta(hours=3))
    assert log == [b"built 01:00", b"built 01:00"]


def test_a_channel_without_sender_or_renderer_fails_visibly(app, scripted):
    unknown = enqueue_delivery(channel="dingtalk", kind="test.prebuilt", recipient="r", body=b"x", now=NOW)
    unbuilt = enqueue_delivery(channel="webhook", kind="test.unknown", recipient="r", now=NOW)
    db.session.commit()
    report = dispatch.deliver_due(NOW)
    assert report.retrying == 2
    assert "no sender registered for channel 'dingtalk'" in status_of(unknown).last_error
    assert "no renderer registered for webhook kind 'test.unknown'" in status_of(unbuilt).last_error


def test_the_outbox_page_shows_and_filters_by_channel(app, client, login_as, scripted):
    queue()
    login_as("organiser")
    page = client.get("/outbox?channel=webhook").get_data(as_text=True)
    assert 'data-channel="webhook"' in page and "endpoint-1" in page
    assert "endpoint-1" not in client.get("/outbox?channel=email").get_data(as_text=True)
    assert client.get("/outbox?channel=pigeon").status_code == 404
