"""Invitations, scheduling and reminders working together: real SMTP, an injected clock, both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import time_machine
import vobject
from sqlalchemy import func, select

from app.core import offsets
from app.events import services as scheduling
from app.events.models import ActivityStatus
from app.extensions import db
from app.invitations import services as invitations
from app.invitations.models import Answer, AnswerChannel, Invitation, InvitationToken
from app.mail import dispatch
from app.mail.channels import EmailSender
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.notices import notices_of
from app.orgs.models import OrgKind
from app.reminders import planning, sweep
from app.reminders.models import Reminder, ReminderKind, ReminderStatus
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
START = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # 14:30 in Beijing
DAY_BEFORE = START - timedelta(days=1)
NUDGE_AT = START - timedelta(days=3)  # default deadline two days before, nudge a day earlier


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def pending(invitation: Invitation) -> list[tuple[str, datetime]]:
    rows = db.session.scalars(
        select(Reminder)
        .where(Reminder.subject_id == invitation.id, Reminder.status == ReminderStatus.pending)
        .order_by(Reminder.due_at)
    )
    return [(r.kind.value if hasattr(r.kind, "value") else r.kind, r.due_at) for r in rows]


UPCOMING = [
    (ReminderKind.activity_upcoming.value, START - timedelta(days=1)),
    (ReminderKind.activity_upcoming.value, START - timedelta(hours=2)),
]
NUDGE = [(ReminderKind.answer_nudge.value, NUDGE_AT)]


def setup(status: ActivityStatus = ActivityStatus.published, capacity: int | None = None, people: int = 2):
    host = factories.organisation(OrgKind.committee, name="产业链综合党委")
    activity = factories.activity(
        title="减税降费政策沙龙", starts_at=START, host=host, status=status, capacity=capacity,
        venue=factories.venue(name="党群服务中心"),
        created_at=NOW - timedelta(days=2), updated_at=NOW - timedelta(days=1),
    )
    firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
    contacts = [factories.person(firm, email=f"c{i}@example.com") for i in range(people)]
    invitations.invite(activity, invitations.Selection(organisation_ids=[firm.id]), now=NOW)
    db.session.commit()
    found = {i.person_id: i for i in db.session.scalars(select(Invitation).where(Invitation.activity_id == activity.id))}
    return activity, [found[p.id] for p in contacts]


def say(invitation: Invitation, reply: Answer, now: datetime = NOW, seats: int | None = 1,
        channel: AnswerChannel = AnswerChannel.link) -> None:
    invitations.answer(invitation, reply=reply, seats=seats if reply == Answer.accepted else None,
                       names=None, note=None, channel=channel, now=now)
    db.session.commit()


def link_in(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://linghang\.test/rsvp/([A-Za-z0-9_\-]+)", text).group(1)


# -- 1. invitations call the planners ---------------------------------------------

def test_invited_contacts_are_nudged_and_answers_replan(app):
    _activity, (first, second) = setup()
    assert pending(first) == NUDGE and pending(second) == NUDGE
    say(first, Answer.accepted)
    assert pending(first) == UPCOMING and pending(second) == NUDGE
    say(first, Answer.declined, now=NOW + timedelta(hours=1))
    assert pending(first) == []  # declining stops that contact's reminders
    say(second, Answer.tentative)
    assert pending(second) == []


def test_publishing_a_draft_with_invitees_plans_their_reminders(app, smtp_server):
    activity, (first, _second) = setup(status=ActivityStatus.draft)
    assert count(Reminder) == 0
    scheduling.publish_activity(activity, now=NOW)
    db.session.commit()
    assert pending(first) == NUDGE and count(Reminder) == 2
    assert dispatch.deliver_due(NOW).sent == 2  # the invitations themselves


def test_answers_by_link_and_recorded_by_the_organiser_replan(app, client, login_as):
    activity, (first, second) = setup()
    token = invitations.issue_token(first, NOW)
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        assert client.post(f"/rsvp/{token}", data={"answer": "accepted", "seats": "1"}).status_code == 302
        assert pending(first) == UPCOMING
        client.post(f"/rsvp/{token}", data={"answer": "declined"})
        assert pending(first) == []
        login_as("organiser")
        response = client.post(
            f"/activities/{activity.id}/invitations/{second.id}/answer",
            data={"answer": "accepted", "seats": "2", "channel": "phone"},
        )
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Invitation, second.id).channel == AnswerChannel.phone
    assert pending(second) == UPCOMING


def test_waiting_list_gets_reminders_only_once_promoted(app):
    _activity, (first, second) = setup(capacity=1)
    say(first, Answer.accepted)
    say(second, Answer.accepted)
    db.session.refresh(second)
    assert second.waitlisted_at is not None and pending(second) == []
    say(first, Answer.declined, now=NOW + timedelta(hours=1))
    db.session.refresh(second)
    assert second.waitlisted_at is None and pending(second) == UPCOMING and pending(first) == []


def test_walk_ins_get_no_reminders(app):
    activity, _invitations = setup()
    firm_id = _invitations[0].organisation_id
    walk_in = invitations.add_walk_in(activity, organisation_id=firm_id, name="赵六", phone=None, count=1,
                                      now=START + timedelta(minutes=5))
    walk_in.person.email = "walkin@example.com"
    planning.plan_for_activity(activity, START - timedelta(days=5))
    db.session.commit()
    assert pending(walk_in) == []


# -- 2. a real answer link, built once ----------------------------------------------

def test_the_reminder_carries_a_working_answer_link(app, client, smtp_server):
    (first,) = setup(people=1)[1]
    say(first, Answer.accepted)
    dispatch.deliver_due(NOW)  # the invitation
    smtp_server.messages.clear()
    tokens = count(InvitationToken)
    sweep.sweep(DAY_BEFORE)
    assert dispatch.deliver_due(DAY_BEFORE).sent == 1
    mail = smtp_server.parsed()[0]
    token = link_in(mail)
    assert count(InvitationToken) == tokens + 1
    # Only the hash is stored.
    stored = set(db.session.scalars(select(InvitationToken.token_hash)))
    assert token not in stored and invitations.hash_token(token) in stored
    with time_machine.travel(DAY_BEFORE, tick=False):
        page = client.get(f"/rsvp/{token}")
        assert page.status_code == 200
        client.post(f"/rsvp/{token}", data={"answer": "declined"})
    db.session.expire_all()
    assert db.session.get(Invitation, first.id).answer == Answer.declined
    assert pending(first) == []  # the two-hour reminder is stopped


def test_a_failed_delivery_keeps_the_built_mail_and_its_link(app, client, smtp_server):
    (first,) = setup(people=1)[1]
    say(first, Answer.accepted)
    dispatch.deliver_due(NOW)  # the invitation
    smtp_server.messages.clear()
    sweep.sweep(DAY_BEFORE)
    smtp_server.stop()
    report = dispatch.deliver_due(DAY_BEFORE)
    assert (report.sent, report.retrying) == (0, 1)
    db.session.expire_all()
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
    built, tokens = row.raw, count(InvitationToken)
    assert built and row.status == OutboxStatus.retrying
    smtp_server.start()
    assert dispatch.deliver_due(DAY_BEFORE + timedelta(minutes=2)).sent == 1
    assert count(InvitationToken) == tokens  # not built again
    received = smtp_server.messages[0][2]
    assert received.replace(b"\r\n", b"\n").strip() == built.replace(b"\r\n", b"\n").strip()
    token = link_in(smtp_server.parsed()[0])
    with time_machine.travel(DAY_BEFORE, tick=False):
        assert client.get(f"/rsvp/{token}").status_code == 200


def test_a_crash_after_building_sends_the_same_body_again(app, smtp_server, monkeypatch):
    (first,) = setup(people=1)[1]
    say(first, Answer.accepted)
    dispatch.deliver_due(NOW)  # the invitation
    smtp_server.messages.clear()
    sweep.sweep(DAY_BEFORE)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies during the SMTP exchange

    monkeypatch.setattr(EmailSender, "_connect", crash)
    try:
        dispatch.deliver_due(DAY_BEFORE)
    except KeyboardInterrupt:
        db.session.rollback()
    monkeypatch.undo()
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
    built = row.raw
    assert built  # committed before the exchange, with its token
    tokens = count(InvitationToken)
    # After the lease, the message is taken over and sent with the same bytes.
    assert dispatch.deliver_due(DAY_BEFORE + timedelta(minutes=6)).sent == 1
    assert count(InvitationToken) == tokens
    assert smtp_server.messages[0][2].replace(b"\r\n", b"\n").strip() == built.replace(b"\r\n", b"\n").strip()


# -- 3. the shared iCalendar builder ------------------------------------------------

def calendar_of(raw: bytes, message):
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert b"Content-Type: text/calendar; charset=utf-8; method=REQUEST" in raw
    body = part.get_payload(decode=True)
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "REQUEST" and not any(c.errors for c in calendar.walk())
    parsed = vobject.readOne(body.decode())
    parsed.validate(raiseException=True)
    assert parsed.method.value == "REQUEST"
    return calendar.walk("VEVENT")[0], parsed


def test_reminder_calendars_come_from_the_shared_builder(app, smtp_server):
    activity, (first, second) = setup()
    activity.sequence = 2
    say(first, Answer.accepted)
    sweep.sweep(NUDGE_AT)
    dispatch.deliver_due(NUDGE_AT)
    sweep.sweep(DAY_BEFORE)
    dispatch.deliver_due(DAY_BEFORE)
    mails = {str(m["To"]).split("<")[-1].rstrip(">"): (raw, m)
             for (_f, _t, raw), m in zip(smtp_server.messages, smtp_server.parsed(), strict=True)}
    assert set(mails) == {first.person.email, second.person.email}
    for invitation, partstat in ((first, "ACCEPTED"), (second, "NEEDS-ACTION")):
        event, parsed = calendar_of(*mails[invitation.person.email])
        attendee = event["ATTENDEE"]
        assert str(attendee).lower() == f"mailto:{invitation.person.email}"
        assert attendee.params["PARTSTAT"] == partstat and attendee.params["RSVP"] == "TRUE"
        assert attendee.params["CN"] == invitation.person.name and attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert event["ORGANIZER"].params["CN"] == "产业链综合党委"
        assert int(event["SEQUENCE"]) == 2 and str(event["UID"]) == f"activity-{activity.id}@linghang.test"
        assert str(event["STATUS"]) == "CONFIRMED" and "/rsvp/" in str(event["DESCRIPTION"])
        assert parsed.vevent.dtstart.value.astimezone(UTC) == START
    import app.reminders.emails as emails

    assert not hasattr(emails, "build_request_calendar")


# -- 4. and 6. cancelling and rescheduling, end to end --------------------------------

def test_cancelling_withdraws_reminders_but_sends_the_cancel_mails(app, smtp_server):
    activity, (first, second) = setup()
    say(first, Answer.accepted)
    dispatch.deliver_due(NOW)  # the invitations
    smtp_server.messages.clear()
    sweep.sweep(NUDGE_AT)  # second's nudge is queued, not sent yet
    assert count(OutboxMessage, OutboxMessage.kind == "reminder", OutboxMessage.status == OutboxStatus.queued) == 1
    scheduling.cancel_activity(activity, reason="台风预警", now=NUDGE_AT)
    db.session.commit()
    report = dispatch.deliver_due(NUDGE_AT)
    assert report.sent == 2
    kinds = set(db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.status == OutboxStatus.sent)))
    assert "invitation.cancellation" in kinds
    assert count(OutboxMessage, OutboxMessage.kind == "reminder", OutboxMessage.status == OutboxStatus.sent) == 0
    for message in smtp_server.parsed():
        methods = [p.get_param("method") for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert methods == ["CANCEL"]
    assert count(Reminder, Reminder.status == ReminderStatus.pending) == 0
    assert sweep.sweep(DAY_BEFORE).queued == 0


def test_the_suppressor_never_withdraws_a_queued_cancellation(app, smtp_server):
    activity, (first, _second) = setup()
    dispatch.deliver_due(NOW)
    smtp_server.messages.clear()
    scheduling.cancel_activity(activity, reason="台风预警", now=NOW)
    db.session.commit()
    rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation.cancellation")))
    assert len(rows) == 2
    assert not any(check(row, NOW) for row in rows for check in notices_of(app).send_time_checks)
    assert dispatch.deliver_due(NOW).sent == 2


def test_rescheduling_replans_and_the_reminder_shows_the_new_time(app, smtp_server):
    activity, (first,) = setup(people=1)
    say(first, Answer.accepted)
    later = START + timedelta(days=2)
    scheduling.reschedule_activity(activity, later, later + timedelta(hours=2), reason="与区里会议冲突",
                                   now=NOW + timedelta(hours=1))
    db.session.commit()
    assert pending(first) == [(k, due + timedelta(days=2)) for k, due in UPCOMING]
    dispatch.deliver_due(NOW + timedelta(hours=1))  # invitations and updates
    smtp_server.messages.clear()
    assert sweep.sweep(DAY_BEFORE).queued == 0  # the old time sends nothing
    sweep.sweep(later - timedelta(days=1))
    assert dispatch.deliver_due(later - timedelta(days=1)).sent == 1
    raw, message = smtp_server.messages[0][2], smtp_server.parsed()[0]
    event, _parsed = calendar_of(raw, message)
    assert int(event["SEQUENCE"]) == 1 and event.decoded("DTSTART").astimezone(UTC) == later


# -- 5. per-activity offsets and answer deadline in the activity form --------------------

def edit_form(activity, **overrides) -> dict:
    values = {
        "kind": activity.kind.value, "visit_kind": "", "title": activity.title,
        "starts_at": "2026-03-09T14:30", "ends_at": "2026-03-09T16:30", "theme_id": "0",
        "host_id": str(activity.host_id), "alliance_id": "0", "venue_id": str(activity.venue_id),
        "site_id": "0", "location_note": "", "capacity": "", "agenda": "", "description": "",
        "rrule": "", "exception_days": "", "scope": "this", "override_reason": "", "action": "save",
        "reminder_offsets": "", "answer_deadline": "",
    }
    values.update(overrides)
    return values


def test_the_activity_form_sets_offsets_and_deadline_and_replans(app, client, login_as):
    activity, (first, second) = setup()
    say(first, Answer.accepted)
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        page = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
        assert 'name="reminder_offsets"' in page and 'name="answer_deadline"' in page
        response = client.post(
            f"/activities/{activity.id}/edit",
            data=edit_form(activity, reminder_offsets="30m, 1d", answer_deadline="2026-03-05T18:00"),
        )
        assert response.status_code == 302
        db.session.expire_all()
        activity = db.session.get(type(activity), activity.id)
        assert activity.reminder_offsets == "1440,30"
        assert activity.answer_deadline == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
        assert activity.sequence == 0  # nothing the invitees see changed
        assert pending(first) == [
            (ReminderKind.activity_upcoming.value, START - timedelta(days=1)),
            (ReminderKind.activity_upcoming.value, START - timedelta(minutes=30)),
        ]
        assert pending(second) == [(ReminderKind.answer_nudge.value, datetime(2026, 3, 4, 10, 0, tzinfo=UTC))]
        assert count(OutboxMessage, OutboxMessage.kind == "invitation.update") == 0
        page = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
        assert 'value="1d, 30m"' in page and 'value="2026-03-05T18:00"' in page
        page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
        assert 'id="answer-deadline"' in page and "18:00" in page


def test_bad_offsets_and_a_late_deadline_are_refused(app, client, login_as):
    from app.audit.models import AuditEntry

    activity, (first, _second) = setup()
    say(first, Answer.accepted)
    before, audits = pending(first), count(AuditEntry)
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        page = client.post(f"/activities/{activity.id}/edit", data=edit_form(activity, reminder_offsets="两小时"))
        assert page.status_code == 200 and "1d, 2h, 30m" in page.get_data(as_text=True)
        assert "请" in page.get_data(as_text=True)
        page = client.post(f"/activities/{activity.id}/edit",
                           data=edit_form(activity, reminder_offsets="70d"))
        assert page.status_code == 200
        page = client.post(f"/activities/{activity.id}/edit",
                           data=edit_form(activity, answer_deadline="2026-03-09T15:00"))
        assert page.status_code == 200 and "回复截止时间须早于开始时间" in page.get_data(as_text=True)
    db.session.expire_all()
    activity = db.session.get(type(activity), activity.id)
    assert (activity.reminder_offsets, activity.answer_deadline) == (None, None)
    assert pending(first) == before and count(AuditEntry) == audits


def test_offsets_read_durations_and_minutes(app):
    assert offsets.parse_offsets("1d, 2h，30m") == [1440, 120, 30]
    assert offsets.parse_offsets("90, 1天, 2小时") == [1440, 120, 90]
    assert offsets.format_offsets("1440,120,90") == "1d, 2h, 90m"
    for bad in ("soon", "0", "-5m", "61d", "1w"):
        try:
            offsets.parse_offsets(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_rescheduling_moves_the_answer_deadline_along(app):
    activity, (_first, second) = setup()
    activity.answer_deadline = START - timedelta(days=3)
    planning.plan_for_activity(activity, NOW)
    later = START + timedelta(days=2)
    scheduling.reschedule_activity(activity, later, later + timedelta(hours=2), reason=None, now=NOW)
    db.session.commit()
    assert activity.answer_deadline == later - timedelta(days=3)
    assert pending(second) == [(ReminderKind.answer_nudge.value, later - timedelta(days=4))]


def test_a_series_keeps_the_answer_deadline_relative_to_each_occurrence(app):
    from app.events.models import ActivityKind
    from app.events.series import create_series
    from app.events.services import ActivityInput

    host = factories.organisation(OrgKind.committee)
    data = ActivityInput(
        kind=ActivityKind.salon, title="每周沙龙", host_id=host.id, starts_at=START, ends_at=START + timedelta(hours=2),
        venue_id=factories.venue().id, reminder_offsets="1d, 3h", answer_deadline=START - timedelta(days=2),
    )
    _series, results = create_series(data, "FREQ=WEEKLY;COUNT=3", now=NOW)
    db.session.commit()
    rows = [r.activity for r in results]
    assert [a.starts_at - a.answer_deadline for a in rows] == [timedelta(days=2)] * 3
    assert {a.reminder_offsets for a in rows} == {"1440,180"}
