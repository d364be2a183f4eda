"""Mails tell the truth: nothing for a cancelled or started activity even on a retry, a waitlisted
invitee is told so and is never ACCEPTED, and an iTIP message is stamped when it is made.

Real SMTP (aiosmtpd) and an injected clock, on both databases."""

from __future__ import annotations

from datetime import timedelta

import icalendar
from sqlalchemy import select

from app.events import services as scheduling
from app.events.models import ActivityStatus
from app.extensions import db
from app.ical.builder import last_changed
from app.invitations import services as invitations
from app.invitations.models import Answer, Invitation
from app.mail import dispatch
from app.mail.models import OutboxMessage, OutboxStatus
from app.reminders import sweep
from tests.test_wiring import NOW, START, calendar_of, say, setup


def statuses(kind: str) -> list[OutboxStatus]:
    return list(db.session.scalars(select(OutboxMessage.status).where(OutboxMessage.kind == kind)))


def test_an_invitation_that_failed_once_is_not_delivered_after_the_cancellation(app, smtp_server):
    activity, _invitations = setup(status=ActivityStatus.draft)
    scheduling.publish_activity(activity, now=NOW)
    db.session.commit()
    smtp_server.stop()
    assert dispatch.deliver_due(NOW).retrying == 2  # the first attempt fails
    smtp_server.start()
    scheduling.cancel_activity(activity, reason="台风预警", now=NOW + timedelta(seconds=30))
    db.session.commit()
    report = dispatch.deliver_due(NOW + timedelta(minutes=2))
    assert (report.sent, report.withdrawn) == (2, 2)
    assert statuses("invitation.invitation") == [OutboxStatus.cancelled] * 2
    for message in smtp_server.parsed():
        methods = [p.get_param("method") for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert methods == ["CANCEL"]


def test_an_invitation_is_not_delivered_once_the_activity_has_started(app, smtp_server):
    setup()
    smtp_server.stop()
    assert dispatch.deliver_due(NOW).retrying == 2
    smtp_server.start()
    assert dispatch.deliver_due(START).sent == 0  # the retry is due at the start: too late
    assert statuses("invitation.invitation") == [OutboxStatus.cancelled] * 2
    assert smtp_server.messages == []


def test_a_reminder_that_failed_once_is_not_delivered_after_the_start(app, smtp_server):
    (first,) = setup(people=1)[1]
    say(first, Answer.accepted)
    dispatch.deliver_due(NOW)  # the invitation
    smtp_server.messages.clear()
    two_hours_before = START - timedelta(hours=2)
    sweep.sweep(two_hours_before)
    smtp_server.stop()
    failed = dispatch.deliver_due(two_hours_before)
    assert failed.sent == 0 and failed.retrying >= 1
    smtp_server.start()
    # The retry is due long before, but the dispatcher only runs again 3 s after the start.
    report = dispatch.deliver_due(START + timedelta(seconds=3))
    assert report.sent == 0 and report.withdrawn == failed.retrying
    assert smtp_server.messages == []
    assert set(statuses("reminder")) == {OutboxStatus.cancelled}


def test_a_reminder_that_failed_once_is_not_delivered_after_a_cancellation(app, smtp_server):
    activity, (first,) = setup(people=1)
    say(first, Answer.accepted)
    dispatch.deliver_due(NOW)
    smtp_server.messages.clear()
    day_before = START - timedelta(days=1)
    sweep.sweep(day_before)
    smtp_server.stop()
    assert dispatch.deliver_due(day_before).retrying == 1
    smtp_server.start()
    scheduling.cancel_activity(activity, reason="场地停电", now=day_before + timedelta(seconds=10))
    db.session.commit()
    dispatch.deliver_due(day_before + timedelta(minutes=2))
    assert statuses("reminder") == [OutboxStatus.cancelled]
    kinds = [m["Subject"] for m in smtp_server.parsed()]
    assert len(kinds) == 1 and "取消" in kinds[0]


def test_a_waitlisted_invitee_is_told_so_and_is_never_accepted(app, smtp_server):
    activity, (first, second) = setup(capacity=1)
    say(first, Answer.accepted)
    say(second, Answer.accepted)
    db.session.refresh(second)
    assert second.waitlisted_at is not None
    dispatch.deliver_due(NOW)
    smtp_server.messages.clear()
    later = START + timedelta(days=1)
    made_at = NOW + timedelta(hours=3)
    scheduling.reschedule_activity(activity, later, later + timedelta(hours=2), reason="改期", now=made_at)
    db.session.commit()
    sent_at = NOW + timedelta(hours=5)
    assert dispatch.deliver_due(sent_at).sent == 2
    mails = {str(m["To"]).split("<")[-1].rstrip(">"): (raw, m)
             for (_f, _t, raw), m in zip(smtp_server.messages, smtp_server.parsed(), strict=True)}
    waiting_raw, waiting = mails[second.person.email]
    text = waiting.get_body(("plain",)).get_content()
    html = waiting.get_body(("html",)).get_content()
    assert "候补" in text and "候补" in html
    event, parsed = calendar_of(waiting_raw, waiting)
    assert event["ATTENDEE"].params["PARTSTAT"] == "TENTATIVE"
    assert "候补" in str(event["DESCRIPTION"])
    assert parsed.vevent.attendee.params["PARTSTAT"] == ["TENTATIVE"]
    seated, _parsed = calendar_of(*mails[first.person.email])
    assert seated["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert "候补" not in mails[first.person.email][1].get_body(("plain",)).get_content()
    # An iTIP message is stamped when it is made (RFC 5545 §3.8.7.2); LAST-MODIFIED is the change.
    for calendar_event in (event, seated):
        assert calendar_event.decoded("DTSTAMP") == made_at
        assert calendar_event.decoded("LAST-MODIFIED") == last_changed(activity).replace(microsecond=0)
    assert db.session.get(Invitation, second.id).answer == Answer.accepted


def test_a_nudge_is_stamped_when_it_is_made_not_at_the_last_change(app, smtp_server):
    activity, (first, _second) = setup()
    dispatch.deliver_due(NOW)
    smtp_server.messages.clear()
    nudged_at = NOW + timedelta(days=2)
    assert invitations.nudge(first, nudged_at)
    db.session.commit()
    assert dispatch.deliver_due(nudged_at).sent == 1
    message = smtp_server.parsed()[0]
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    assert event.decoded("DTSTAMP") == nudged_at
    assert activity.updated_at < nudged_at  # a feed would show the last change instead
