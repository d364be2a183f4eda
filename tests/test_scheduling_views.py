"""The scheduling pages: role checks, forms with bad input, series and actions over HTTP, calendar views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.events.models import Activity, ActivityKind, ActivitySeries, ActivityStatus
from app.extensions import db
from app.orgs.models import OrgKind
from tests import factories

SH = ZoneInfo("Asia/Shanghai")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(app):
    committee = factories.organisation(OrgKind.committee)
    venue = factories.venue(capacity=30)
    tax = factories.organisation(OrgKind.department)
    db.session.commit()
    return {"committee": committee, "venue": venue, "tax": tax}


def form(world, **overrides):
    values = {
        "kind": "roundtable", "visit_kind": "", "title": "圆桌会", "starts_at": "2026-12-16T09:30",
        "ends_at": "2026-12-16T11:30", "theme_id": "0", "host_id": str(world["committee"].id),
        "alliance_id": "0", "venue_id": str(world["venue"].id), "site_id": "0", "location_note": "",
        "capacity": "20", "agenda": "议程", "description": "", "rrule": "", "exception_days": "",
        "scope": "this", "override_reason": "", "action": "save",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize("role", ["contact", "liaison", "instructor"])
def test_only_organisers_create_and_change(app, client, login_as, world, role):
    activity = factories.activity(status=ActivityStatus.draft)
    db.session.commit()
    login_as(role)
    assert client.get("/activities/new").status_code == 403
    assert client.post("/activities/new", data=form(world)).status_code == 403
    assert client.get(f"/activities/{activity.id}/edit").status_code == 403
    assert client.post(f"/activities/{activity.id}/publish").status_code == 403
    assert client.post(f"/activities/{activity.id}/cancel", data={"reason": "x"}).status_code == 403
    assert client.get("/activities/slots").status_code == 403
    assert count(Activity) == 1 and db.session.get(Activity, activity.id).status == ActivityStatus.draft
    assert client.get("/calendar").status_code == 200


def test_an_enterprise_contact_sees_only_what_is_shown_to_it(app, client, login_as, world):
    other = factories.organisation(OrgKind.enterprise)
    day = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    factories.activity(kind=ActivityKind.visit, starts_at=day, site=other, title="别家企业的走访")
    factories.activity(starts_at=day + timedelta(hours=3), title="全县公开沙龙")
    factories.activity(starts_at=day + timedelta(hours=5), title="尚未发布的草稿", status=ActivityStatus.draft)
    db.session.commit()
    login_as("contact")
    for url in ("/calendar?year=2026&month=12", "/calendar/week?day=2026-12-09", "/calendar/agenda?day=2026-12-01", "/themes?year=2026", "/themes/plan/2026/print"):
        page = client.get(url).get_data(as_text=True)
        assert "全县公开沙龙" in page, url
        assert "别家企业的走访" not in page and "尚未发布的草稿" not in page, url
    hidden = db.session.scalar(select(Activity.id).where(Activity.title == "别家企业的走访"))
    assert client.get(f"/activities/{hidden}").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at": "2026-12-16T09:00"}, "结束时间须晚于开始时间"),
        ({"starts_at": "1999-12-16T09:30", "ends_at": "1999-12-16T11:30"}, "2000年至2100年"),
        ({"starts_at": "0001-01-01T00:00", "ends_at": "0001-01-01T02:00"}, "2000年至2100年"),
        ({"starts_at": "2026-12-16T09:30", "ends_at": "2027-01-16T09:30"}, "一项活动最长七天"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=FR"}, "没有结束条件"),
        ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=2"}, "没有产生任何日期"),
        ({"rrule": "每周五"}, "无法识别"),
        ({"rrule": "FREQ=WEEKLY;COUNT=3", "exception_days": "十月一日"}, "2026-10-01"),
        ({"venue_id": "99999"}, "不是有效的选择"),
        ({"kind": "visit", "visit_kind": ""}, "走访类型"),
    ],
)
def test_bad_input_gives_a_chinese_message_and_writes_nothing(app, client, login_as, world, overrides, message):
    login_as("organiser")
    before = (count(Activity), count(ActivitySeries), count(AuditEntry))
    response = client.post("/activities/new", data=form(world, **overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert (count(Activity), count(ActivitySeries), count(AuditEntry)) == before


def test_create_publish_reschedule_cancel_over_http(app, client, login_as, world):
    login_as("organiser")
    response = client.post("/activities/new", data=form(world, action="publish", cohost_ids=str(world["tax"].id)))
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity))
    assert (activity.status, activity.sequence) == (ActivityStatus.published, 0)
    assert activity.starts_at == datetime(2026, 12, 16, 9, 30, tzinfo=SH)
    assert [o.id for o in activity.cohosts] == [world["tax"].id]
    response = client.post(f"/activities/{activity.id}/reschedule", data={"starts_at": "2026-12-17T09:30", "ends_at": "2026-12-17T11:30", "reason": "改期"})
    assert response.status_code == 302
    db.session.refresh(activity)
    assert activity.sequence == 1 and activity.status_reason == "改期"
    client.post(f"/activities/{activity.id}/edit", data=form(world, starts_at="2026-12-17T09:30", ends_at="2026-12-17T11:30", agenda="新议程", cohost_ids=str(world["tax"].id)))
    db.session.refresh(activity)
    assert activity.agenda == "新议程" and activity.sequence == 1
    # A refused action goes back to the page it was pressed on, with the reason; without a page, a 400.
    page_url = f"http://localhost/activities/{activity.id}"
    response = client.post(f"/activities/{activity.id}/cancel", data={"reason": ""}, headers={"Referer": page_url})
    assert response.status_code == 302 and response.headers["Location"] == f"/activities/{activity.id}"
    response = client.post(f"/activities/{activity.id}/cancel", data={"reason": ""})
    assert response.status_code == 400 and "请填写取消原因" in response.get_data(as_text=True)
    db.session.refresh(activity)
    assert activity.status == ActivityStatus.published
    client.post(f"/activities/{activity.id}/cancel", data={"reason": "天气原因"})
    db.session.refresh(activity)
    assert (activity.status, activity.sequence) == (ActivityStatus.cancelled, 2)
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "天气原因" in page and "改期 · 开始时间、结束时间" in page


def test_venue_conflict_blocks_then_override_with_reason_saves(app, client, login_as, world):
    factories.activity(starts_at=datetime(2026, 12, 16, 9, 0, tzinfo=SH), hours=2, venue=world["venue"], title="占用场地的会议")
    db.session.commit()
    login_as("organiser")
    page = client.post("/activities/new", data=form(world)).get_data(as_text=True)
    assert "该场地在此时段已被占用" in page and "占用场地的会议" in page
    assert count(Activity) == 1
    page = client.post("/activities/new", data=form(world, override="y")).get_data(as_text=True)
    assert "请填写仍使用该场地的理由" in page and count(Activity) == 1
    response = client.post("/activities/new", data=form(world, override="y", override_reason="分区使用", capacity="40"), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "超过场地容量" in page
    assert count(Activity) == 2
    assert "分区使用" in db.session.scalar(select(AuditEntry.note).where(AuditEntry.action == "create"))


def test_series_from_the_form_and_cancel_one_occurrence(app, client, login_as, world):
    login_as("organiser")
    response = client.post("/activities/new", data=form(
        world, kind="afternoon_tea", title="周五下午茶", starts_at="2026-12-04T15:00", ends_at="2026-12-04T16:30",
        rrule="FREQ=WEEKLY;BYDAY=FR;UNTIL=20261231", exception_days="2026-12-25", action="publish",
    ))
    assert response.status_code == 302
    rows = db.session.scalars(select(Activity).order_by(Activity.starts_at)).all()
    assert [r.starts_at.astimezone(SH).day for r in rows] == [4, 11, 18]
    assert all(r.status == ActivityStatus.published for r in rows)
    client.post(f"/activities/{rows[1].id}/cancel", data={"reason": "场地维修"})
    series = db.session.scalar(select(ActivitySeries))
    db.session.refresh(series)
    assert series.exdates == ["2026-12-11T15:00:00", "2026-12-25T15:00:00"]
    response = client.post(f"/activities/{rows[2].id}/edit", data=form(
        world, kind="afternoon_tea", title="周五下午茶（改到16点）", starts_at="2026-12-18T16:00", ends_at="2026-12-18T17:30", scope="following",
    ))
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ActivitySeries)) == 2


def test_slot_finder_page_lists_slots_and_links_into_the_form(app, client, login_as, world, monkeypatch):
    monkeypatch.setattr("app.events.views.activities.utcnow", lambda: datetime(2026, 9, 1, tzinfo=UTC))
    login_as("organiser")
    page = client.get(f"/activities/slots?duration=120&date_from=2026-10-01&date_to=2026-10-09&venue_id={world['venue'].id}&working_hours=09:00-12:00").get_data(as_text=True)
    assert "2026年10月8日 周四 09:00–11:00" in page
    assert "starts_at=2026-10-08T09:00" in page
    page = client.get(f"/activities/slots?duration=120&date_from=2026-10-01&date_to=2026-10-09&org_ids={world['tax'].id}&title=圆桌&kind=roundtable").get_data(as_text=True)
    assert f"cohost_ids={world['tax'].id}" in page and "kind=roundtable" in page
    page = client.get(f"/activities/new?starts_at=2026-10-08T09:00&ends_at=2026-10-08T11:00&title=圆桌&kind=roundtable&cohost_ids={world['tax'].id}&cohost_ids=99999").get_data(as_text=True)
    assert 'value="2026-10-08T09:00"' in page and 'value="圆桌"' in page
    assert '<option selected value="roundtable">' in page
    assert f'value="{world["tax"].id}" checked' in page
    page = client.get("/activities/slots?duration=60&date_from=2031-01-06&date_to=2031-01-07").get_data(as_text=True)
    assert "2031 年工作日：暂定" in page and "2026 年工作日" not in page
    page = client.get("/activities/slots?duration=0&date_from=2026-10-01&date_to=2026-10-09").get_data(as_text=True)
    assert "is-invalid" in page
    page = client.get("/activities/slots?duration=60&date_from=0001-01-01&date_to=0001-01-09").get_data(as_text=True)
    assert "2000年至2100年" in page


def test_calendar_filters(app, client, login_as, world):
    day = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    factories.activity(kind=ActivityKind.salon, starts_at=day, title="沙龙一")
    factories.activity(kind=ActivityKind.roundtable, starts_at=day, title="圆桌一", status=ActivityStatus.draft)
    db.session.commit()
    login_as("organiser")
    page = client.get("/calendar?year=2026&month=12&kind=salon").get_data(as_text=True)
    assert "沙龙一" in page and "圆桌一" not in page
    page = client.get("/calendar/agenda?day=2026-12-01&status=draft").get_data(as_text=True)
    assert "圆桌一" in page and "沙龙一" not in page
    assert client.get("/calendar?year=1999&month=1").status_code == 404


def test_themed_day_joins_its_month_theme_and_the_year_plan_shows_it(app, client, login_as, world):
    theme = factories.theme(2026, 12, title="数字化转型")
    factories.activity(kind=ActivityKind.visit, starts_at=datetime(2026, 12, 3, 1, tzinfo=UTC), title="走访某企业",
                       site=factories.organisation(OrgKind.enterprise))
    db.session.commit()
    login_as("organiser")
    client.post("/activities/new", data=form(world, kind="themed_day", title="12月主题党日", action="publish"))
    activity = db.session.scalar(select(Activity).where(Activity.title == "12月主题党日"))
    assert activity.theme_id == theme.id
    page = client.get("/themes?year=2026").get_data(as_text=True)
    assert "数字化转型" in page and "12月主题党日" in page and "已发布" in page
    assert "走访某企业" not in page and "党建工作指导员走访 1 次" in page
    page = client.get("/themes/plan/2026/print").get_data(as_text=True)
    assert "2026年度活动计划" in page and "@page { size: A4" in page and "12月主题党日" in page
    client.get("/lang/en")
    page = client.get("/themes/plan/2026/print").get_data(as_text=True)
    assert "Year plan 2026" in page and "年度活动计划" not in page  # printed in the reader's language
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "Published" in page and "SEQUENCE" in page


def test_rescheduling_into_a_taken_venue_offers_free_slots(app, client, login_as, world, monkeypatch):
    monkeypatch.setattr("app.events.views.activities.utcnow", lambda: datetime(2026, 9, 1, tzinfo=UTC))
    factories.activity(starts_at=datetime(2026, 9, 30, 9, 0, tzinfo=SH), hours=3, venue=world["venue"], title="占用")
    moving = factories.activity(starts_at=datetime(2026, 9, 29, 9, 0, tzinfo=SH), hours=2, venue=world["venue"])
    db.session.commit()
    login_as("organiser")
    page = client.post(f"/activities/{moving.id}/reschedule", data={"starts_at": "2026-09-30T10:00", "ends_at": "2026-09-30T12:00", "reason": "延期"}).get_data(as_text=True)
    assert "该场地在此时段已被占用" in page
    assert 'data-start="2026-09-30T14:00"' in page and 'data-start="2026-10-08T09:00"' in page
    db.session.refresh(moving)
    assert moving.sequence == 0 and moving.starts_at == datetime(2026, 9, 29, 9, 0, tzinfo=SH)


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=MONTHLY;BYDAY=2TH;UNTIL=20261231", "每月第2个周四，至2026年12月31日 周四"),
        ("FREQ=WEEKLY;BYDAY=FR;COUNT=10", "每周五，共10次"),
        ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "每月最后一个周五，共3次"),
        ("FREQ=YEARLY;BYMONTH=3;COUNT=2", "FREQ=YEARLY;COUNT=2;BYMONTH=3"),
    ],
)
def test_series_rules_in_words(app, rule, words):
    from flask_babel import force_locale

    from app.events.series import describe

    with app.test_request_context(), force_locale("zh_CN"):
        assert describe(rule) == words
