"""Control characters typed into titles, agendas, places and names never reach a feed or a mail header."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import SMTP

import icalendar
from sqlalchemy import func, select

from app.core.clock import utcnow
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.models import Invitation
from app.mail import dispatch
from app.mail.models import OutboxMessage, OutboxStatus
from app.orgs.models import OrgKind
from tests import factories
from tests.icalcheck import read_all, read_ha_ical

# No NUL: PostgreSQL cannot store it (forms refuse it, see test_inputs.py).
HOSTILE = "\x0b\x0c\x1b[31m\x7f\x85\u2028\r\n"
# What RFC 5545 forbids in a calendar (TAB, and CRLF as the line end, are allowed).
FORBIDDEN = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]")


def legacy_activity():
    """Rows typed before the input layer existed, or through an import: control characters in every text."""
    host = factories.organisation(OrgKind.committee, name=f"综合{HOSTILE}党委")
    venue = factories.venue(name=f"党群{HOSTILE}中心")
    venue.address = f"园区{HOSTILE}东门"
    return factories.activity(
        title=f"减税{HOSTILE}沙龙", agenda=f"一、政策{HOSTILE}二、答疑", description=f"说明{HOSTILE}",
        location_note=f"三楼{HOSTILE}", host=host, venue=venue,
        starts_at=utcnow().replace(microsecond=0) + timedelta(days=3),
    )


def test_a_feed_with_control_characters_in_every_text_parses_everywhere(app, client):
    activity = legacy_activity()
    db.session.commit()
    body = client.get("/feeds/public.ics").data
    assert not FORBIDDEN.search(body), FORBIDDEN.search(body)
    (events,) = read_all([body])  # icalendar, vobject, Home Assistant's ical and ical.js agree
    (event,) = events
    assert event["summary"].startswith("减税") and event["summary"].endswith("沙龙")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", event["summary"])
    single = client.get(f"/activities/{activity.id}.ics")
    assert single.status_code == 302 or not FORBIDDEN.search(single.data)


def _messages(smtp_server) -> list:
    return [message_from_bytes(raw, policy=SMTP) for _from, _to, raw in smtp_server.messages]


def _assert_clean(message) -> None:
    for name, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value), (name, value)
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", str(value)), (name, value)
    # The injection attempt stays inside the quoted display name: one recipient, no Bcc header.
    assert "Bcc" not in message and len(message["To"].addresses) == 1
    assert message["To"].addresses[0].addr_spec != "evil@example.com"
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            raw = part.get_payload(decode=True)
            assert not FORBIDDEN.search(raw)
            for component in icalendar.Calendar.from_ical(raw).walk():
                assert not component.errors
            assert read_ha_ical(raw)


def test_publish_invite_and_reschedule_with_control_characters(app, client, login_as, smtp_server):
    login_as("organiser")
    committee = factories.organisation(OrgKind.committee)
    venue = factories.venue()
    firms = [factories.organisation(OrgKind.enterprise, name=f"企业{n}") for n in range(3)]
    # One contact's name carries a line break and a header injection attempt (from an import).
    factories.person(firms[0], name="张\r\nBcc: evil@example.com", email="zhang@example.com")
    factories.person(firms[1], name=f"李{HOSTILE}四", email="li@example.com")
    factories.person(firms[2], name="王, 五", email="wang@example.com")
    db.session.commit()
    start = (utcnow() + timedelta(days=10)).astimezone(UTC).replace(tzinfo=None)
    response = client.post("/activities/new", data={
        "kind": "salon", "title": f"链上{HOSTILE}沙龙", "agenda": "一、分享\x0b二、交流\x0c",
        "starts_at": start.strftime("%Y-%m-%dT10:00"), "ends_at": start.strftime("%Y-%m-%dT12:00"),
        "host_id": str(committee.id), "venue_id": str(venue.id), "capacity": "30", "action": "save",
        "theme_id": "0", "alliance_id": "0", "site_id": "0", "scope": "this",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    activity = db.session.scalar(select(Activity))
    assert " ".join(activity.title.split()) == "链上 [31m 沙龙" and activity.agenda == "一、分享\n二、交流"
    assert client.post(f"/activities/{activity.id}/publish").status_code == 302
    assert db.session.get(Activity, activity.id).status == ActivityStatus.published
    # A bulk invitation of every enterprise, one of whose contacts has CR/LF in the name.
    response = client.post(f"/activities/{activity.id}/invitations", data={"organisations": [str(f.id) for f in firms]})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Invitation.id))) == 3
    # An old title with a line break (typed before the input layer) must not break the Subject.
    db.session.get(Activity, activity.id).title = "旧标题\r\n第二行\x1b"
    db.session.commit()
    sequence = db.session.get(Activity, activity.id).sequence
    moved = start + timedelta(days=1)
    refused = client.post(f"/activities/{activity.id}/reschedule", data={
        "starts_at": moved.strftime("%Y-%m-%dT14:00"), "ends_at": moved.strftime("%Y-%m-%dT16:00"), "reason": "改期\x00",
    })
    assert refused.status_code in (200, 422) and "空字符" in refused.get_data(as_text=True)
    assert db.session.get(Activity, activity.id).sequence == sequence
    response = client.post(f"/activities/{activity.id}/reschedule", data={
        "starts_at": moved.strftime("%Y-%m-%dT14:00"), "ends_at": moved.strftime("%Y-%m-%dT16:00"), "reason": f"改期{HOSTILE}",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    report = dispatch.deliver_due(utcnow() + timedelta(minutes=1))
    assert report.failed == 0 and report.errors == []
    messages = _messages(smtp_server)
    assert len(messages) >= 6  # three invitations, three updates
    for message in messages:
        _assert_clean(message)
    assert all(row.status == OutboxStatus.sent for row in db.session.scalars(select(OutboxMessage)))


def test_an_invitation_subject_and_name_are_one_clean_line(app, smtp_server):
    from app.invitations import services

    activity = legacy_activity()
    firm = factories.organisation(OrgKind.enterprise)
    factories.person(firm, name=f"赵{HOSTILE}六", email="zhao@example.com")
    now = datetime.now(UTC)
    services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=now)
    db.session.commit()
    assert dispatch.deliver_due(now + timedelta(minutes=1)).sent == 1
    (message,) = _messages(smtp_server)
    _assert_clean(message)
    assert "赵" in str(message["To"]) and "六" in str(message["To"]) and "zhao@example.com" in str(message["To"])
    assert "减税" in str(message["Subject"]) and "沙龙" in str(message["Subject"])
