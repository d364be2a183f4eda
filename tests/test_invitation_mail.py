"""Invitation, update and cancellation mails through a real SMTP server, parsed as clients would."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import vobject

from app.events.models import ActivityStatus
from app.events.signals import activity_cancelled, activity_updated
from app.extensions import db
from app.invitations import services
from app.invitations.models import Answer, AnswerChannel
from app.mail import dispatch
from app.orgs.models import OrgKind
from tests import factories
from tests.conftest import unavailable

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def setup_activity():
    host = factories.organisation(OrgKind.committee, name="产业链综合党委")
    venue = factories.venue(name="党群服务中心", directions="园区东门进，左转200米")
    activity = factories.activity(
        title="减税, 退税; 政策\\宣讲 🎉 第一期",
        agenda="一、政策解读\n二、企业提问；现场答疑",
        host=host,
        venue=venue,
        updated_at=NOW - timedelta(days=1),
        created_at=NOW - timedelta(days=2),
    )
    firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
    people = [
        factories.person(firm, name="王, 五", email="wangwu@example.com"),
        factories.person(firm, name="李四", email="lisi@example.com"),
    ]
    return activity, firm, people


ROOT = Path(__file__).resolve().parent.parent


def read_with_icaljs(text: str) -> dict:
    """What Mozilla's ical.js (Thunderbird) reads from the calendar object."""
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "ical.js").exists():
        unavailable("node and node_modules/ical.js are needed (make install)")
    result = subprocess.run(
        [node, str(ROOT / "tests" / "invitation_icaljs.mjs")],
        input=text, capture_output=True, text=True, timeout=30, cwd=ROOT, check=True,
    )
    return json.loads(result.stdout)


def recipient_of(message, people) -> str:
    return next(p.email for p in people if p.email in str(message["To"]))


def calendar_part(message):
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def check_calendar(message, recipient: str, method: str) -> icalendar.Event:
    """Everything a client checks: MIME method = METHOD, two parsers, CRLF, 75 octets, ATTENDEE."""
    part = calendar_part(message)
    assert part.get_param("method") == method
    assert part.get_content_charset() == "utf-8"
    raw = part.get_payload(decode=True)
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line and b"\r" not in line for line in lines)
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode("utf-8")  # folding never splits a character
    text = raw.decode("utf-8")
    # icalendar
    calendar = icalendar.Calendar.from_ical(text)
    assert calendar["METHOD"] == method
    assert all(not component.errors for component in calendar.walk())
    events = calendar.walk("VEVENT")
    assert len(events) == 1 and len(calendar.walk("VTIMEZONE")) == 1
    event = events[0]
    attendee = event["ATTENDEE"]
    assert not isinstance(attendee, list)  # exactly one
    assert str(attendee).lower() == f"mailto:{recipient}"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT" and attendee.params["RSVP"] == "TRUE"
    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert event["ORGANIZER"].params["CN"] == "产业链综合党委"
    assert event.decoded("DTSTART").tzinfo is not None
    # vobject, an independent parser (Radicale's)
    parsed = vobject.readOne(text)
    parsed.validate(raiseException=True)
    assert parsed.method.value == method
    assert parsed.vevent.uid.value == str(event["UID"])
    assert parsed.vevent.summary.value == str(event["SUMMARY"])
    assert parsed.vevent.dtstart.value.astimezone(UTC) == event.decoded("DTSTART").astimezone(UTC)
    assert parsed.vevent.attendee.value.lower() == f"mailto:{recipient}"
    # ical.js, a third parser (Thunderbird's)
    seen = read_with_icaljs(text)
    assert seen["method"] == method and len(seen["events"]) == 1
    js = seen["events"][0]
    assert js["uid"] == str(event["UID"]) and js["summary"] == str(event["SUMMARY"])
    assert js["sequence"] == event["SEQUENCE"] and js["status"] == str(event["STATUS"])
    assert js["zone"] == "Asia/Shanghai"
    start = event.decoded("DTSTART").astimezone(UTC)
    assert js["start"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert [a["value"].lower() for a in js["attendees"]] == [f"mailto:{recipient}"]
    assert js["attendees"][0]["cn"] == str(attendee.params["CN"])
    return event


def test_invitation_mail_is_a_valid_itip_request_for_each_recipient(app, smtp_server):
    activity, firm, people = setup_activity()
    services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=NOW)
    db.session.commit()
    report = dispatch.deliver_due(NOW)
    assert report.sent == 2
    received = {str(m["To"]): m for m in smtp_server.parsed()}
    assert len(received) == 2
    for _from, _to, raw in smtp_server.messages:
        assert b"\r\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\r\n" in raw
    for person in people:
        message = next(m for to, m in received.items() if person.email in to)
        assert message["Subject"] == f"活动邀请：{activity.title}"
        assert message.get_content_type() in ("multipart/alternative", "multipart/mixed")
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "/rsvp/" in text and "/rsvp/" in html and "园区东门进" in text
        link = next(word for word in text.split() if "/rsvp/" in word)
        token = link.rsplit("/", 1)[1]
        assert services.invitation_for_token(token, NOW).person_id == person.id
        event = check_calendar(message, person.email, "REQUEST")
        assert event["UID"] == f"activity-{activity.id}@linghang.test"
        assert event["SEQUENCE"] == 0
        assert event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"
        # Stamped when the message was made (RFC 5545 §3.8.7.2), not at the last change.
        assert event.decoded("DTSTAMP") == NOW != activity.updated_at
        assert link in str(event["DESCRIPTION"])
        assert str(event["SUMMARY"]) == activity.title
    # The comma in 王, 五 is quoted in the CN parameter.
    raw = next(r for _f, to, r in smtp_server.messages if "wangwu" in to[0])
    assert b"\r\n" in raw
    wang = calendar_part(received[next(k for k in received if "wangwu" in k)]).get_payload(decode=True)
    assert b'CN="\xe7\x8e\x8b, \xe4\xba\x94"' in wang


