"""The week view in a browser: a time grid on a desktop, a list at 390 px."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.extensions import db
from tests import factories
from tests.test_problems_browser import log_in

pytestmark = pytest.mark.browser


def test_week_is_a_time_grid_on_desktop_and_a_list_on_a_phone(live_server, page):
    base_url, flask_app = live_server
    with flask_app.app_context():
        factories.user("organiser", email="organiser@test.cn")
        factories.activity(title="2026年12月产业链沙龙", starts_at=datetime(2026, 12, 9, 6, 30, tzinfo=UTC), hours=2)
        db.session.commit()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base_url, "organiser@test.cn")
    page.goto(base_url + "/calendar/week?day=2026-12-09")
    grid_event = page.locator("#week-grid .week-event")
    assert grid_event.is_visible() and not page.locator("#week-list").is_visible()
    event_box = grid_event.bounding_box()
    wednesday = page.locator("#week-grid .week-day-head").nth(2).bounding_box()
    hour_14 = page.locator("#week-grid .week-hour", has_text="14:00").bounding_box()
    hour_16 = page.locator("#week-grid .week-hour", has_text="16:00").bounding_box()
    assert abs(event_box["x"] - wednesday["x"]) < 5
    assert hour_14["y"] < event_box["y"] < hour_16["y"] < event_box["y"] + event_box["height"]
    assert "产业链沙龙" in grid_event.inner_text() and "2026年12月" not in grid_event.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    assert not page.locator("#week-grid").is_visible() and page.locator("#week-list").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
