"""Webhooks: signed deliveries through the outbox to a real receiver, through its outage and back."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from app.audit.models import AuditEntry
from app.core.errors import ValidationFailed
from app.events import services as activities
from app.extensions import db
from app.invitations.models import Answer, AnswerChannel
from app.invitations.seats import answer
from app.mail import dispatch
from app.mail.models import Channel, OutboxMessage, OutboxStatus
from app.orgs.models import OrgKind
from app.problems import services as problems
from app.problems import transitions
from app.problems.models import ProblemCategory, ProblemSource, Satisfaction
from app.webhooks import services
from app.webhooks.models import EventType, WebhookEndpoint
from tests import factories
from tests.webhook_receiver import Receiver

# Monday 2026-03-09 10:00 in Beijing
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
ALL = [event.value for event in EventType]


@pytest.fixture
def receiver(app):
    endpoint, secret = services.create_endpoint(name="12345热线", url="http://127.0.0.1:1/x", events=ALL, secret=None, now=NOW)
    hooks = Receiver(secret=secret, now=NOW)
    hooks.start()
    endpoint.url = hooks.url
    db.session.commit()
    yield hooks
    if hooks.hold is not None:
        hooks.hold.set()
    hooks.stop()


def deliver(receiver: Receiver, at: datetime) -> dispatch.DeliveryReport:
    """One dispatcher pass at `at`, with the receiver's clock at the same time."""
    receiver.now = at
    return dispatch.deliver_due(at)


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def lifecycle(enterprise_id: int, department_id: int, start: datetime) -> None:
    """A hotline problem from 受理 to 销号, one step a minute, committed."""
    problem = problems.record_problem(
        enterprise_id=enterprise_id, category=ProblemCategory.tax, description="退税进度查询",
        now=start, recorder=None, source=ProblemSource.hotline,
    )
    db.session.commit()
    steps = [
        lambda at: transitions.assign(problem, None, department_id=department_id, deadline=None, note=None, now=at),
        lambda at: transitions.start(problem, None, note=None, now=at),
        lambda at: transitions.resolve(problem, None, resolution="已退税", now=at),
        lambda at: transitions.give_satisfaction(problem, None, satisfaction=Satisfaction.satisfied, comment=None, now=at),
        lambda at: transitions.close(problem, None, note=None, now=at),
    ]
    for minute, step in enumerate(steps, start=1):
        step(start + timedelta(minutes=minute))
        db.session.commit()


def test_each_event_arrives_once_signed_through_an_outage_and_a_replay_is_rejected(app, receiver):
    department = factories.organisation(OrgKind.department, name="县税务局")
    enterprise = factories.organisation(OrgKind.enterprise, name="立伟轻工")
    db.session.commit()
    lifecycle(enterprise.id, department.id, NOW)
    queued = rows()
    assert [row.kind.removeprefix("webhook.") for row in queued] == [
        "problem.created", "problem.stepped", "problem.stepped", "problem.stepped", "problem.resolved",
        "problem.stepped", "problem.stepped", "problem.closed",
    ]
    assert {row.channel for row in queued} == {Channel.webhook.value}

    # The first event gets through; then the receiver goes down.
    first = queued[0]
    db.session.execute(
        OutboxMessage.__table__.update().where(OutboxMessage.id != first.id).values(next_attempt_at=NOW + timedelta(minutes=10))
    )
    db.session.commit()
    assert deliver(receiver, NOW + timedelta(minutes=5)).sent == 1
    receiver.stop()
    outage = NOW + timedelta(minutes=10)
    report = deliver(receiver, outage)
    assert (report.sent, report.retrying) == (0, 7)
    assert all("Connection refused" in (row.last_error or "") or "Errno" in (row.last_error or "") for row in rows()[1:])
    assert deliver(receiver, outage + timedelta(seconds=59)).claimed == 0  # backoff: 1 minute

    # Back up on the same port: every waiting delivery arrives, once, each with its own id.
    receiver.start()
    assert deliver(receiver, outage + timedelta(minutes=1)).sent == 7
    assert deliver(receiver, outage + timedelta(hours=3)).claimed == 0
    assert receiver.rejected == [] and receiver.duplicates == []
    assert len(receiver.events) == 8 and len(receiver.requests) == 8
    assert set(receiver.events) == {row.message_id.strip("<>") for row in rows()}
    types = [payload["type"] for payload in receiver.events.values()]
    assert types.count("problem.stepped") == 5 and "problem.closed" in types
    created = next(p for p in receiver.events.values() if p["type"] == "problem.created")
    assert created["data"]["source"] == "hotline" and created["data"]["description"] == "退税进度查询"
    closed = next(p for p in receiver.events.values() if p["type"] == "problem.closed")
    assert closed["data"]["status"] == "closed" and closed["data"]["step"]["action"] == "close"

    # The same delivery id on every attempt: a retried delivery was signed again, not renamed.
    retried = rows()[1]
    assert retried.attempts == 2 and retried.status == OutboxStatus.sent

    # A replay of a captured delivery after the tolerance is rejected, and so is a changed body.
    captured = receiver.requests[-1]
    receiver.now = outage + timedelta(minutes=1, seconds=301)
    assert receiver.post(captured) == 400
    assert receiver.rejected == ["timestamp outside the tolerance"]
    receiver.now = outage + timedelta(minutes=1, seconds=5)
    tampered = type(captured)(captured.headers, captured.body.replace(b"closed", b"opened"))
    assert receiver.post(tampered) == 400
    assert receiver.rejected[-1] == "bad signature"
    assert len(receiver.events) == 8


