"""The Subscribe page on a phone: create a link, see it once with its QR code, then fetch the feed."""

from __future__ import annotations

import urllib.request

import pytest

from app.auth.models import Role
from app.extensions import db
from app.orgs.models import OrgKind
from tests import factories

pytestmark = pytest.mark.browser


def test_contact_subscribes_on_a_phone(live_server, page):
    base_url, flask_app = live_server
    with flask_app.app_context():
        enterprise = factories.organisation(OrgKind.enterprise, name="宜春锂电科技有限公司")
        user = factories.user(Role.contact, org=enterprise)
        email = user.email
        db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")
    page.goto(base_url + "/subscribe")
    page.get_by_label("日历").select_option(label="宜春锂电科技有限公司（本单位）")
    page.get_by_label("名称").fill("我的手机")
    page.get_by_role("button", name="生成链接").click()
    card = page.locator("#new-link")
    card.wait_for()
    assert card.locator("svg").count() == 1
    https = card.locator("#fresh-https").input_value()
    assert https.startswith(base_url + "/feeds/") and https.endswith(".ics")
    assert card.locator("#fresh-webcal").input_value() == "webcal://" + https.split("://", 1)[1]
    # Nothing overflows the phone's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with urllib.request.urlopen(https) as response:
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert b"X-WR-CALNAME:\xe9\xa2\x86\xe8\x88\xaa" in response.read()
    page.goto(base_url + "/subscribe")
    assert page.locator("#new-link").count() == 0
    assert "我的手机" in page.content()
