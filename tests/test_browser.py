"""The browser journeys of the foundation: log in, Chinese home, switch to English; pages under the CSP."""

from __future__ import annotations

import pytest

from app.demo import data
from app.demo.services import load
from app.extensions import db

pytestmark = pytest.mark.browser


def test_organiser_logs_in_sees_chinese_and_switches_to_english(live_server, page):
    base_url, flask_app = live_server
    with flask_app.app_context():
        load()
        db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + "/")
    page.get_by_label("邮箱").fill("organiser@linghang.demo")
    page.get_by_label("密码").fill(data.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")
    assert "欢迎" in page.content()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("button", name="菜单").click()
    page.locator("#lang-menu").click()
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Welcome" in page.content()
    assert "Coming up" in page.content()


def test_main_pages_work_under_the_content_security_policy(live_server, page):
    """Scripts from app/static run, nothing inline is needed; the page fixture fails on any CSP violation."""
    base_url, flask_app = live_server
    with flask_app.app_context():
        load()
        db.session.commit()
    response = page.goto(base_url + "/login")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    page.get_by_label("邮箱").fill("organiser@linghang.demo")
    page.get_by_label("密码").fill(data.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")
    for path in ("/calendar", "/activities", "/themes", "/problems", "/dashboard", "/my/invitations", "/account/password", "/outbox", "/themes/plan/2026/print"):
        assert page.goto(base_url + path).status == 200, path
    # activity_form.js: the visit kind shows only for visits.
    page.goto(base_url + "/activities/new")
    visit_kind = page.locator("#visit_kind")
    page.locator("#kind").select_option("visit")
    assert visit_kind.is_visible()
    page.locator("#kind").select_option("roundtable")
    assert not visit_kind.is_visible()
    # app.js: the feed address is selected on click, ready to copy.
    page.goto(base_url + "/subscribe")
    address = page.locator("[data-select-on-click]").first
    address.click()
    assert address.evaluate("field => field.value.length > 0 && field.selectionStart === 0 && field.selectionEnd === field.value.length")
    # The language switch is a POST form in the menu; Bootstrap's dropdown (static JS) opens it.
    page.goto(base_url + "/")
    page.locator("#lang-menu").click()
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
