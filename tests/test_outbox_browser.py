"""The organiser's outbox on a phone: a given-up message with its error, retried by hand (CSRF on)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from tests import factories

pytestmark = pytest.mark.browser


def test_organiser_retries_a_given_up_message_on_a_phone(live_server, page):
    base_url, flask_app = live_server
    flask_app.config["WTF_CSRF_ENABLED"] = True
    with flask_app.app_context():
        organiser = factories.user("organiser")
        email = organiser.email
        now = datetime.now(UTC)
        db.session.add(OutboxMessage(
            kind="reminder", recipient="qiye@example.com", subject="活动提醒：减税降费政策沙龙", raw=b"x",
            message_id="<m-browser@linghang.test>", status=OutboxStatus.failed, attempts=8,
            next_attempt_at=now, last_error="SMTPRecipientsRefused: 550 mailbox unavailable", created_at=now,
        ))
        db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")
    page.goto(base_url + "/outbox?status=failed")
    assert page.get_by_text("550 mailbox unavailable").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with page.expect_navigation():
        page.get_by_role("button", name="立即重发").click()
    assert page.get_by_text("该邮件将很快重新发送。").is_visible()
    with flask_app.app_context():
        assert db.session.scalar(db.select(OutboxMessage.status)) == OutboxStatus.queued