def test_update_carries_a_higher_sequence_and_cancel_uses_method_cancel(app, smtp_server):
    activity, firm, people = setup_activity()
    services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=NOW)
    invitation = next(i for i in services.non_responders(activity) if i.person_id == people[1].id)
    services.answer(invitation, reply=Answer.accepted, seats=2, names=None, note=None,
                    channel=AnswerChannel.link, now=NOW)
    db.session.commit()
    dispatch.deliver_due(NOW)
    first = {str(m["To"]): check_calendar(m, recipient_of(m, people), "REQUEST") for m in smtp_server.parsed()}
    smtp_server.messages.clear()

    # The scheduling service moves the activity and bumps the sequence, then signals.
    later = NOW + timedelta(hours=1)
    old_start = activity.starts_at
    activity.starts_at += timedelta(days=1)
    activity.ends_at += timedelta(days=1)
    activity.sequence += 1
    activity.updated_at = later
    activity_updated.send(activity, now=later, changes={"starts_at": [old_start, activity.starts_at]})
    db.session.commit()
    assert dispatch.deliver_due(later).sent == 2
    updates = smtp_server.parsed()
    for message in updates:
        recipient = recipient_of(message, people)
        assert message["Subject"].startswith("活动变更")
        event = check_calendar(message, recipient, "REQUEST")
        before = next(e for to, e in first.items() if recipient in to)
        assert event["UID"] == before["UID"]
        assert event["SEQUENCE"] > before["SEQUENCE"]
        assert event.decoded("DTSTART") - before.decoded("DTSTART") == timedelta(days=1)
        assert event.decoded("DTSTAMP") == later
        if recipient == people[1].email:
            assert event["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    smtp_server.messages.clear()

    cancelled_at = later + timedelta(hours=1)
    activity.status = ActivityStatus.cancelled
    activity.sequence += 1
    activity.updated_at = cancelled_at
    activity.status_reason = "场地检修"
    activity_cancelled.send(activity, now=cancelled_at, reason="场地检修")
    db.session.commit()
    assert dispatch.deliver_due(cancelled_at).sent == 2
    for _from, _to, raw in smtp_server.messages:
        assert b"\r\nContent-Type: text/calendar; charset=utf-8; method=CANCEL\r\n" in raw
    for message in smtp_server.parsed():
        recipient = recipient_of(message, people)
        assert message["Subject"].startswith("活动取消")
        event = check_calendar(message, recipient, "CANCEL")
        assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 2
        assert "/rsvp/" not in message.get_body(("plain",)).get_content()
        assert "场地检修" in message.get_body(("plain",)).get_content()


def test_update_signal_for_a_draft_sends_nothing(app, smtp_server):
    activity, firm, _people = setup_activity()
    activity.status = ActivityStatus.draft
    services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=NOW)
    activity_updated.send(activity, now=NOW, changes={})
    db.session.commit()
    assert dispatch.deliver_due(NOW).claimed == 0


