"""The shared iCalendar builder (ICAL.md): stable, zoned, escaped, readable by two parsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import icalendar
import vobject

from app.events.models import ActivityStatus
from app.ical.builder import build_calendar, build_vevent
from tests import factories

STAMP = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TITLE = "减税, 退税; 政策\\宣讲 🎉\n第二行"


def make(**fields):
    theme = factories.theme(title="减税退税政策宣讲")
    activity = factories.activity(
        title=TITLE, agenda="一、解读；二、问答", theme=theme, updated_at=STAMP,
        created_at=STAMP - timedelta(days=1), **fields
    )
    # What the event shows (host, theme, venue) last changed before the activity itself.
    for related in (activity.host, activity.theme, activity.venue, activity.site):
        if related is not None:
            related.updated_at = STAMP - timedelta(days=1)
    return activity


def ics(activity, method="PUBLISH", **kwargs) -> bytes:
    event = build_vevent(activity, base_url="https://dj.example.gov.cn", method=method, **kwargs)
    return build_calendar([event], method=method).to_ical()


def test_same_activity_gives_the_same_bytes_with_stable_uid_and_stamp(app):
    activity = make()
    first = ics(activity)
    assert first == ics(activity)
    event = icalendar.Calendar.from_ical(first).walk("VEVENT")[0]
    assert event["UID"] == f"activity-{activity.id}@dj.example.gov.cn"
    assert event.decoded("DTSTAMP") == STAMP == event.decoded("LAST-MODIFIED")
    assert event["SEQUENCE"] == 0
    assert event["URL"] == f"https://dj.example.gov.cn/activities/{activity.id}"
    assert f"https://dj.example.gov.cn/activities/{activity.id}" in str(event["DESCRIPTION"])
    assert event["CATEGORIES"].cats == ["党建联盟沙龙", "减税退税政策宣讲"]


def test_times_are_zoned_with_a_narrow_vtimezone(app):
    activity = make()
    text = ics(activity).decode()
    assert "DTSTART;TZID=Asia/Shanghai:20260309T143000" in text
    assert "DTEND;TZID=Asia/Shanghai:20260309T163000" in text
    assert "BEGIN:VTIMEZONE" in text and "TZID:Asia/Shanghai" in text
    assert "1986" not in text and "DAYLIGHT" not in text and "UTC+08:00" not in text
    parsed = vobject.readOne(text)
    parsed.validate(raiseException=True)
    assert parsed.vevent.dtstart.value.astimezone(UTC) == activity.starts_at


def test_text_is_escaped_and_lines_are_folded_crlf(app):
    activity = make()
    raw = ics(activity, attendee=SimpleNamespace(name="王, 五", email="w@example.com"), method="REQUEST")
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 75 and b"\n" not in line for line in lines)
    for line in lines:
        line.decode()
    calendar = icalendar.Calendar.from_ical(raw)
    assert all(not c.errors for c in calendar.walk())
    event = calendar.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == TITLE
    assert vobject.readOne(raw.decode()).vevent.summary.value == TITLE
    assert b'CN="\xe7\x8e\x8b, \xe4\xba\x94"' in raw
    attendee = event["ATTENDEE"]
    assert (attendee.params["PARTSTAT"], attendee.params["RSVP"], attendee.params["ROLE"]) == (
        "NEEDS-ACTION", "TRUE", "REQ-PARTICIPANT")


def test_status_follows_the_activity(app):
    draft = make(status=ActivityStatus.draft)
    assert b"STATUS:TENTATIVE" in ics(draft)
    cancelled = factories.activity(status=ActivityStatus.cancelled)
    assert b"STATUS:CANCELLED" in ics(cancelled)
    published = factories.activity()
    assert b"STATUS:CONFIRMED" in ics(published)
    assert b"STATUS:CANCELLED" in ics(published, method="CANCEL")
    assert b"METHOD:CANCEL" in ics(published, method="CANCEL")


def test_organizer_is_the_sender_address_with_the_host_as_name(app):
    activity = make()
    saved = app.config["MAIL_DEFAULT_SENDER"]
    app.config["MAIL_DEFAULT_SENDER"] = "领航平台 <linghang@dj.example.gov.cn>"
    try:
        event = icalendar.Calendar.from_ical(ics(activity)).walk("VEVENT")[0]
    finally:
        app.config["MAIL_DEFAULT_SENDER"] = saved
    assert str(event["ORGANIZER"]) == "mailto:linghang@dj.example.gov.cn"
    assert event["ORGANIZER"].params["CN"] == activity.host.name
