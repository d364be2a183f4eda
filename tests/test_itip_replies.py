"""Calendar answers that come back: REPLY / COUNTER mails as Outlook, Gmail, Apple Calendar and
Thunderbird write them, appended to a real Dovecot mailbox and read by `flask mail fetch`.

The samples in tests/samples/itip/ are filled with what the real invitation mail says (UID,
SEQUENCE, ORGANIZER with the invitation's reply token, times), as a client copies them.
"""

from __future__ import annotations

import base64
import quopri
import re
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.events.models import Activity
from app.events.series import occurrences as series_occurrences
from app.extensions import db
from app.invitations import services as invitation_services
from app.invitations.emails import build_message
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.mail.models import OutboxMessage
from app.orgs.models import OrgKind
from app.reminders import scheduler
from app.replies.mailbox import fetch_replies
from app.replies.models import CalendarReply, ReplyOutcome
from tests import factories
from tests.dovecot import PASSWORD, USER
from tests.test_invitation_mail import check_calendar
from tests.test_series_words import NOW as SERIES_NOW
from tests.test_series_words import alliance_tea  # noqa: F401 - the whole-series fixture

SAMPLES = Path(__file__).parent / "samples" / "itip"
PROCESSED = "Linghang-processed"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CLIENTS = {"outlook": "ACCEPTED", "gmail": "DECLINED", "apple": "TENTATIVE", "thunderbird": "ACCEPTED"}
EXPECTED = {"ACCEPTED": Answer.accepted, "DECLINED": Answer.declined, "TENTATIVE": Answer.tentative}


def _now() -> datetime:
    # `flask mail fetch` reads the wall clock: the activities lie a week after it.
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def mailbox(app, dovecot):
    """The app reads the Dovecot mailbox (emptied first); reply tokens on."""
    dovecot.empty()
    settings = {
        "IMAP_HOST": "127.0.0.1", "IMAP_PORT": dovecot.port, "IMAP_SSL": False, "IMAP_USER": USER,
        "IMAP_PASSWORD": PASSWORD, "IMAP_FOLDER": "INBOX", "IMAP_PROCESSED_FOLDER": PROCESSED,
        "MAIL_REPLY_TO": "replies@linghang.test", "MAIL_REPLY_TOKENS": True,
    }
    saved = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    yield dovecot
    app.config.update(saved)


def _local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y%m%dT%H%M%S")


def _encode(match: re.Match) -> str:
    body = match.group(2).replace("\n", "\r\n").encode()
    if match.group(1) == "base64":
        text = base64.b64encode(body).decode()
        return "\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n"
    return quopri.encodestring(body).decode().replace("\r\n", "\n").replace("=0D\n", "\n")


def fill(sample: str, values: dict, *, edit=None) -> bytes:
    """A sample mail with the invitation's values, encoded as its client does, CRLF line ends."""
    text = Template((SAMPLES / f"{sample}.eml").read_text(encoding="utf-8")).substitute(values)
    if edit is not None:
        text = edit(text)
    text = re.sub(r"\{\{(base64|qp)\}\}\n(.*?)\{\{/\1\}\}\n", _encode, text, flags=re.S)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def invitation_values(invitation: Invitation, token: str, now: datetime, **overrides) -> dict:
    """What a calendar copies from the invitation mail into its answer."""
    message = build_message(invitation, "invitation", token, now=now)
    assert message["Reply-To"] == _organizer_of(message)
    event = icalendar.Calendar.from_ical(
        next(p for p in message.walk() if p.get_content_type() == "text/calendar").get_payload(decode=True)
    ).walk("VEVENT")[0]
    values = {
        "uid": str(event["UID"]), "sequence": int(event.get("SEQUENCE", 0)),
        "organizer": str(event["ORGANIZER"]).removeprefix("mailto:"),
        "attendee": invitation.person.email, "attendee_name": invitation.person.name,
        "partstat": "ACCEPTED", "message_id": f"{uuid.uuid4().hex}@client.example",
        "dtstart": _local(event.decoded("DTSTART")), "dtend": _local(event.decoded("DTEND")),
        "new_dtstart": _local(event.decoded("DTSTART") + timedelta(hours=5)),
        "new_dtend": _local(event.decoded("DTEND") + timedelta(hours=5)),
        "dtstamp": now.strftime("%Y%m%dT%H%M%SZ"),
    }
    values.update(overrides)
    return values


