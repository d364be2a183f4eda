"""Month cells show titles without their leading date; the week is a time grid (a list on phones)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.events.templating import calendar_label
from app.extensions import db
from tests import factories


@pytest.mark.parametrize(("title", "label"), [
    ("2026年11月主题党日：减税降费", "主题党日：减税降费"),
    ("2026年11月5日（周四）宜黄沙龙", "宜黄沙龙"),
    ("2026-11-05 企业家下午茶", "企业家下午茶"),
    ("11月5日 圆桌会", "圆桌会"),
    ("2026年11月", "2026年11月"),  # nothing left: the whole title
    ("2026年度总结会", "2026年度总结会"),
    ("12月份工作例会", "12月份工作例会"),
    ("走访瑞一韵承", "走访瑞一韵承"),
])
def test_calendar_label_drops_the_leading_date(title, label):
    assert calendar_label(title) == label


def test_month_cells_show_the_title_without_the_date(app, client, login_as):
    factories.activity(title="2026年11月产业链沙龙：出口退税", starts_at=datetime(2026, 11, 5, 1, 0, tzinfo=UTC))
    db.session.commit()
    login_as("organiser")
    html = client.get("/calendar?year=2026&month=11").get_data(as_text=True)
    chip = re.search(r'<a class="cal-chip[^>]*>([^<]*)</a>', html).group(1)
    assert re.sub(r"\s+", " ", chip).strip() == "09:00 产业链沙龙：出口退税"


def test_week_grid_places_activities_by_day_and_time(app, client, login_as):
    # Wednesday 9 Dec 2026, 14:30–16:30 Beijing; Friday 07:00–08:00 (earlier than the usual 08:00 start).
    factories.activity(title="沙龙", starts_at=datetime(2026, 12, 9, 6, 30, tzinfo=UTC), hours=2)
    factories.activity(title="早茶", starts_at=datetime(2026, 12, 10, 23, 0, tzinfo=UTC), hours=1)
    db.session.commit()
    login_as("organiser")
    html = client.get("/calendar/week?day=2026-12-09").get_data(as_text=True)
    events = dict(re.findall(r'style="(grid-column: \d+; grid-row: \d+ / \d+);" data-activity="\d+">\s*<a[^>]*>\s*[\d:]+ (\S+)</a>', html)[i][::-1] for i in range(2))
    hours = re.findall(r'class="week-hour[^"]*"[^>]*>(\d\d:00)<', html)
    assert hours[0] == "07:00" and hours[-1] == "17:00"
    # Columns: 1 = hours, 2 = Monday … so Wednesday is 4, Friday 6. Rows: 1 = heads, then half hours from 07:00.
    assert events["沙龙"] == "grid-column: 4; grid-row: 17 / 21"  # 14:30 → row 2 + 15, 16:30 → row 2 + 19
    assert events["早茶"] == "grid-column: 6; grid-row: 2 / 4"
    assert 'id="week-list"' in html  # the phone's list of the same week
