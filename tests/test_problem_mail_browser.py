"""From a visit, the instructor records a problem with the visited enterprise already chosen; the
liaison gets the assignment mail; on 办结 the enterprise contact gets a mail whose link opens the
rating page, without an account."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core.clock import utcnow
from app.extensions import db
from app.mail import dispatch
from app.orgs.models import InstructorAssignment, OrgKind
from tests import factories
from tests.conftest import SMTPSink
from tests.test_problems_browser import log_in, open_action

pytestmark = pytest.mark.browser


def deliver(flask_app, sink: SMTPSink) -> dict[str, object]:
    """Send what the outbox holds now to the local SMTP server; the mails received, by recipient."""
    with flask_app.app_context():
        dispatch.deliver_due(utcnow())
        db.session.commit()
    return {str(message["To"]): message for message in sink.parsed()}


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def sink(live_server):
    _base_url, flask_app = live_server
    server = SMTPSink()
    server.start()
    flask_app.config["MAIL_SERVER"], flask_app.config["MAIL_PORT"] = "127.0.0.1", server.port
    yield server
    server.stop()


def test_visit_problem_assignment_mail_and_rating_link(live_server, page, sink):
    base_url, flask_app = live_server
    with flask_app.app_context():
        department = factories.organisation(OrgKind.department, name="宜黄县商务局", short_name="县商务局")
        enterprise = factories.organisation(OrgKind.enterprise, name="江西瑞一韵承科技有限公司", short_name="瑞一韵承")
        for n in range(5):
            factories.organisation(OrgKind.enterprise, name=f"江西其他企业{n}有限公司")
        instructor = factories.user("instructor", email="instructor@test.cn")
        factories.user("liaison", org=department, email="liaison@test.cn")
        factories.person(enterprise, name="张经理", email="zhang@ruiyi.cn")
        db.session.add(InstructorAssignment(instructor=instructor.person, enterprise=enterprise))
        visit = factories.activity(
            kind="visit", visit_kind="outreach", site=enterprise, starts_at=utcnow() - timedelta(minutes=30),
            organiser=instructor.person, title="走访瑞一韵承",
        )
        visit_id, enterprise_id = visit.id, enterprise.id
        db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})

    log_in(page, base_url, "instructor@test.cn")
    page.goto(f"{base_url}/activities/{visit_id}")
    page.get_by_role("link", name="登记问题").click()
    # The visited enterprise is already chosen: nothing to pick among the enterprises.
    assert page.input_value("#enterprise") == str(enterprise_id)
    page.select_option("#category", label="出口通关")
    page.fill("#description", "出口许可证办理要 5–7 个工作日")
    page.select_option("#department", label="县商务局")
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url(re.compile(r"/problems/\d+$"))
    problem_url = page.url

    assignment = deliver(flask_app, sink)
    to_liaison = next(m for to, m in assignment.items() if "liaison@test.cn" in to)
    assert "交办" in str(to_liaison["Subject"]) and "出口许可证" in body(to_liaison)
    assert problem_url in body(to_liaison)

    log_in(page, base_url, "liaison@test.cn")
    page.goto(problem_url)
    open_action(page, "resolve")
    page.fill("#resolve-resolution", "商务局代办，2 个工作日办结")
    with page.expect_navigation():
        page.locator("form[action$='/resolve'] button").click()

    resolution = deliver(flask_app, sink)
    to_contact = next(m for to, m in resolution.items() if "zhang@ruiyi.cn" in to)
    assert "评价" in str(to_contact["Subject"]) and "商务局代办" in body(to_contact)
    link = re.search(r"http://\S+/problems/rate/[\w-]+", body(to_contact)).group(0)

    # The enterprise contact has no account: the link alone opens the rating.
    page.context.clear_cookies()
    page.goto(link)
    assert "出口许可证办理要" in page.content()
    page.check("#sat-satisfied")
    with page.expect_navigation():
        page.get_by_role("button", name="提交").click()
    assert "您的评价：满意" in page.locator("#rating-given").inner_text()