def _organizer_of(message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    return str(event["ORGANIZER"]).removeprefix("mailto:")


def world(now: datetime, *, invitees: int = 4, capacity: int | None = None):
    host = factories.organisation(OrgKind.committee, name="产业链综合党委")
    activity = factories.activity(host=host, starts_at=now + timedelta(days=7), capacity=capacity)
    firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
    rows = []
    for n in range(invitees):
        person = factories.person(firm, name=f"联系人{n}", email=f"contact{n}@firm.example")
        rows.append(factories.invitation(activity, person, now=now))
    db.session.commit()
    return activity, rows


def append(dovecot, *mails: bytes) -> None:
    with dovecot.client() as client:
        for raw in mails:
            client.append("INBOX", raw)


def folder_counts(dovecot) -> tuple[int, int]:
    with dovecot.client() as client:
        inbox = client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"]
        done = client.folder_status(PROCESSED, ["MESSAGES"])[b"MESSAGES"] if client.folder_exists(PROCESSED) else 0
    return inbox, done


def calendar_answers(invitation_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_type == "invitation", AuditEntry.entity_id == invitation_id,
            AuditEntry.action == "answer_calendar",
        )
    )


def test_each_client_answer_is_applied_exactly_once(app, mailbox, runner):
    now = _now()
    _activity, rows = world(now)
    mails = [
        fill(client, invitation_values(invitation, token, now, partstat=partstat))
        for (client, partstat), (invitation, token) in zip(CLIENTS.items(), rows, strict=True)
    ]
    db.session.commit()
    append(mailbox, *mails)

    first = runner.invoke(args=["mail", "fetch"])
    assert first.exit_code == 0, first.output
    assert "read 4 applied 4" in first.output
    assert folder_counts(mailbox) == (0, 4)
    second = runner.invoke(args=["mail", "fetch"])
    assert "read 0 applied 0" in second.output
    # The same mails again (a client sending twice, a copy left behind): recognised, not applied.
    append(mailbox, *mails)
    third = runner.invoke(args=["mail", "fetch"])
    assert "read 4 applied 0 counters 0 not_applied 0 already_read 4" in third.output
    assert folder_counts(mailbox) == (0, 8)

    db.session.expire_all()
    for (client, partstat), (invitation, _token) in zip(CLIENTS.items(), rows, strict=True):
        invitation = db.session.get(Invitation, invitation.id)
        assert invitation.answer == EXPECTED[partstat], client
        assert invitation.channel == AnswerChannel.calendar
        assert calendar_answers(invitation.id) == 1, client
    assert invitation.seats == 1
    outlook = db.session.get(Invitation, rows[0][0].id)
    assert outlook.note == "我会准时参加。"  # Outlook's COMMENT
    assert db.session.scalar(select(func.count()).select_from(CalendarReply)) == 4


def test_an_answer_for_a_full_activity_goes_to_the_waiting_list(app, mailbox):
    now = _now()
    activity, rows = world(now, invitees=1, capacity=1)
    factories.answered_invitation(activity)
    invitation, token = rows[0]
    mail = fill("outlook", invitation_values(invitation, token, now))
    db.session.commit()
    append(mailbox, mail)

    report = fetch_replies(now)
    assert report.applied == 1
    db.session.expire_all()
    invitation = db.session.get(Invitation, invitation.id)
    assert invitation.answer == Answer.accepted and invitation.waitlisted_at is not None
    assert calendar_answers(invitation.id) == 1


