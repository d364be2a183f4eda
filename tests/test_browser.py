"""The browser journey of the foundation: log in as the demo organiser, Chinese home, switch to English."""

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
        page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Welcome" in page.content()
    assert "Coming up" in page.content()