def test_nothing_is_lost_while_smtp_is_down(app, smtp_server):
    activity, firm, people = setup_activity()
    extra = [factories.person(firm, email=f"c{i}@example.com") for i in range(3)]
    smtp_server.stop()
    services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=NOW)
    db.session.commit()
    report = dispatch.deliver_due(NOW)
    assert (report.sent, report.retrying) == (0, 5)
    smtp_server.start()
    report = dispatch.deliver_due(NOW + timedelta(minutes=2))
    assert report.sent == 5
    assert dispatch.deliver_due(NOW + timedelta(days=1)).claimed == 0
    recipients = sorted(to[0] for _f, to, _r in smtp_server.messages)
    assert recipients == sorted(p.email for p in people + extra)
    ids = [m["Message-ID"] for m in smtp_server.parsed()]
    assert len(set(ids)) == 5


def test_the_organiser_sees_mails_that_were_given_up(app, smtp_server, client, login_as):
    import time_machine

    activity, firm, people = setup_activity()
    services.invite(activity, services.Selection(person_ids=[people[0].id]), now=NOW)
    db.session.commit()
    smtp_server.stop()
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    try:
        dispatch.deliver_due(NOW)
    finally:
        app.config["MAIL_MAX_ATTEMPTS"] = 8
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        page = client.get(f"/activities/{activity.id}/invitations").get_data(as_text=True)
    assert 'id="mail-problems"' in page and people[0].email in page and "重新发送" in page




def test_the_scheduling_services_drive_invitation_update_and_cancellation(app, smtp_server):
    from app.events import services as scheduling

    activity, firm, people = setup_activity()
    activity.status = ActivityStatus.draft
    services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=NOW)
    db.session.commit()
    assert dispatch.deliver_due(NOW).claimed == 0  # a draft sends nothing yet

    scheduling.publish_activity(activity, now=NOW)
    db.session.commit()
    assert dispatch.deliver_due(NOW).sent == 2
    invited = {recipient_of(m, people): check_calendar(m, recipient_of(m, people), "REQUEST")
               for m in smtp_server.parsed()}
    smtp_server.messages.clear()

    moved = NOW + timedelta(hours=1)
    scheduling.reschedule_activity(
        activity, activity.starts_at + timedelta(days=2), activity.ends_at + timedelta(days=2),
        reason="与区里会议冲突", now=moved,
    )
    db.session.commit()
    assert dispatch.deliver_due(moved).sent == 2
    for message in smtp_server.parsed():
        recipient = recipient_of(message, people)
        event = check_calendar(message, recipient, "REQUEST")
        assert event["SEQUENCE"] > invited[recipient]["SEQUENCE"]
        assert event.decoded("DTSTART") == activity.starts_at
        body = message.get_body(("plain",)).get_content()
        assert "原定时间：2026年3月9日 周一 14:30–16:30" in body
        assert "时间：2026年3月11日 周三 14:30–16:30" in body
    smtp_server.messages.clear()

    cancelled = moved + timedelta(hours=1)
    scheduling.cancel_activity(activity, reason="台风预警", now=cancelled)
    db.session.commit()
    assert dispatch.deliver_due(cancelled).sent == 2
    for message in smtp_server.parsed():
        event = check_calendar(message, recipient_of(message, people), "CANCEL")
        assert event["SEQUENCE"] == 2 and "台风预警" in message.get_body(("plain",)).get_content()
