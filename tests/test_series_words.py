"""The series editor in words (the RRULE it writes, holidays skipped or moved) and invitations to a
whole series: one mail and one answer per invitee, one recurring entry, a CANCEL per occurrence."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import vobject
from sqlalchemy import func, select

from app.core.errors import ValidationFailed
from app.events import series as series_services
from app.events.checks import ActivityInput
from app.events.editing import ActivityEdit, save_activity
from app.events.models import Activity, ActivityKind, ActivitySeries, ActivityStatus
from app.events.series_words import HolidayPolicy, Repeat, SeriesWords, rule_from_words
from app.extensions import db
from app.feeds.content import scope_for
from app.feeds.models import FeedChange, FeedKind
from app.feeds.rendering import render_feed
from app.ical.builder import build_calendar
from app.ical.recurring import series_events, series_uid
from app.invitations import services as invitations
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.mail.models import OutboxMessage
from app.orgs.models import OrgKind
from app.reminders.models import Reminder, ReminderKind, ReminderStatus
from app.workcal.services import holidays_between, is_working_day
from tests import factories
from tests.icalcheck import read_all, read_icaljs

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
FRIDAYS_UNTIL_JUNE = SeriesWords(repeat=Repeat.weekly, weekdays=["FR"], until=date(2027, 6, 30))
BASE = "http://linghang.test"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- the rule the words write ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("words", "rule"),
    [
        (FRIDAYS_UNTIL_JUNE, "FREQ=WEEKLY;BYDAY=FR;UNTIL=20270630"),
        (SeriesWords(repeat=Repeat.weekly, weekdays=["FR", "MO"], count=6), "FREQ=WEEKLY;BYDAY=MO,FR;COUNT=6"),
        (SeriesWords(repeat=Repeat.weekly, interval=2, count=5), "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=5"),
        (SeriesWords(repeat=Repeat.monthly_weekday, ordinal=2, weekday="TH", until=date(2027, 12, 31)),
         "FREQ=MONTHLY;BYDAY=2TH;UNTIL=20271231"),
        (SeriesWords(repeat=Repeat.monthly_weekday, ordinal=-1, weekday="FR", count=3), "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"),
        (SeriesWords(repeat=Repeat.monthly_day, count=4), "FREQ=MONTHLY;BYMONTHDAY=2;COUNT=4"),
        (SeriesWords(repeat=Repeat.monthly_day, month_day=15, until=date(2027, 6, 30)), "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20270630"),
    ],
)
def test_the_words_write_the_rule(words, rule):
    # The first day, Wednesday 2 December 2026, gives the defaults (the weekday, the day of the month).
    assert rule_from_words(words, date(2026, 12, 2)) == rule


@pytest.mark.parametrize(
    ("words", "field"),
    [
        (SeriesWords(repeat=Repeat.weekly, weekdays=["FR"]), "repeat_until"),
        (SeriesWords(repeat=Repeat.weekly, until=date(2026, 11, 1)), "repeat_until"),
        (SeriesWords(repeat=Repeat.weekly, interval=60, count=2), "repeat_interval"),
        (SeriesWords(repeat=Repeat.weekly, count=501), "repeat_count"),
        (SeriesWords(repeat=Repeat.monthly_weekday, ordinal=7, count=2), "repeat_weekday"),
    ],
)
def test_words_that_make_no_rule_are_refused_on_their_field(app, words, field):
    with pytest.raises(ValidationFailed) as refused:
        rule_from_words(words, date(2026, 12, 2))
    assert refused.value.field == field


def form_values(committee, venue, **overrides):
    values = {
        "kind": "afternoon_tea", "visit_kind": "", "title": "企业家下午茶", "starts_at": "2027-03-05T14:00",
        "ends_at": "2027-03-05T16:00", "theme_id": "0", "host_id": str(committee.id), "alliance_id": "0",
        "venue_id": str(venue.id), "site_id": "0", "location_note": "", "capacity": "", "agenda": "",
        "description": "", "rrule": "", "exception_days": "", "scope": "this", "override_reason": "",
        "action": "save", "repeat": "", "repeat_interval": "1", "repeat_ordinal": "1", "repeat_weekday": "MO",
        "repeat_month_day": "", "repeat_end": "until", "repeat_until": "", "repeat_count": "", "holidays": "keep",
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "rule", "words"),
    [
        ({"repeat": "weekly", "repeat_days": ["TU", "FR"], "repeat_until": "2027-04-30"},
         "FREQ=WEEKLY;BYDAY=TU,FR;UNTIL=20270430", "每周二和周五"),
        ({"repeat": "weekly", "repeat_interval": "2", "repeat_end": "count", "repeat_count": "4"},
         "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;COUNT=4", "每2周的周五，共4次"),
        ({"repeat": "monthly_weekday", "repeat_ordinal": "-1", "repeat_weekday": "FR", "repeat_end": "count", "repeat_count": "3"},
         "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "最后一个周五"),
        ({"repeat": "monthly_day", "repeat_month_day": "20", "repeat_until": "2027-08-31"},
         "FREQ=MONTHLY;BYMONTHDAY=20;UNTIL=20270831", "每月20日"),
        # The raw rule stays as the advanced way in, when "Repeat" is left alone.
        ({"rrule": "FREQ=WEEKLY;BYDAY=WE;COUNT=6"}, "FREQ=WEEKLY;BYDAY=WE;COUNT=6", "每周三，共6次"),
    ],
)
def test_the_form_in_words_saves_the_rule_and_shows_it_back_in_words(app, client, login_as, overrides, rule, words):
    committee, venue = factories.organisation(OrgKind.committee), factories.venue()
    db.session.commit()
    login_as("organiser")
    response = client.post("/activities/new", data=form_values(committee, venue, **overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    series = db.session.scalar(select(ActivitySeries))
    assert set(series.rrule.split(";")) == set(rule.split(";"))  # stored in icalendar's order
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert words in page


def test_the_form_refuses_words_without_an_end_on_the_field(app, client, login_as):
    committee, venue = factories.organisation(OrgKind.committee), factories.venue()
    db.session.commit()
    login_as("organiser")
    response = client.post("/activities/new", data=form_values(committee, venue, repeat="weekly"))
    assert response.status_code == 200  # the form again, as for any refused input
    assert "截止日期或次数" in response.get_data(as_text=True)
    assert count(Activity) == 0


def test_the_editor_page_works_without_inline_script(app, client, login_as):
    login_as("organiser")
    page = client.get("/activities/new").get_data(as_text=True)
    assert 'id="series-words"' in page and "/static/series_words.js" in page
    assert 'name="repeat"' in page and 'name="holidays"' in page and 'name="rrule"' in page
    assert "onclick=" not in page and "onchange=" not in page


# -- holidays of the working calendar ----------------------------------------------------------

def tea_input(**fields) -> ActivityInput:
    start = datetime(2026, 12, 4, 14, 0, tzinfo=SH)  # a Friday afternoon
    return ActivityInput(
        kind=ActivityKind.afternoon_tea, title="每周五下午企业家下午茶", host_id=factories.organisation(OrgKind.committee).id,
        starts_at=start, ends_at=start + timedelta(hours=2), venue_id=factories.venue().id, **fields,
    )


def independent_starts(events: list, first: date, last: date) -> list[datetime]:
    """Expand VEVENTs (RRULE, EXDATE, RECURRENCE-ID overrides) with recurring-ical-events."""
    body = build_calendar(events, method="PUBLISH").to_ical()
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(first, last)
    return sorted(e["DTSTART"].dt.astimezone(UTC) for e in found)


def live(series: ActivitySeries) -> list[Activity]:
    return [a for a in series_services.occurrences(series) if a.status != ActivityStatus.cancelled]


def test_holidays_skipped_become_exceptions_checked_by_an_independent_expansion(app):
    saved = save_activity(None, ActivityEdit(tea_input(), words=FRIDAYS_UNTIL_JUNE, holidays=HolidayPolicy.skip), now=NOW)
    series = saved.activity.series
    assert set(series.rrule.split(";")) == {"FREQ=WEEKLY", "BYDAY=FR", "UNTIL=20270630"}
    holidays = set(holidays_between(date(2026, 12, 1), date(2027, 6, 30)))
    fridays = [date(2026, 12, 4) + timedelta(weeks=n) for n in range(30)]  # to Friday 25 June 2027
    skipped = [day for day in fridays if day in holidays]
    assert date(2027, 1, 1) in skipped  # 元旦 2027 is a Friday
    assert series.exdates == [f"{day.isoformat()}T14:00:00" for day in skipped]
    starts = [a.starts_at for a in live(series)]
    assert len(starts) == len(fridays) - len(skipped)
    assert not {s.astimezone(SH).date() for s in starts} & holidays
    assert starts == independent_starts([series_services.to_vevent(series, "s@test", "茶")], date(2026, 12, 1), date(2027, 7, 1))
    assert starts == independent_starts(series_events(series, series_services.occurrences(series), base_url=BASE),
                                        date(2026, 12, 1), date(2027, 7, 1))


def test_holidays_postponed_move_to_the_next_working_day_as_changed_occurrences(app):
    saved = save_activity(None, ActivityEdit(tea_input(), words=FRIDAYS_UNTIL_JUNE, holidays=HolidayPolicy.postpone), now=NOW)
    series = saved.activity.series
    assert series.exdates == []
    new_year = next(a for a in live(series) if a.recurrence_id == datetime(2027, 1, 1, 14, 0, tzinfo=SH))
    moved_to = new_year.starts_at.astimezone(SH)
    assert moved_to == datetime(2027, 1, 4, 14, 0, tzinfo=SH)  # Monday: Saturday and Sunday are off
    assert new_year.ends_at - new_year.starts_at == timedelta(hours=2)
    for a in live(series):
        day = a.starts_at.astimezone(SH).date()
        assert is_working_day(day), day
    events = series_events(series, series_services.occurrences(series), base_url=BASE)
    overrides = [e for e in events if "RECURRENCE-ID" in e]
    assert {e.decoded("RECURRENCE-ID").date() for e in overrides} == {
        a.recurrence_id.astimezone(SH).date() for a in live(series) if a.starts_at != a.recurrence_id
    } >= {date(2027, 1, 1)}
    assert sorted(a.starts_at for a in live(series)) == independent_starts(events, date(2026, 12, 1), date(2027, 7, 1))


# -- invitations to a whole series --------------------------------------------------------------

@pytest.fixture
def alliance_tea(app):
    alliance = factories.organisation(OrgKind.alliance, name="新材料产业链联盟")
    people = []
    for name, contact in (("华晨电子", "王, 五"), ("明远材料", "李四")):
        firm = factories.organisation(OrgKind.enterprise, name=name)
        factories.member(alliance, firm)
        people.append(factories.person(firm, name=contact, email=f"{len(people)}@example.com", is_contact=True))
    saved = save_activity(
        None, ActivityEdit(tea_input(), words=FRIDAYS_UNTIL_JUNE, holidays=HolidayPolicy.postpone, publish=True), now=NOW
    )
    db.session.commit()
    return alliance, people, saved.activity.series


def calendar_of(message: OutboxMessage) -> bytes:
    parsed = email.message_from_bytes(message.raw, policy=policy.SMTP)
    part = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == ("CANCEL" if message.kind.endswith("cancellation") else "REQUEST")
    return part.get_payload(decode=True)


def mails(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def test_one_invitation_one_mail_one_answer_for_the_whole_series(app, alliance_tea):
    alliance, people, series = alliance_tea
    first = series_services.occurrences(series)[0]
    report = invitations.invite_series(first, invitations.Selection(alliance_ids=[alliance.id]), now=NOW)
    db.session.commit()
    meetings = len(live(series))
    assert (len(report.created), report.mailed) == (2, 2)
    assert count(Invitation) == 2 * meetings
    sent = mails("invitation.invitation")
    assert sorted(parseaddr(m.recipient)[1] for m in sent) == ["0@example.com", "1@example.com"]
    body = calendar_of(sent[0])
    parsed = read_all([body])[0]
    uid = series_uid(series.id, app.config["BASE_URL"])
    assert {e["uid"] for e in parsed} == {uid}
    calendar = icalendar.Calendar.from_ical(body)
    master = next(e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e)
    assert master["RRULE"].to_ical().decode().startswith("FREQ=WEEKLY;UNTIL=") and "BYDAY=FR" in master["RRULE"].to_ical().decode()
    assert all("ATTENDEE" in e for e in calendar.walk("VEVENT"))
    js = read_icaljs([body])[0]["events"]
    expected = [a.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") for a in live(series)]
    assert next(e for e in js if e["rrule"])["occurrences"] == expected
    assert "每周五" in sent[0].raw.decode("ascii", "replace") or "每周五" in email.message_from_bytes(
        sent[0].raw, policy=policy.SMTP).get_body(("plain",)).get_content()

    # Inviting the alliance again invites nobody twice and mails nobody again.
    again = invitations.invite_series(first, invitations.Selection(alliance_ids=[alliance.id]), now=NOW)
    assert (len(again.created), again.already, len(mails("invitation.invitation"))) == (0, 2, 2)

    anchor = db.session.scalar(select(Invitation).where(Invitation.id == report.created[0].id))
    invitations.answer_series(anchor, reply=Answer.accepted, seats=1, names=None, note=None,
                              channel=AnswerChannel.link, now=NOW)
    db.session.commit()
    answers = db.session.scalars(select(Invitation.answer).where(Invitation.person_id == anchor.person_id)).all()
    assert answers == [Answer.accepted] * meetings


def test_a_series_invited_as_a_draft_mails_once_on_publication(app):
    alliance = factories.organisation(OrgKind.alliance)
    firm = factories.organisation(OrgKind.enterprise)
    factories.member(alliance, firm)
    factories.person(firm, email="x@example.com", is_contact=True)
    saved = save_activity(None, ActivityEdit(tea_input(), words=SeriesWords(repeat=Repeat.weekly, count=5)), now=NOW)
    invitations.invite_series(saved.activity, invitations.Selection(alliance_ids=[alliance.id]), now=NOW)
    assert mails("invitation.invitation") == []
    series_services.publish_series(saved.activity.series, now=NOW)
    db.session.commit()
    assert len(mails("invitation.invitation")) == 1
    assert count(Invitation) == 5


def test_cancelling_one_occurrence_sends_one_cancel_with_its_recurrence_id(app, alliance_tea):
    alliance, people, series = alliance_tea
    rows = series_services.occurrences(series)
    invitations.invite_series(rows[0], invitations.Selection(alliance_ids=[alliance.id]), now=NOW)
    db.session.commit()
    third = rows[2]
    series_services.cancel_occurrence(third, reason="场地检修", now=NOW + timedelta(hours=1))
    db.session.commit()
    cancels = mails("invitation.cancellation")
    assert sorted(parseaddr(m.recipient)[1] for m in cancels) == ["0@example.com", "1@example.com"]
    bodies = [calendar_of(m) for m in cancels]
    for parsed in read_all(bodies):
        assert [(e["uid"], e["status"]) for e in parsed] == [(series_uid(series.id, app.config["BASE_URL"]), "CANCELLED")]
    recurrence = third.recurrence_id.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for body, js in zip(bodies, read_icaljs(bodies), strict=True):
        event = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
        assert event.decoded("RECURRENCE-ID") == third.recurrence_id
        assert js["calendar"]["method"] == "CANCEL" and js["events"][0]["recurrence_id"] == recurrence
    cancelled = vobject.readOne(bodies[0].decode()).vevent
    assert cancelled.recurrence_id.value == third.recurrence_id

    # The invitee's own feed shows the series as one recurring entry without that date.
    feed = render_feed(scope_for(FeedKind.person, person=people[0]), NOW).body
    events = read_icaljs([feed])[0]["events"]
    masters = [e for e in events if e["rrule"]]
    assert len(masters) == 1 and {e["uid"] for e in events} == {series_uid(series.id, app.config["BASE_URL"])}
    assert recurrence not in masters[0]["occurrences"]
    assert len(masters[0]["occurrences"]) == len(live(series))
    read_all([feed])


def test_someone_invited_to_one_meeting_joins_the_series_and_the_feeds_hear_of_it(app, alliance_tea):
    alliance, people, series = alliance_tea
    rows = series_services.occurrences(series)
    # Invited to every meeting one by one: joining the series adds no row, it only widens them.
    single = [invitations.invite(row, invitations.Selection(person_ids=[people[0].id]), now=NOW).created[0]
              for row in rows][1]
    db.session.commit()
    assert len(mails("invitation.invitation")) == len(rows)
    last = db.session.scalar(select(func.max(FeedChange.id)))
    report = invitations.invite_series(rows[0], invitations.Selection(person_ids=[people[0].id]), now=NOW)
    db.session.commit()
    assert len(report.created) == 1 and report.mailed == 1 and len(mails("invitation.invitation")) == len(rows) + 1
    # Widening to the whole series changes how the person's feed shows it.
    assert f"p:{people[0].id}" in set(db.session.scalars(select(FeedChange.key).where(FeedChange.id > last)))
    db.session.refresh(single)
    assert single.whole_series
    mine = db.session.scalars(select(Invitation).where(Invitation.person_id == people[0].id)).all()
    assert len(mine) == len(live(series)) and all(i.whole_series for i in mine)


def test_an_invitee_who_has_not_answered_is_nudged_once_for_the_series(app, alliance_tea):
    alliance, people, series = alliance_tea
    rows = series_services.occurrences(series)
    report = invitations.invite_series(rows[0], invitations.Selection(alliance_ids=[alliance.id]), now=NOW)
    db.session.commit()
    nudges = db.session.scalars(
        select(Reminder).where(Reminder.kind == ReminderKind.answer_nudge.value, Reminder.person_id == people[0].id)
    ).all()
    anchor = next(i for i in report.created if i.person_id == people[0].id)
    assert [n.subject_id for n in nudges] == [anchor.id]
    # Once accepted, every meeting has its own reminders before it (the seats are per meeting).
    invitations.answer_series(anchor, reply=Answer.accepted, seats=1, names=None, note=None,
                              channel=AnswerChannel.link, now=NOW)
    db.session.commit()
    upcoming = db.session.scalars(
        select(Reminder.activity_id).where(Reminder.kind == ReminderKind.activity_upcoming.value,
                                           Reminder.person_id == people[0].id, Reminder.status == ReminderStatus.pending)
    ).all()
    assert set(upcoming) == {a.id for a in live(series)}