def test_forged_stale_and_unknown_answers_change_nothing(app, mailbox):
    now = _now()
    activity, rows = world(now, invitees=2)
    (victim, token), (other, _other_token) = rows
    good = invitation_values(victim, token, now)
    tampered = re.sub(r"-([0-9a-f]{20})@", lambda m: "-" + "0" * 20 + "@", good["organizer"])
    mails = {
        "forged attendee": fill("gmail", {**good, "attendee": other.person.email, "message_id": "a@x"}),
        "forged token": fill("apple", {**good, "organizer": tampered, "message_id": "b@x"}),
        "stale": fill("thunderbird", {**good, "sequence": 0, "message_id": "c@x"}),
        "unknown": fill("outlook", {**good, "uid": "activity-999999@linghang.test", "message_id": "d@x"}),
        "foreign": fill("outlook", {**good, "uid": f"activity-{activity.id}@elsewhere.example", "message_id": "e@x"}),
        "no token": fill("outlook", {**good, "organizer": "replies@linghang.test", "message_id": "f@x"}),
    }
    activity.sequence = 1  # the activity was changed since: SEQUENCE 0 is stale
    db.session.commit()
    append(mailbox, *mails.values())

    report = fetch_replies(now)
    assert (report.read, report.applied, report.not_applied) == (6, 0, 6)
    assert folder_counts(mailbox) == (0, 6)
    db.session.expire_all()
    outcomes = dict(db.session.execute(select(CalendarReply.message_id, CalendarReply.outcome)).all())
    assert outcomes == {
        "<a@x>": ReplyOutcome.forged, "<b@x>": ReplyOutcome.forged, "<c@x>": ReplyOutcome.stale,
        "<d@x>": ReplyOutcome.unknown, "<e@x>": ReplyOutcome.unknown, "<f@x>": ReplyOutcome.unknown,
    }
    for invitation in (victim, other):
        invitation = db.session.get(Invitation, invitation.id)
        assert invitation.answer == Answer.pending and invitation.channel is None
        assert calendar_answers(invitation.id) == 0


def test_a_counter_is_shown_to_the_organiser_and_not_applied(app, mailbox, client, login_as):
    now = _now()
    activity, rows = world(now, invitees=1)
    invitation, token = rows[0]
    values = invitation_values(invitation, token, now)
    append(mailbox, fill("outlook_counter", values))
    db.session.commit()

    report = fetch_replies(now)
    assert (report.counters, report.applied) == (1, 0)
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).answer == Answer.pending
    proposal = db.session.scalar(select(CalendarReply))
    assert proposal.outcome == ReplyOutcome.counter
    assert proposal.proposed_starts_at == activity.starts_at + timedelta(hours=5)
    login_as("organiser")
    for url in (f"/activities/{activity.id}/invitations", f"/activities/{activity.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "那天上午我们在外地，改到下午可以吗？" in page, url
        assert 'id="calendar-proposals"' in page


def test_a_broken_mail_does_not_stop_the_others(app, mailbox):
    now = _now()
    _activity, rows = world(now, invitees=1)
    invitation, token = rows[0]
    values = invitation_values(invitation, token, now)
    # Breaks in the middle of processing (icalendar refuses the proposed time only when it is read).
    raising = fill("outlook_counter", {**values, "new_dtstart": "not-a-date", "message_id": "raises@x"})
    unreadable = fill("thunderbird", {**values, "message_id": "unreadable@x"},
                      edit=lambda text: text.replace("BEGIN:VCALENDAR", "BEGIN:VCALENDAR\n\x01garbage"))
    garbage = b"Message-ID: <garbage@x>\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n\x00\xff no calendar\r\n"
    db.session.commit()
    append(mailbox, raising, unreadable, garbage, fill("gmail", values))

    report = fetch_replies(now)
    assert (report.read, report.applied, report.failed) == (4, 1, 1)
    assert folder_counts(mailbox) == (0, 4)
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).answer == Answer.accepted
    rows = {row.message_id: row for row in db.session.scalars(select(CalendarReply))}
    assert rows["<raises@x>"].detail.startswith("could not be processed: BrokenCalendarProperty")
    assert rows["<unreadable@x>"].detail.startswith("unreadable calendar")
    assert rows["<garbage@x>"].outcome == ReplyOutcome.ignored
    assert {row.outcome for row in rows.values()} == {ReplyOutcome.ignored, ReplyOutcome.applied}
    # Read again, nothing is retried: every mail was moved away.
    assert fetch_replies(now).read == 0


