"""The navigation bar stays on one line on a 1280 px screen, in Chinese and in English."""

from __future__ import annotations

import pytest

from app.demo import data
from app.demo.services import load
from app.extensions import db

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("email", ["organiser@linghang.demo", "admin@linghang.demo"])
def test_the_navbar_fits_one_line_at_1280_px(live_server, page, tmp_path, email):
    base_url, flask_app = live_server
    with flask_app.app_context():
        load()
        db.session.commit()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(base_url + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(data.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")
    heights = {}
    for language in ("zh-CN", "en"):
        if page.locator("html").get_attribute("lang") != language:
            page.locator("#lang-menu").click()
            with page.expect_navigation():
                page.get_by_text("English", exact=True).click()
        assert page.locator("html").get_attribute("lang") == language
        page.screenshot(path=str(tmp_path / f"navbar-{language}.png"))
        links = page.locator("nav.navbar .nav-link")
        tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
        assert len(tops) == 1, f"{language}: the navigation wraps onto {len(tops)} lines"
        heights[language] = page.locator("nav.navbar").bounding_box()["height"]
    assert heights["en"] <= heights["zh-CN"] + 1