def test_the_signature_is_the_standard_webhooks_one(app, receiver):
    """The reference library's own verification accepts what the receiver got."""
    enterprise = factories.organisation(OrgKind.enterprise)
    db.session.commit()
    problems.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.other, description="x", now=NOW, recorder=None)
    db.session.commit()
    assert deliver(receiver, NOW).sent == 1
    (request,) = receiver.requests
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert request.headers["content-type"].startswith("application/json")
    with time_machine.travel(NOW, tick=False):
        payload = Webhook(receiver.secret).verify(request.body, request.headers)
    assert payload["type"] == "problem.created" and payload["timestamp"] == "2026-03-09T02:00:00Z"


def test_activity_and_invitation_events_follow_the_services(app, receiver):
    activity = factories.activity(status="draft", starts_at=NOW + timedelta(days=7), title="企业家下午茶")
    db.session.commit()
    activities.publish_activity(activity, now=NOW)
    invitation, _token = factories.invitation(activity, now=NOW)
    answer(invitation, reply=Answer.accepted, seats=1, names=None, note=None, channel=AnswerChannel.link, now=NOW)
    activities.reschedule_activity(
        activity, activity.starts_at + timedelta(hours=1), activity.ends_at + timedelta(hours=1), reason="场地调整", now=NOW
    )
    activities.cancel_activity(activity, reason="台风", now=NOW)
    db.session.commit()
    assert deliver(receiver, NOW).sent == 4
    by_type = {payload["type"]: payload["data"] for payload in receiver.events.values()}
    assert list(by_type) == ["activity.published", "invitation.answered", "activity.changed", "activity.cancelled"]
    assert by_type["activity.published"]["title"] == "企业家下午茶"
    assert by_type["invitation.answered"]["answer"] == "accepted"
    assert "starts_at" in by_type["activity.changed"]["changes"]
    assert by_type["activity.cancelled"]["reason"] == "台风"


def test_only_subscribed_active_endpoints_get_an_event_and_a_refused_step_sends_nothing(app):
    problems_only, _ = services.create_endpoint(name="a", url="https://a.example/h", events=["problem.closed"], secret=None, now=NOW)
    off, _ = services.create_endpoint(name="b", url="https://b.example/h", events=ALL, secret=None, now=NOW)
    services.set_active(off, False, NOW)
    enterprise = factories.organisation(OrgKind.enterprise)
    db.session.commit()
    problem = problems.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.other, description="x", now=NOW, recorder=None)
    db.session.commit()
    assert rows() == []
    with pytest.raises(ValidationFailed):
        transitions.close(problem, None, note=None, now=NOW)
    db.session.rollback()
    assert rows() == []


@pytest.mark.parametrize(
    ("status", "headers", "result", "fragment"),
    [
        (500, {}, OutboxStatus.retrying, "HTTP 500"),
        (503, {"Retry-After": "120"}, OutboxStatus.retrying, "HTTP 503"),
        (400, {}, OutboxStatus.failed, "HTTP 400"),
        (301, {"Location": "https://elsewhere.example/"}, OutboxStatus.failed, "HTTP 301"),
        (410, {}, OutboxStatus.failed, "HTTP 410"),
    ],
)
def test_what_the_receivers_answer_means(app, receiver, status, headers, result, fragment):
    receiver.status = status
    receiver.extra_headers = headers
    enterprise = factories.organisation(OrgKind.enterprise)
    db.session.commit()
    problems.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.other, description="x", now=NOW, recorder=None)
    db.session.commit()
    deliver(receiver, NOW)
    (row,) = rows()
    assert row.status == result and fragment in row.last_error
    if "Retry-After" in headers:
        assert row.next_attempt_at == NOW + timedelta(seconds=120)
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert endpoint.active is (status != 410)
    if status == 410:
        assert "410" in endpoint.disabled_reason
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "webhook_endpoint", AuditEntry.action == "disable"))
        assert audit is not None


