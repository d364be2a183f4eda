"""Browser journey: a contact answers from the mailed link on a phone; the organiser checks them in."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import SMTP

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.invitations import services
from app.mail.models import OutboxMessage
from app.orgs.models import OrgKind
from tests import factories

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_contact_accepts_for_two_and_organiser_checks_them_in(live_server, page, browser):
    base_url, flask_app = live_server
    flask_app.config["WTF_CSRF_ENABLED"] = True  # as in production: every form carries its token
    # The door opens three days ahead here, so the check-in below (two days before) is accepted.
    flask_app.config["CHECKIN_OPENS_MINUTES_BEFORE"] = 3 * 24 * 60
    with flask_app.app_context():
        organiser = factories.user("organiser")
        firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
        contact = factories.person(firm, name="张经理", email="zhang@example.com")
        start = utcnow().replace(microsecond=0) + timedelta(days=2)
        activity = factories.activity(title="链上沙龙：数字化转型", starts_at=start, capacity=20,
                                      agenda="一、主题分享\n二、交流")
        services.invite(activity, services.Selection(organisation_ids=[firm.id]), now=utcnow())
        db.session.commit()
        raw = db.session.scalar(select(OutboxMessage.raw))
        text = message_from_bytes(raw, policy=SMTP).get_body(("plain",)).get_content()
        link = re.search(r"http://\S+/rsvp/\S+", text).group(0)
        activity_id, email = activity.id, organiser.email
        assert contact.id

    # The contact, on a phone, opens the link from the e-mail.
    page.set_viewport_size(PHONE)
    page.goto(link)
    assert "链上沙龙：数字化转型" in page.content() and "主题分享" in page.content()
    page.locator("label[for=answer-accepted]").click()
    page.get_by_label("人数").fill("2")
    page.get_by_label("参加人员").fill("张经理，李工")
    page.get_by_role("button", name="提交回复").click()
    page.wait_for_selector("#checkin-qr svg")
    assert "谢谢，您的回复已保存" in page.content()
    code = page.locator("#checkin-code").inner_text().strip()
    assert len(code) == 8
    no_overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_overflow

    # The organiser, on another phone, checks them in by the code.
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE)
    organiser_page = context.new_page()
    try:
        organiser_page.goto(base_url + "/login")
        organiser_page.get_by_label("邮箱").fill(email)
        organiser_page.get_by_label("密码").fill(factories.PASSWORD)
        organiser_page.get_by_role("button", name="登录").click()
        organiser_page.wait_for_url(base_url + "/")
        organiser_page.goto(f"{base_url}/activities/{activity_id}/checkin")
        assert organiser_page.locator("#att-expected").inner_text() == "2"
        assert organiser_page.locator("#att-present").inner_text() == "0"
        organiser_page.locator("#code").fill(code.lower())
        organiser_page.locator("#code-form").get_by_role("button", name="签到", exact=True).click()
        organiser_page.wait_for_selector(".alert-success")
        assert "张经理" in organiser_page.locator(".alert-success").inner_text()
        assert organiser_page.locator("#att-present").inner_text() == "2"
        # Before the start there is no absence and no rate yet.
        assert organiser_page.locator("#att-rate").count() == 0
        assert organiser_page.locator("#att-not-started").is_visible()
    finally:
        context.close()
