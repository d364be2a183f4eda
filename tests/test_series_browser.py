"""Browser journey: an organiser creates "every Friday afternoon until next June, holidays moved to
the next working day" in words, invites an alliance once; a contact accepts once from the mailed
link and subscribes to one recurring entry; cancelling one Friday sends one CANCEL per invitee."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email.policy import SMTP
from urllib.request import urlopen

import icalendar
import pytest
from sqlalchemy import func, select

from app.core.clock import to_local, utcnow
from app.events.models import Activity, ActivitySeries, ActivityStatus
from app.extensions import db
from app.feeds import services as feeds
from app.ical.recurring import series_uid
from app.invitations.models import Answer, Invitation
from app.mail.models import OutboxMessage
from app.orgs.models import OrgKind
from tests import factories
from tests.icalcheck import read_all, read_icaljs

pytestmark = pytest.mark.browser
TITLE = "每周五下午企业家下午茶"


def next_friday() -> date:
    today = to_local(utcnow()).date() + timedelta(days=1)
    return today + timedelta(days=(4 - today.weekday()) % 7)


def calendar_part(raw: bytes) -> tuple[str, bytes]:
    part = next(p for p in message_from_bytes(raw, policy=SMTP).walk() if p.get_content_type() == "text/calendar")
    return part.get_param("method"), part.get_payload(decode=True)


def outbox(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def test_weekly_tea_in_words_invited_once_answered_once_one_entry_one_cancel(live_server, page):
    base_url, flask_app = live_server
    flask_app.config["WTF_CSRF_ENABLED"] = True
    friday = next_friday()
    until = date(friday.year + 1, 6, 30)  # 至明年6月
    with flask_app.app_context():
        organiser = factories.user("organiser")
        committee = factories.organisation(OrgKind.committee, name="产业链综合党委")
        factories.venue(name="茶叙室", capacity=40)
        alliance = factories.organisation(OrgKind.alliance, name="新材料产业链联盟")
        contacts = []
        for n, firm_name in enumerate(("华晨电子", "明远材料")):
            firm = factories.organisation(OrgKind.enterprise, name=firm_name)
            factories.member(alliance, firm)
            contacts.append(factories.person(firm, name=f"联系人{n}", email=f"c{n}@example.com", is_contact=True))
        feed_token = feeds.new_token()
        feeds._add_token("我的日历", organisation=None, person=contacts[0], token=feed_token, now=utcnow(), created_by=None)
        db.session.commit()
        email, committee_id, alliance_id = organiser.email, committee.id, alliance.id

    page.goto(base_url + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")

    # The words editor: only the fields of the chosen frequency show (static JS under the CSP).
    page.goto(base_url + "/activities/new")
    page.locator("#kind").select_option("afternoon_tea")
    page.locator("#title").fill(TITLE)
    page.locator("#starts_at").fill(f"{friday.isoformat()}T14:00")
    page.locator("#ends_at").fill(f"{friday.isoformat()}T16:00")
    page.locator("#host_id").select_option(str(committee_id))
    page.locator("#venue_id").select_option(label="茶叙室（40）")
    assert page.locator("#repeat_month_day").is_hidden() and page.locator("#repeat_days-FR").is_hidden()
    page.locator("#repeat").select_option("weekly")
    assert page.locator("#repeat_days-FR").is_visible() and page.locator("#repeat_month_day").is_hidden()
    page.locator("label[for=repeat_days-FR]").click()
    assert page.locator("#repeat_count").is_hidden()
    page.locator("#repeat_until").fill(until.isoformat())
    page.locator("#holidays").select_option("postpone")
    page.get_by_role("button", name="保存并发布").click()
    page.wait_for_url(re.compile(r".*/activities/\d+$"))
    assert "每周五" in page.content() and "节假日" not in page.locator("h1").inner_text()
    first_id = int(page.url.rsplit("/", 1)[1])

    with flask_app.app_context():
        series = db.session.scalar(select(ActivitySeries))
        assert set(series.rrule.split(";")) == {"FREQ=WEEKLY", "BYDAY=FR", f"UNTIL={until.strftime('%Y%m%d')}"}
        rows = list(db.session.scalars(select(Activity).where(Activity.series_id == series.id).order_by(Activity.recurrence_id)))
        assert rows[0].id == first_id and all(r.status == ActivityStatus.published for r in rows)
        moved = [r for r in rows if r.starts_at != r.recurrence_id]
        new_year = datetime(friday.year + 1, 1, 1)
        if new_year.weekday() == 4:  # 元旦 on a Friday moves to the next working day
            assert any(to_local(r.recurrence_id).date() == new_year.date() for r in moved)
        series_id, meetings, third_id = series.id, len(rows), rows[2].id

    # One invitation of the alliance, for the whole series (ticked by default).
    page.goto(f"{base_url}/activities/{first_id}/invitations")
    page.locator(f"label[for=alliances-{alliance_id}]").click()
    assert page.locator("#whole_series").is_checked()
    page.locator("#invite-form").locator("button.btn-primary").click()
    page.wait_for_selector(".alert-success")

    with flask_app.app_context():
        invitations = outbox("invitation.invitation")
        assert len(invitations) == 2  # one mail per invitee for the whole series
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 2 * meetings
        mine = next(m for m in invitations if "c0@example.com" in m.recipient)
        method, body = calendar_part(mine.raw)
        assert method == "REQUEST"
        assert {e["uid"] for e in read_all([body])[0]} == {series_uid(series_id, base_url)}
        text = message_from_bytes(mine.raw, policy=SMTP).get_body(("plain",)).get_content()
        link = re.search(r"http://\S+/rsvp/\S+", text).group(0)

    # The contact accepts once, from the link in the mail.
    page.context.clear_cookies()
    page.goto(link)
    assert "每周五" in page.locator("#rsvp-series").inner_text()
    page.locator("label[for=answer-accepted]").click()
    page.get_by_label("人数").fill("1")
    page.get_by_role("button", name="提交回复").click()
    page.wait_for_selector(".alert-success")
    with flask_app.app_context():
        answers = db.session.scalars(
            select(Invitation.answer).join(Invitation.person).where(Invitation.person.has(email="c0@example.com"))
        ).all()
        assert answers == [Answer.accepted] * meetings

    # The contact's calendar subscription: one recurring entry, read by ical.js.
    feed = urlopen(f"{base_url}/feeds/{feed_token}.ics").read()  # noqa: S310 - the local test server
    events = read_icaljs([feed])[0]["events"]
    assert {e["uid"] for e in events} == {series_uid(series_id, base_url)}
    masters = [e for e in events if e["rrule"]]
    assert len(masters) == 1 and len(masters[0]["occurrences"]) == meetings

    # The organiser cancels the third Friday: one CANCEL with its RECURRENCE-ID per invitee.
    page.goto(base_url + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")
    page.goto(f"{base_url}/activities/{third_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_placeholder("取消原因").fill("场地检修")
    page.get_by_role("button", name="取消本次活动").click()
    page.wait_for_selector(".alert-success")
    with flask_app.app_context():
        cancels = outbox("invitation.cancellation")
        assert len(cancels) == 2
        third = db.session.get(Activity, third_id)
        for message in cancels:
            method, body = calendar_part(message.raw)
            assert method == "CANCEL"
            event = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
            assert str(event["UID"]) == series_uid(series_id, base_url)
            assert event.decoded("RECURRENCE-ID") == third.recurrence_id
    feed = urlopen(f"{base_url}/feeds/{feed_token}.ics").read()  # noqa: S310 - the local test server
    master = next(e for e in read_icaljs([feed])[0]["events"] if e["rrule"])
    assert len(master["occurrences"]) == meetings - 1