def test_a_receiver_that_does_not_answer_in_time_is_tried_again(app, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT", 0.3)
    receiver.hold = threading.Event()
    enterprise = factories.organisation(OrgKind.enterprise)
    db.session.commit()
    problems.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.other, description="x", now=NOW, recorder=None)
    db.session.commit()
    assert deliver(receiver, NOW).retrying == 1
    assert "timed out" in rows()[0].last_error
    receiver.hold.set()


def test_secrets_are_generated_or_pasted_in_the_standard_form(app):
    _endpoint, generated = services.create_endpoint(name="a", url="https://a.example/h", events=ALL, secret=None, now=NOW)
    assert generated.startswith("whsec_") and len(generated) > 40
    pasted = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert services.create_endpoint(name="b", url="https://b.example/h", events=ALL, secret=pasted, now=NOW)[1] == pasted
    for bad in ("secret", "whsec_c2hvcnQ=", "whsec_!!!"):
        with pytest.raises(ValidationFailed):
            services.create_endpoint(name="c", url="https://c.example/h", events=ALL, secret=bad, now=NOW)
    for url in ("ftp://x.example/", "not a url", "https://"):
        with pytest.raises(ValidationFailed):
            services.create_endpoint(name="c", url=url, events=ALL, secret=None, now=NOW)
    with pytest.raises(ValidationFailed):
        services.create_endpoint(name="c", url="https://c.example/h", events=["problem.eaten"], secret=None, now=NOW)
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "webhook_endpoint"))
    assert not any(generated in json.dumps(entry.changes) or pasted in json.dumps(entry.changes) for entry in entries)


# -- the administrator's pages --------------------------------------------------

def test_the_secret_is_shown_once_and_only_to_administrators(app, client, login_as):
    login_as("organiser")
    assert client.get("/webhooks").status_code == 403
    client.post("/logout")
    login_as("admin")
    response = client.post(
        "/webhooks", data={"name": "省企业服务平台", "url": "https://platform.example/hooks", "events": ["problem.created", "problem.closed"]}
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert endpoint.secret in response.get_data(as_text=True)
    assert endpoint.event_types == [EventType.problem_created, EventType.problem_closed]
    listing = client.get("/webhooks").get_data(as_text=True)
    assert "省企业服务平台" in listing and endpoint.secret not in listing
    assert endpoint.secret not in client.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)
    refused = client.post("/webhooks", data={"name": "x", "url": "ftp://x", "events": ["problem.created"]})
    assert refused.status_code == 400 and db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 1


def test_the_delivery_log_shows_the_give_up_and_resends(app, client, login_as, receiver):
    receiver.status = 422
    enterprise = factories.organisation(OrgKind.enterprise)
    db.session.commit()
    problems.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.other, description="x", now=NOW, recorder=None)
    db.session.commit()
    deliver(receiver, NOW)
    (row,) = rows()
    endpoint = db.session.scalar(select(WebhookEndpoint))
    login_as("admin")
    page = client.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)
    assert 'data-status="failed"' in page and "HTTP 422" in page and row.message_id.strip("<>") in page
    receiver.status = 204
    response = client.post(f"/webhooks/{endpoint.id}/deliveries/{row.id}/resend")
    assert response.status_code == 302
    queued = rows()[0]
    assert queued.status == OutboxStatus.queued
    # Queued for the page's (wall) clock: the next pass at or after it sends it.
    assert deliver(receiver, queued.next_attempt_at).sent == 1
    assert len(receiver.events) == 1
    # A delivery the receiver already has can be sent again: the same id, dropped as a duplicate.
    client.post(f"/webhooks/{endpoint.id}/deliveries/{row.id}/resend")
    deliver(receiver, rows()[0].next_attempt_at)
    assert receiver.duplicates == [row.message_id.strip("<>")] and len(receiver.events) == 1
    other, _ = services.create_endpoint(name="o", url="https://o.example/h", events=ALL, secret=None, now=NOW)
    db.session.commit()
    assert client.post(f"/webhooks/{other.id}/deliveries/{row.id}/resend").status_code == 404


def test_an_endpoint_gone_410_is_enabled_again_from_its_page(app, client, login_as, receiver):
    receiver.status = 410
    enterprise = factories.organisation(OrgKind.enterprise)
    db.session.commit()
    problems.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.other, description="x", now=NOW, recorder=None)
    db.session.commit()
    deliver(receiver, NOW)
    endpoint = db.session.scalar(select(WebhookEndpoint))
    login_as("admin")
    page = client.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)
    assert 'id="disabled-reason"' in page and "HTTP 410" in page
    assert client.post(f"/webhooks/{endpoint.id}/enable").status_code == 302
    db.session.expire_all()
    assert endpoint.active and endpoint.disabled_reason is None
