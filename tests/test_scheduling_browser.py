"""Browser journey: a roundtable blocked by a taken venue, moved to a slot from the finder, published, in the month view."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.core.clock import display_zone, local_today
from app.demo import data
from app.demo.services import load
from app.events.models import Activity, ActivityKind, ActivityStatus
from app.extensions import db
from app.orgs.models import Venue
from app.workcal.services import is_working_day
from tests import factories

pytestmark = pytest.mark.browser
ROOM = "产业链综合党委会议室"


def test_roundtable_conflict_slot_publish_month_view(live_server, page):
    base_url, flask_app = live_server
    with flask_app.app_context():
        load()
        day = local_today() + timedelta(days=10)
        while not is_working_day(day):
            day += timedelta(days=1)
        venue = db.session.scalar(select(Venue).where(Venue.name == ROOM))
        zone = display_zone()
        start = datetime.combine(day, time(9, 0), tzinfo=zone)
        # Clear the day at this venue, then hold its morning with another meeting.
        for other in db.session.scalars(select(Activity).where(Activity.venue_id == venue.id)):
            if other.starts_at.astimezone(zone).date() == day:
                other.status = ActivityStatus.cancelled
        factories.activity(starts_at=start, hours=3, venue=venue, title="县委专题会议")
        db.session.commit()

    page.goto(base_url + "/login")
    page.get_by_label("邮箱").fill("organiser@linghang.demo")
    page.get_by_label("密码").fill(data.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")

    page.goto(base_url + "/calendar")
    page.get_by_role("link", name="新建活动").click()
    page.locator("#kind").select_option(ActivityKind.roundtable.value)
    page.locator("#title").fill("链主企业供需对接圆桌会")
    page.locator("#starts_at").fill(f"{day.isoformat()}T09:30")
    page.locator("#ends_at").fill(f"{day.isoformat()}T11:00")
    page.locator("#venue_id").select_option(label=f"{ROOM}（30）")
    page.locator("#agenda").fill("供需对接")
    page.get_by_role("button", name="保存并发布").click()

    conflict = page.locator("#venue-conflict")
    assert "该场地在此时段已被占用" in conflict.inner_text()
    assert "县委专题会议" in conflict.inner_text()
    with flask_app.app_context():
        assert db.session.scalar(select(Activity).where(Activity.title == "链主企业供需对接圆桌会")) is None

    first_slot = page.locator("#free-slots .use-slot").first
    slot_start = first_slot.get_attribute("data-start")
    assert slot_start == f"{day.isoformat()}T14:00"
    first_slot.click()  # the free slots offered in the form fill in the time
    assert page.locator("#starts_at").input_value() == slot_start
    assert page.locator("#ends_at").input_value() == f"{day.isoformat()}T15:30"

    # The full finder, opened from the form with its duration, venue, title and kind.
    page.locator("#open-finder").click()
    page.wait_for_url("**/activities/slots?*")
    assert page.locator("#duration").input_value() == "90"
    slots = page.locator("#slots li")
    assert f"{day.month}月{day.day}日" in slots.first.inner_text() and "14:00–15:30" in slots.first.inner_text()
    slots.first.get_by_role("link", name="选用此时段").click()
    page.wait_for_url("**/activities/new?*")
    assert page.locator("#starts_at").input_value() == slot_start
    assert page.locator("#title").input_value() == "链主企业供需对接圆桌会"
    assert page.locator("#kind").input_value() == "roundtable"
    page.locator("#agenda").fill("供需对接")
    page.get_by_role("button", name="保存并发布").click()
    page.wait_for_url(re.compile(r"/activities/\d+$"))  # the saved activity, not the form
    assert "活动已保存" in page.content()
    assert "已发布" in page.locator("h1").locator("..").inner_text()

    with flask_app.app_context():
        saved = db.session.scalar(select(Activity).where(Activity.title == "链主企业供需对接圆桌会"))
        assert saved.status == ActivityStatus.published and saved.sequence == 0
        assert saved.starts_at.astimezone(display_zone()) == datetime.combine(day, time(14, 0), tzinfo=display_zone())

    page.goto(f"{base_url}/calendar?year={day.year}&month={day.month}&kind=roundtable")
    cell = page.locator("#month-grid")
    assert "14:00 链主企业供需对接圆桌会" in cell.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.locator("#month-list").get_by_text("链主企业供需对接圆桌会").is_visible()
