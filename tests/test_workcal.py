"""The working calendar: statutory holidays of any year, official arrangements, and who uses them."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from app.audit.models import AuditEntry
from app.demo.services import WEEKLY_TEA, load
from app.events.models import Activity, ActivitySeries
from app.events.slots import find_slots
from app.extensions import db
from app.problems.models import ProblemCategory
from app.problems.services import default_deadline
from app.workcal import services as workcal
from app.workcal.calendar import Source
from app.workcal.models import ArrangedDay, Festival, HolidayArrangement
from app.workcal.statutory import package_year, statutory_holidays

DAY = timedelta(days=1)

# The statutory days off, from the law and an almanac (除夕 is the day before 正月初一).
STATUTORY = {
    2027: {
        Festival.new_year: [date(2027, 1, 1)],
        Festival.spring_festival: [date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)],
        Festival.qingming: [date(2027, 4, 5)],
        Festival.labour_day: [date(2027, 5, 1), date(2027, 5, 2)],
        Festival.dragon_boat: [date(2027, 6, 9)],
        Festival.mid_autumn: [date(2027, 9, 15)],
        Festival.national_day: [date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3)],
    },
    2030: {
        Festival.new_year: [date(2030, 1, 1)],
        Festival.spring_festival: [date(2030, 2, 2), date(2030, 2, 3), date(2030, 2, 4), date(2030, 2, 5)],
        Festival.qingming: [date(2030, 4, 5)],
        Festival.labour_day: [date(2030, 5, 1), date(2030, 5, 2)],
        Festival.dragon_boat: [date(2030, 6, 5)],
        Festival.mid_autumn: [date(2030, 9, 12)],
        Festival.national_day: [date(2030, 10, 1), date(2030, 10, 2), date(2030, 10, 3)],
    },
}

# A 2027 notice as the State Council might publish it: the Spring Festival runs 5–12 February
# (more than the four statutory days) and Saturday 20 February is worked in exchange.
NOTICE_2027 = {
    "notice": "国办发明电〔2026〕9号",
    "new_year_first": "2027-01-01", "new_year_last": "2027-01-03",
    "spring_festival_first": "2027-02-05", "spring_festival_last": "2027-02-12", "spring_festival_makeup": "2027-02-20",
    "qingming_first": "2027-04-03", "qingming_last": "2027-04-05",
    "labour_day_first": "2027-05-01", "labour_day_last": "2027-05-05", "labour_day_makeup": "2027-04-25，2027-05-08",
    "dragon_boat_first": "2027-06-09",
    "mid_autumn_first": "2027-09-15",
    "national_day_first": "2027-10-01", "national_day_last": "2027-10-07", "national_day_makeup": "2027-09-26、2027-10-09",
}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin(login_as):
    return login_as("admin")


def enter_2027(client) -> None:
    response = client.post("/holidays/2027", data=NOTICE_2027)
    assert response.status_code == 302, response.get_data(as_text=True)
    workcal.forget_cached_years()  # the test's own app context read the year before the request


# -- computed from the law -------------------------------------------------------------------

@pytest.mark.parametrize("year", [2025, 2026])
def test_computed_statutory_days_match_the_state_councils_notices(year):
    official_holidays, _makeup = package_year(year)
    computed = statutory_holidays(year)
    assert len(computed) == 13
    for day, festival in computed.items():
        assert official_holidays.get(day) == festival, day


@pytest.mark.parametrize("year", sorted(STATUTORY))
def test_statutory_holidays_of_later_years_are_off_and_provisional(app, year):
    calendar = workcal.year_calendar(year)
    assert calendar.source == Source.computed and not calendar.official
    expected = {day: festival for festival, days in STATUTORY[year].items() for day in days}
    assert calendar.holidays == expected
    for day in expected:
        assert not workcal.is_working_day(day), day
        assert not workcal.is_official(day)
    assert calendar.makeup_days == {}
    weekday = next(d for d in (date(year, 1, 2) + n * DAY for n in range(7)) if d.weekday() < 5 and d not in expected)
    assert workcal.is_working_day(weekday)
    assert not workcal.is_working_day(date(year, 3, 2) + (5 - date(year, 3, 2).weekday()) * DAY)  # a Saturday


def test_slot_finder_no_longer_offers_new_years_day_2027(app):
    found = find_slots(duration=timedelta(hours=1), date_from=date(2027, 1, 1), date_to=date(2027, 1, 8), limit=1)
    assert found.slots[0][0].astimezone(UTC).date() == date(2027, 1, 4)
    assert found.provisional_years == [2027]


def test_one_query_per_year_per_request(app):
    statements: list[str] = []

    def counted(_conn, _cursor, statement, *_args):
        if "holiday_arrangement" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        workcal.forget_cached_years()
        for day in (date(2027, 1, 1) + n * DAY for n in range(365)):
            workcal.is_working_day(day)
        workcal.add_working_days(date(2027, 3, 1), 40)
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)
    assert len(statements) == 1


# -- the State Council's notice, entered by an administrator ------------------------------------

def test_an_entered_2027_arrangement_overrides_the_computed_year(client, admin):
    enter_2027(client)
    calendar = workcal.year_calendar(2027)
    assert calendar.source == Source.entered and calendar.official and calendar.notice == NOTICE_2027["notice"]
    assert date(2027, 2, 20).weekday() == 5 and workcal.is_working_day(date(2027, 2, 20))  # a Saturday worked
    assert date(2027, 2, 11).weekday() == 3 and not workcal.is_working_day(date(2027, 2, 11))  # an extra day off
    assert not workcal.is_working_day(date(2027, 10, 7)) and workcal.is_working_day(date(2027, 10, 9))
    assert calendar.holidays[date(2027, 2, 12)] == Festival.spring_festival
    assert calendar.makeup_days[date(2027, 4, 25)] == Festival.labour_day
    assert count(ArrangedDay) == 3 + 8 + 3 + 5 + 1 + 1 + 7 + 5
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "holiday_arrangement"))
    assert entry.action == "create" and entry.actor_id == admin.id
    assert "2027-02-20 spring_festival" in entry.changes["makeup_days"][1]
    page = client.get("/holidays").get_data(as_text=True)
    row_2027 = page.split('data-year="2027"')[1].split("</tr>")[0]
    row_2028 = page.split('data-year="2028"')[1].split("</tr>")[0]
    assert "正式（国务院放假安排，由管理员录入）" in row_2027 and "国办发明电〔2026〕9号" in row_2027
    assert "暂定" in row_2028 and "尚未公布" in row_2028
    assert "正式（国务院放假安排，系统内置）" in page.split('data-year="2026"')[1].split("</tr>")[0]


def test_the_slot_finder_and_deadlines_use_the_entered_arrangement(client, admin):
    # Provisional: only the four statutory days of the Spring Festival are off.
    assert default_deadline(ProblemCategory.tax, date(2027, 2, 4)) == date(2027, 2, 15)
    page = client.get("/activities/slots?duration=60&date_from=2027-02-04&date_to=2027-02-25").get_data(as_text=True)
    assert "2027 年工作日：暂定" in page
    enter_2027(client)
    # Five working days from Thursday 4 February skip 5–12 February and the weekend after.
    assert default_deadline(ProblemCategory.tax, date(2027, 2, 4)) == date(2027, 2, 19)
    found = find_slots(duration=timedelta(hours=3), date_from=date(2027, 2, 5), date_to=date(2027, 2, 28), limit=30)
    days = sorted({start.astimezone(UTC).date() for start, _end in found.slots})
    assert days[0] == date(2027, 2, 15) and date(2027, 2, 20) in days and date(2027, 2, 21) not in days
    assert found.provisional_years == []
    page = client.get("/activities/slots?duration=60&date_from=2027-02-04&date_to=2027-02-25").get_data(as_text=True)
    assert "2027 年工作日：正式" in page and "暂定" not in page


def test_editing_and_removing_an_arrangement_is_audited(client, admin):
    enter_2027(client)
    changed = {**NOTICE_2027, "spring_festival_last": "2027-02-11", "spring_festival_makeup": "2027-02-20 2027-02-13"}
    assert client.post("/holidays/2027", data=changed).status_code == 302
    workcal.forget_cached_years()
    assert workcal.is_working_day(date(2027, 2, 12)) and workcal.is_working_day(date(2027, 2, 13))
    update = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
    assert set(update.changes) == {"holidays", "makeup_days"}
    # (app.audit orders each [before, after] pair itself, so only what each side holds is checked.)
    assert sorted("2027-02-12 spring_festival" in side for side in update.changes["holidays"]) == [False, True]
    assert sorted("2027-02-13 spring_festival" in side for side in update.changes["makeup_days"]) == [False, True]
    response = client.post("/holidays/2027/delete", follow_redirects=True)
    assert "2027 年放假安排已删除" in response.get_data(as_text=True)
    workcal.forget_cached_years()
    assert count(HolidayArrangement) == 0 and count(ArrangedDay) == 0
    assert workcal.year_calendar(2027).source == Source.computed
    removal = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delete"))
    assert None in removal.changes["notice"] and NOTICE_2027["notice"] in removal.changes["notice"]


def test_the_form_starts_from_what_is_known(client, admin):
    page = client.get("/holidays/2026").get_data(as_text=True)
    assert 'value="2026-02-15"' in page and 'value="2026-02-23"' in page and "2026-02-14, 2026-02-28" in page
    page = client.get("/holidays/2027").get_data(as_text=True)
    assert 'value="2027-02-05"' in page and 'value="2027-02-08"' in page


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_a_prefilled_year_saves_as_it_was_shown(client, admin, year):
    shown = workcal.year_calendar(year)
    page = client.get(f"/holidays/{year}").get_data(as_text=True)
    values = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    assert client.post(f"/holidays/{year}", data=values).status_code == 302
    workcal.forget_cached_years()
    saved = workcal.year_calendar(year)
    assert saved.source == Source.entered
    assert set(saved.holidays) == set(shown.holidays) and saved.makeup_days == shown.makeup_days


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"new_year_first": "2026-12-31"}, "所有日期都须在 2027 年内"),
        ({"spring_festival_makeup": "2028-01-08"}, "所有日期都须在 2027 年内"),
        ({"spring_festival_first": "2027-02-12", "spring_festival_last": "2027-02-05"}, "放假最后一天不能早于第一天"),
        ({"spring_festival_last": "2027-03-12"}, "一个假期最长 15 天"),
        ({"spring_festival_makeup": "2027-02-06"}, "不能既是放假日又是调休上班日"),
        ({"spring_festival_makeup": "2027-02-17"}, "不是周六或周日"),
        ({"spring_festival_makeup": "下周六"}, "调休上班日请填写日期"),
        ({"national_day_makeup": "2027-09-26, 2027-02-20"}, "作为调休上班日填了两次"),
        ({"labour_day_first": "2027-02-08", "labour_day_last": "2027-02-09"}, "已是春节的放假日"),
        ({"qingming_first": "", "qingming_last": "2027-04-05"}, "请填写放假第一天"),
        ({"dragon_boat_first": "2027-13-40"}, "日期"),
        ({"notice": "长" * 121}, "120"),
        ({key: "" for key in NOTICE_2027}, "请至少填写一个假期"),
    ],
)
def test_bad_arrangements_are_refused_and_nothing_is_written(client, admin, changes, message):
    response = client.post("/holidays/2027", data={**NOTICE_2027, **changes})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(HolidayArrangement) == 0 and count(ArrangedDay) == 0
    assert count(AuditEntry) == 0


def test_holidays_are_for_administrators_only(client, login_as):
    login_as("organiser")
    assert client.get("/holidays").status_code == 403
    assert client.get("/holidays/2027").status_code == 403
    assert client.post("/holidays/2027", data=NOTICE_2027).status_code == 403
    assert count(HolidayArrangement) == 0


def test_years_outside_the_calendar_are_not_found(client, admin):
    assert client.get("/holidays/1999").status_code == 404
    assert client.get("/holidays/2101").status_code == 404
    assert client.get("/holidays?year=2030").headers["Location"].endswith("/holidays/2030")
    response = client.get("/holidays?year=abc")
    assert response.status_code == 200 and 'data-year="2026"' in response.get_data(as_text=True)


def test_the_pages_speak_english_too(client, admin):
    client.get("/lang/en")
    page = client.get("/holidays").get_data(as_text=True)
    assert "Provisional (statutory holidays computed from the law" in page
    page = client.get("/holidays/2030").get_data(as_text=True)
    assert "Mid-Autumn Festival" in page and "中秋" not in page


# -- the demo series -----------------------------------------------------------------------------

def test_the_demo_weekly_tea_skips_holidays(app):
    load(now=datetime(2026, 6, 15, 2, 0, tzinfo=UTC))
    series = db.session.scalar(select(ActivitySeries).join(Activity).where(Activity.title == WEEKLY_TEA))
    days = [a.starts_at.astimezone(UTC).date() for a in db.session.scalars(
        select(Activity).where(Activity.series_id == series.id).order_by(Activity.starts_at)
    )]
    assert date(2026, 9, 18) in days and date(2026, 10, 9) in days
    assert date(2026, 9, 25) not in days  # 中秋
    assert date(2026, 10, 2) not in days  # 国庆
    assert "2026-09-25T13:30:00" in series.exdates
    assert all(workcal.is_working_day(day) for day in days)


# -- two administrators at once ------------------------------------------------------------------

def test_concurrent_saves_of_one_year_are_serialised(app, backend):
    writers = 8 if backend == "postgresql" else 4
    db.session.commit()
    db.session.remove()
    start = threading.Barrier(writers)
    errors: list[BaseException] = []
    lines = [
        workcal.FestivalInput(Festival.new_year, date(2027, 1, 1), date(2027, 1, 3)),
        workcal.FestivalInput(Festival.spring_festival, date(2027, 2, 5), date(2027, 2, 12), "2027-02-20"),
    ]

    def save(number: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=30)
                data = workcal.ArrangementInput(year=2027, notice=f"第{number}号", festivals=lines)
                workcal.save_arrangement(data, now=datetime(2026, 11, 30, 8, number, tzinfo=UTC))
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(save, range(writers)))
    assert errors == []
    assert count(HolidayArrangement) == 1 and count(ArrangedDay) == 3 + 8 + 1
    actions = sorted(db.session.scalars(select(AuditEntry.action)))
    assert actions == ["create"] + ["update"] * (writers - 1)
