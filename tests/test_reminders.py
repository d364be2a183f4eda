"""Reminders: planned as rows, swept into the outbox by an injected clock, never lost or doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import vobject
from sqlalchemy import func, select

from app.core.offsets import check_offsets
from app.events.models import ActivityStatus
from app.events.signals import activity_cancelled, activity_updated
from app.extensions import db
from app.invitations.models import Answer
from app.mail import dispatch
from app.mail.models import OutboxMessage, OutboxStatus
from app.orgs.models import OrgKind
from app.reminders import planning, sweep
from app.reminders.models import Reminder, ReminderKind, ReminderStatus
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
START = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # 14:30 in Beijing
DAY_BEFORE = START - timedelta(days=1)
TWO_HOURS_BEFORE = START - timedelta(hours=2)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def reminders(*where) -> list[Reminder]:
    return list(db.session.scalars(select(Reminder).where(*where).order_by(Reminder.due_at, Reminder.id)))


def accepted(title: str = "减税降费政策沙龙", start: datetime = START, now: datetime = NOW, **activity_fields):
    activity = factories.activity(
        title=title, venue=factories.venue(name="党群服务中心"), starts_at=start, **activity_fields
    )
    invitation = factories.answered_invitation(activity, answer="accepted")
    planning.on_answer_changed(invitation, now)
    db.session.commit()
    return activity, invitation


def sweep_and_send(moment: datetime):
    swept = sweep.sweep(moment)
    delivered = dispatch.deliver_due(moment)
    return swept, delivered


# -- planning ------------------------------------------------------------------

def test_accepted_invitee_is_reminded_a_day_and_two_hours_before(app):
    _activity, invitation = accepted()
    rows = reminders()
    assert [(r.kind, r.due_at, r.status) for r in rows] == [
        (ReminderKind.activity_upcoming, DAY_BEFORE, ReminderStatus.pending),
        (ReminderKind.activity_upcoming, TWO_HOURS_BEFORE, ReminderStatus.pending),
    ]
    assert rows[0].email == invitation.person.email and rows[0].due_at.tzinfo is not None
    planning.on_answer_changed(invitation, NOW)  # planning again adds nothing
    db.session.commit()
    assert count(Reminder) == 2


def test_offsets_per_organisation_and_per_activity(app):
    host = factories.organisation(OrgKind.committee, reminder_offsets="60")
    activity, _invitation = accepted(host=host)
    assert [r.due_at for r in reminders()] == [START - timedelta(minutes=60)]
    activity.reminder_offsets = "2880,30"
    activity_updated.send(activity, now=NOW, changes={"reminder_offsets": [None, "2880,30"]})
    db.session.commit()
    assert [r.due_at for r in reminders(Reminder.status == ReminderStatus.pending)] == [
        START - timedelta(days=2),
        START - timedelta(minutes=30),
    ]


def test_offsets_are_checked_with_a_translated_message(app):
    assert check_offsets(" 120，1440 ") == "1440,120"
    from app.core.errors import ValidationFailed

    with app.test_request_context(), pytest.raises(ValidationFailed) as failure:
        check_offsets("tomorrow")
    assert "1d, 2h, 30m" in str(failure.value.message)


def test_non_responder_is_nudged_before_the_answer_deadline(app):
    activity = factories.activity(starts_at=START)
    silent = factories.answered_invitation(activity, answer="pending")
    planning.plan_for_activity(activity, NOW)
    # No deadline: two days before the start; the nudge goes a day before that.
    assert [(r.kind, r.due_at) for r in reminders()] == [
        (ReminderKind.answer_nudge, START - timedelta(days=3))
    ]
    activity.answer_deadline = START - timedelta(days=4)
    planning.plan_for_activity(activity, NOW)
    assert [r.due_at for r in reminders(Reminder.status == ReminderStatus.pending)] == [
        START - timedelta(days=5)
    ]
    # Answering replaces the nudge by the reminders before the activity.
    silent.answer = Answer.accepted
    planning.on_answer_changed(silent, NOW)
    db.session.commit()
    assert [r.kind for r in reminders(Reminder.status == ReminderStatus.pending)] == [
        ReminderKind.activity_upcoming,
        ReminderKind.activity_upcoming,
    ]


def test_drafts_and_people_without_email_get_nothing(app):
    draft = factories.activity(starts_at=START, status=ActivityStatus.draft)
    factories.answered_invitation(draft)
    published = factories.activity(starts_at=START)
    factories.answered_invitation(published, person=factories.person(email=""))
    planning.plan_for_activity(draft, NOW)
    planning.plan_for_activity(published, NOW)
    assert count(Reminder) == 0


# -- the sweep -------------------------------------------------------------------

def test_due_and_not_yet_due(app, smtp_server):
    activity, invitation = accepted()
    swept, delivered = sweep_and_send(DAY_BEFORE - timedelta(seconds=1))
    assert (swept.claimed, delivered.claimed) == (0, 0)
    swept, delivered = sweep_and_send(DAY_BEFORE)
    assert (swept.claimed, swept.queued, delivered.sent) == (1, 1, 1)
    first, second = reminders()
    assert first.status == ReminderStatus.done and first.outbox_message_id is not None
    assert second.status == ReminderStatus.pending
    mail = smtp_server.parsed()[0]
    outbox = db.session.get(OutboxMessage, first.outbox_message_id)
    assert mail["Message-ID"] == outbox.message_id == f"<reminder-{first.id}@linghang.test>"
    assert "减税降费政策沙龙" in mail["Subject"] and "活动提醒" in mail["Subject"]
    assert smtp_server.messages[0][1] == [invitation.person.email]
    text = mail.get_body(("plain",)).get_content()
    assert "2026年3月9日" in text and "14:30" in text and "党群服务中心" in text
    assert f"http://linghang.test/activities/{activity.id}" in text
    assert outbox.subject == str(mail["Subject"])


def test_the_mail_carries_an_icalendar_request_with_the_current_sequence(app, smtp_server):
    activity, invitation = accepted(title="圆桌会；议题, 一")
    activity.sequence = 3
    db.session.commit()
    sweep_and_send(DAY_BEFORE)
    raw = smtp_server.messages[0][2]
    mail = smtp_server.parsed()[0]
    part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST" and part.get_content_charset() == "utf-8"
    body = part.get_payload(decode=True)
    assert b"\r\n" in raw and all(b"\n" not in line for line in body.split(b"\r\n"))
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert not calendar.errors and not event.errors
    assert str(event["UID"]) == f"activity-{activity.id}@linghang.test"
    assert int(event["SEQUENCE"]) == 3
    assert event.decoded("DTSTART").astimezone(UTC) == START
    assert str(event["SUMMARY"]) == "圆桌会；议题, 一"
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Asia/Shanghai"
    attendee = event["ATTENDEE"]
    assert str(attendee).lower() == f"mailto:{invitation.person.email}"
    assert attendee.params["PARTSTAT"] == "ACCEPTED" and attendee.params["RSVP"] == "TRUE"
    assert attendee.params["CN"] == invitation.person.name and attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert "ORGANIZER" in event
    parsed = vobject.readOne(body.decode())
    parsed.validate(raiseException=True)
    assert parsed.vevent.summary.value == "圆桌会；议题, 一"
    assert parsed.vevent.dtstart.value.astimezone(UTC) == START


def test_a_double_sweep_sends_nothing_twice(app, smtp_server):
    accepted()
    for _ in range(2):
        sweep_and_send(DAY_BEFORE)
    assert sweep.sweep(DAY_BEFORE + timedelta(minutes=1)).claimed == 0
    sweep_and_send(START - timedelta(minutes=1))
    sweep_and_send(START - timedelta(minutes=1))
    assert count(OutboxMessage) == 2
    ids = [m["Message-ID"] for m in smtp_server.parsed()]
    assert len(ids) == 2 and len(set(ids)) == 2


def test_a_scheduler_down_for_an_hour_sends_what_fell_due_once(app, smtp_server):
    activity = factories.activity(starts_at=START, reminder_offsets="120,90,60")
    factories.answered_invitation(activity)
    planning.plan_for_activity(activity, NOW)
    db.session.commit()
    # Nothing ran between two hours and one hour before the start.
    swept, delivered = sweep_and_send(START - timedelta(minutes=59))
    assert (swept.queued, delivered.sent) == (3, 3)
    assert sweep_and_send(START - timedelta(minutes=58))[0].claimed == 0
    assert len(smtp_server.messages) == 3


def test_an_activity_that_has_started_is_not_reminded_late(app, smtp_server):
    accepted()
    swept, delivered = sweep_and_send(START + timedelta(hours=1))
    assert (swept.claimed, swept.suppressed, swept.queued, delivered.sent) == (2, 2, 0, 0)
    assert {r.status for r in reminders()} == {ReminderStatus.suppressed}


def test_reschedule_recomputes_pending_reminders(app, smtp_server):
    activity, _invitation = accepted()
    sweep_and_send(DAY_BEFORE)  # the day-before reminder went out
    later = START + timedelta(days=2)
    activity.starts_at, activity.ends_at = later, later + timedelta(hours=2)
    activity.sequence += 1
    activity_updated.send(activity, now=DAY_BEFORE, changes={"starts_at": [START, later]})
    db.session.commit()
    pending = reminders(Reminder.status == ReminderStatus.pending)
    assert [r.due_at for r in pending] == [later - timedelta(days=1), later - timedelta(hours=2)]
    assert [r.note for r in reminders(Reminder.status == ReminderStatus.suppressed)] == ["replanned"]
    assert sweep_and_send(TWO_HOURS_BEFORE)[0].claimed == 0  # the old time sends nothing
    sweep_and_send(later - timedelta(days=1))
    assert len(smtp_server.messages) == 2
    mail = smtp_server.parsed()[1]
    part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1 and event.decoded("DTSTART").astimezone(UTC) == later


def test_reschedule_after_queuing_withdraws_the_queued_mail(app, smtp_server):
    activity, _invitation = accepted()
    sweep.sweep(DAY_BEFORE)  # queued, not delivered yet
    later = START + timedelta(days=2)
    activity.starts_at, activity.ends_at = later, later + timedelta(hours=2)
    activity_updated.send(activity, now=DAY_BEFORE, changes={"starts_at": [START, later]})
    db.session.commit()
    assert dispatch.deliver_due(DAY_BEFORE).claimed == 0
    assert count(OutboxMessage, OutboxMessage.status == OutboxStatus.cancelled) == 1
    assert smtp_server.messages == []


def test_cancelling_suppresses_reminders(app, smtp_server):
    activity, _invitation = accepted()
    activity.status = ActivityStatus.cancelled
    activity_cancelled.send(activity, now=NOW, reason="台风")
    db.session.commit()
    assert {r.status for r in reminders()} == {ReminderStatus.suppressed}
    sweep_and_send(START - timedelta(minutes=1))
    assert smtp_server.messages == [] and count(OutboxMessage) == 0


def test_a_reminder_for_a_cancelled_activity_is_never_sent_even_when_already_queued(app, smtp_server):
    activity, _invitation = accepted()
    assert sweep.sweep(DAY_BEFORE).queued == 1
    # Cancelled behind the signals' back: the send-time check still stops it.
    activity.status = ActivityStatus.cancelled
    db.session.commit()
    report = dispatch.deliver_due(DAY_BEFORE)
    assert (report.withdrawn, report.sent) == (1, 0)
    assert smtp_server.messages == []
    first = reminders()[0]
    assert first.status == ReminderStatus.suppressed
    # And the sweep checks too: the next one is suppressed, not queued.
    swept = sweep.sweep(TWO_HOURS_BEFORE)
    assert (swept.claimed, swept.suppressed, swept.queued) == (1, 1, 0)


def test_declining_stops_the_reminders_for_that_contact(app, smtp_server):
    activity, invitation = accepted()
    other = factories.answered_invitation(activity)
    planning.on_answer_changed(other, NOW)
    invitation.answer = Answer.declined
    planning.on_answer_changed(invitation, NOW)
    db.session.commit()
    assert {r.status for r in reminders(Reminder.subject_id == invitation.id)} == {ReminderStatus.suppressed}
    sweep_and_send(DAY_BEFORE)
    assert [to for _f, to, _raw in smtp_server.messages] == [[other.person.email]]


def test_a_decline_recorded_without_replanning_is_caught_at_send_time(app, smtp_server):
    _activity, invitation = accepted()
    sweep.sweep(DAY_BEFORE)
    invitation.answer = Answer.declined
    db.session.commit()
    assert dispatch.deliver_due(DAY_BEFORE).withdrawn == 1
    assert smtp_server.messages == []


def test_a_sweep_that_crashed_after_claiming_is_taken_over_after_the_lease(app, smtp_server):
    accepted()
    assert sweep.claim(DAY_BEFORE, 100) is not None  # claimed and committed, then the process "dies"
    assert reminders()[0].status == ReminderStatus.claimed
    assert sweep.sweep(DAY_BEFORE + sweep.LEASE / 2).claimed == 0  # lease still held
    swept = sweep.sweep(DAY_BEFORE + sweep.LEASE + timedelta(seconds=1))
    assert (swept.claimed, swept.queued) == (1, 1)
    assert reminders()[0].attempts == 2
    dispatch.deliver_due(DAY_BEFORE + sweep.LEASE + timedelta(seconds=1))
    assert len(smtp_server.messages) == 1


def test_a_sweep_that_crashed_while_queuing_leaves_nothing_half_done(app, smtp_server, monkeypatch):
    accepted()

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(db.session, "flush", crash)
    with pytest.raises(RuntimeError):
        sweep.sweep(DAY_BEFORE)
    monkeypatch.undo()
    assert count(OutboxMessage) == 0
    assert reminders()[0].status == ReminderStatus.claimed
    moment = DAY_BEFORE + sweep.LEASE + timedelta(seconds=1)
    assert sweep.sweep(moment).queued == 1
    assert sweep.sweep(moment).claimed == 0
    dispatch.deliver_due(moment)
    assert len(smtp_server.messages) == 1


def test_retries_back_off_then_give_up_and_stay_visible(app, smtp_server, client, login_as):
    # The organiser's retry uses the real clock, so this activity lies ahead of it.
    now = datetime.now(UTC).replace(microsecond=0)
    due = now + timedelta(days=9)
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    try:
        accepted(start=due + timedelta(days=1), now=now)
        smtp_server.stop()
        swept, delivered = sweep_and_send(due)
        assert (swept.queued, delivered.retrying) == (1, 1)
        row = db.session.scalar(select(OutboxMessage))
        assert row.status == OutboxStatus.retrying and row.next_attempt_at == due + dispatch.backoff(1)
        assert dispatch.deliver_due(due + timedelta(seconds=30)).claimed == 0  # backing off
        assert dispatch.deliver_due(due + timedelta(minutes=2)).failed == 1
        db.session.expire_all()
        row = db.session.get(OutboxMessage, row.id)
        assert row.status == OutboxStatus.failed and row.attempts == 2 and row.last_error
        assert dispatch.deliver_due(due + timedelta(hours=12)).claimed == 0  # given up stays given up
        login_as("organiser")
        page = client.get("/outbox?status=failed").get_data(as_text=True)
        assert f'id="message-{row.id}"' in page and "发送失败" in page and "最近错误" in page
        assert f'id="message-{row.id}"' not in client.get("/outbox?status=sent").get_data(as_text=True)
        smtp_server.start()
        response = client.post(f"/outbox/{row.id}/retry")
        assert response.status_code == 302
        row = db.session.get(OutboxMessage, row.id)
        assert row.status == OutboxStatus.queued
        assert dispatch.deliver_due(row.next_attempt_at).sent == 1
        assert len(smtp_server.messages) == 1
    finally:
        app.config["MAIL_MAX_ATTEMPTS"] = 8


# -- commands -------------------------------------------------------------------------

def test_reminders_sweep_command_runs_one_pass(app, runner, smtp_server):
    now = datetime.now(UTC)
    accepted(start=now + timedelta(hours=3), now=now - timedelta(days=2))  # a day before: due
    result = runner.invoke(args=["reminders", "sweep"])
    assert result.exit_code == 0, result.output
    assert "queued 1" in result.output and "sent 1" in result.output
    assert len(smtp_server.messages) == 1


def test_an_organisation_sets_its_reminder_offsets_with_checked_input(app, client, login_as):
    from app.orgs.models import Organisation

    login_as("organiser")
    org = factories.organisation(OrgKind.committee, name="综合党委")
    db.session.commit()
    data = {"name": "综合党委", "kind": "committee", "party_branch": "none", "reminder_offsets": "两小时"}
    response = client.post(f"/organisations/{org.id}/edit", data=data)
    assert response.status_code == 200
    assert "请填写开始前的提醒时间" in response.get_data(as_text=True)
    assert db.session.get(Organisation, org.id).reminder_offsets is None
    data["reminder_offsets"] = "120， 2880"
    assert client.post(f"/organisations/{org.id}/edit", data=data).status_code == 302
    assert db.session.get(Organisation, org.id).reminder_offsets == "2880,120"


def test_publishing_plans_and_completing_stops_the_reminders(app):
    from app.events.signals import activity_completed, activity_published

    activity = factories.activity(starts_at=START, status=ActivityStatus.draft)
    factories.answered_invitation(activity, answer="accepted")
    factories.answered_invitation(activity, answer="pending")
    planning.plan_for_activity(activity, NOW)
    assert count(Reminder) == 0  # drafts remind nobody
    activity.status = ActivityStatus.published
    activity_published.send(activity, now=NOW)
    db.session.commit()
    assert sorted(r.kind for r in reminders()) == [
        ReminderKind.activity_upcoming, ReminderKind.activity_upcoming, ReminderKind.answer_nudge
    ]
    activity.status = ActivityStatus.completed
    activity_completed.send(activity, now=NOW)
    db.session.commit()
    assert {r.status for r in reminders()} == {ReminderStatus.suppressed}


def test_the_reminder_goes_to_the_contact_s_current_address(app, smtp_server):
    _activity, invitation = accepted()
    sweep.sweep(DAY_BEFORE)
    invitation.person.email = "new-address@example.com"
    db.session.commit()
    dispatch.deliver_due(DAY_BEFORE)
    assert smtp_server.messages[0][1] == ["new-address@example.com"]
    assert db.session.scalar(select(OutboxMessage.recipient)) == "new-address@example.com"


def test_an_outbox_row_that_already_exists_is_linked_not_doubled(app):
    accepted()
    first = reminders()[0]
    existing = OutboxMessage(
        kind="reminder", recipient=first.email, subject="", raw=b"", message_id=f"<reminder-{first.id}@x>",
        dedupe_key=f"reminder-{first.id}", status=OutboxStatus.sent, next_attempt_at=NOW, created_at=NOW,
    )
    db.session.add(existing)
    db.session.commit()
    swept = sweep.sweep(DAY_BEFORE)
    assert (swept.claimed, swept.queued) == (1, 0)
    db.session.expire_all()
    assert reminders()[0].status == ReminderStatus.done and reminders()[0].outbox_message_id == existing.id
    assert count(OutboxMessage) == 1


def test_two_sweeps_at_the_same_moment_queue_each_reminder_once(app):
    import threading

    activity = factories.activity(starts_at=START, reminder_offsets="1440")
    for _ in range(60):
        factories.answered_invitation(activity)
    planning.plan_for_activity(activity, NOW)
    db.session.commit()
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                reports.append(sweep.sweep(DAY_BEFORE, batch=7))
            except Exception as error:  # pragma: no cover - shown by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(r.queued for r in reports) == 60
    assert count(OutboxMessage) == 60
    assert {r.status for r in reminders()} == {ReminderStatus.done}


def test_a_reminder_whose_passes_keep_dying_is_marked_failed_not_retried_forever(app, client, login_as):
    accepted()
    moment = DAY_BEFORE
    for _ in range(sweep.MAX_CLAIMS):
        assert sweep.claim(moment, 1) is not None  # each pass dies after claiming
        moment += sweep.LEASE + timedelta(seconds=1)
    report = sweep.sweep(moment)
    assert report.failed == 1
    first, second = reminders()
    assert first.status == ReminderStatus.failed and first.note == "gave up after 5 passes"
    assert sweep.sweep(TWO_HOURS_BEFORE).queued == 1  # only the other one
    assert count(OutboxMessage) == 1
    login_as("organiser")
    page = client.get("/outbox").get_data(as_text=True)
    assert "未能转入发件箱的提醒：1 条" in page and first.email in page