def test_the_scheduler_reads_the_mailbox_on_every_pass(app, mailbox):
    now = _now()
    _activity, rows = world(now, invitees=1)
    invitation, token = rows[0]
    append(mailbox, fill("apple", invitation_values(invitation, token, now, partstat="DECLINED")))
    db.session.commit()

    figures = scheduler.run_pass(app, now)
    assert figures["replies_applied"] == 1
    invitation = db.session.get(Invitation, invitation.id)
    assert invitation.answer == Answer.declined


def test_without_reply_tokens_the_attendee_is_matched_by_address(app, mailbox):
    app.config["MAIL_REPLY_TOKENS"] = False
    now = _now()
    _activity, rows = world(now, invitees=2)
    (invitation, token), (other, _token) = rows
    values = invitation_values(invitation, token, now)
    assert values["organizer"] == "replies@linghang.test"
    append(mailbox, fill("outlook", values),
           fill("gmail", {**values, "attendee": "stranger@example.com", "message_id": "s@x"}))
    db.session.commit()

    report = fetch_replies(now)
    assert (report.applied, report.not_applied) == (1, 1)
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).answer == Answer.accepted
    assert db.session.get(Invitation, other.id).answer == Answer.pending
    assert db.session.scalar(select(CalendarReply.outcome).where(CalendarReply.message_id == "<s@x>")) == ReplyOutcome.forged


def test_invitation_mails_name_the_reply_mailbox(app):
    now = _now()
    app.config["MAIL_REPLY_TO"] = "Linghang <replies@linghang.test>"
    try:
        _activity, rows = world(now, invitees=1)
        invitation, token = rows[0]
        message = message_from_bytes(build_message(invitation, "invitation", token, now=now).as_bytes(),
                                     policy=policy.SMTP)
        address = f"replies+i{invitation.id}-"
        assert str(message["Reply-To"]).startswith(address)
        assert _organizer_of(message).startswith(address)
        # Still everything ICAL.md asks of an invitation, read by icalendar, vobject, ical and ical.js.
        check_calendar(message, invitation.person.email, "REQUEST")
    finally:
        app.config["MAIL_REPLY_TO"] = None
    message = build_message(invitation, "invitation", token, now=now)
    assert message["Reply-To"] is None
    assert _organizer_of(message) == "linghang@localhost"


def test_an_answer_to_a_whole_series_entry_answers_every_open_meeting(app, mailbox, alliance_tea):  # noqa: F811
    alliance, _people, series = alliance_tea
    first = series_occurrences(series)[0]
    report = invitation_services.invite_series(first, invitation_services.Selection(alliance_ids=[alliance.id]), now=SERIES_NOW)
    db.session.commit()
    anchor = report.created[0]
    sent = next(m for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.invitation_id == anchor.id)))
    message = message_from_bytes(sent.raw, policy=policy.SMTP)
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    master = next(e for e in icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT") if "RECURRENCE-ID" not in e)
    assert str(message["Reply-To"]) == str(master["ORGANIZER"]).removeprefix("mailto:")
    values = {
        "uid": str(master["UID"]), "sequence": int(master.get("SEQUENCE", 0)),
        "organizer": str(master["ORGANIZER"]).removeprefix("mailto:"),
        "attendee": anchor.person.email, "attendee_name": anchor.person.name, "partstat": "ACCEPTED",
        "message_id": "series@x", "dtstart": _local(master.decoded("DTSTART")), "dtend": _local(master.decoded("DTEND")),
        "dtstamp": SERIES_NOW.strftime("%Y%m%dT%H%M%SZ"),
    }
    append(mailbox, fill("apple", values))

    # Answered once the first meeting (the mail's own invitation) is under way: the rest is answered.
    later = first.starts_at + timedelta(minutes=30)
    assert fetch_replies(later).applied == 1
    db.session.expire_all()
    rows = db.session.scalars(
        select(Invitation).join(Invitation.activity).where(Invitation.person_id == anchor.person_id)
        .order_by(Activity.starts_at)
    ).all()
    assert len(rows) > 2 and rows[0].id == anchor.id
    assert (rows[0].answer, rows[0].channel) == (Answer.pending, None)
    assert {(row.answer, row.channel) for row in rows[1:]} == {(Answer.accepted, AnswerChannel.calendar)}
