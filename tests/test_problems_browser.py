"""On a phone: the instructor records a problem during an activity (surviving a dropped connection),
the department liaison resolves it, the enterprise is satisfied, and the dashboard's figures move."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core.clock import utcnow
from app.extensions import db
from app.orgs.models import InstructorAssignment, OrgKind
from tests import factories

pytestmark = pytest.mark.browser


def log_in(page, base_url, email):
    page.context.clear_cookies()
    page.goto(base_url + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/")


def figure(page, base_url, name):
    page.goto(base_url + "/dashboard")
    return page.locator(f"#fig-{name}").inner_text().strip()


def open_action(page, action):
    page.locator(f"details:has(form[action$='/{action}']) > summary").click()


def test_record_resolve_satisfy_and_dashboard(live_server, page):
    base_url, flask_app = live_server
    with flask_app.app_context():
        department = factories.organisation(OrgKind.department, name="宜黄县商务局", short_name="县商务局")
        enterprise = factories.organisation(OrgKind.enterprise, name="江西瑞一韵承科技有限公司", short_name="瑞一韵承")
        factories.organisation(OrgKind.enterprise, name="江西其他企业有限公司")
        instructor = factories.user("instructor", email="instructor@test.cn")
        factories.user("liaison", org=department, email="liaison@test.cn")
        factories.user("contact", org=enterprise, email="contact@test.cn")
        factories.user("organiser", email="organiser@test.cn")
        db.session.add(InstructorAssignment(instructor=instructor.person, enterprise=enterprise))
        start = utcnow() - timedelta(minutes=30)
        activity = factories.activity(kind="visit", visit_kind="outreach", site=enterprise, starts_at=start, organiser=instructor.person, title="走访瑞一韵承")
        activity_id = activity.id
        db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})

    log_in(page, base_url, "organiser@test.cn")
    assert figure(page, base_url, "collected") == "0"
    assert figure(page, base_url, "resolved") == "0"

    # The instructor, on the activity's page, records what the enterprise raised.
    log_in(page, base_url, "instructor@test.cn")
    page.goto(f"{base_url}/activities/{activity_id}")
    page.get_by_role("link", name="登记问题").click()
    # The visited enterprise is offered first.
    assert page.locator("#enterprise option").nth(1).inner_text() == "瑞一韵承"
    page.select_option("#enterprise", label="瑞一韵承")
    page.select_option("#category", label="出口通关")
    page.fill("#description", "出口许可证办理要 5–7 个工作日")
    page.select_option("#department", label="县商务局")
    # The connection drops: the submit fails, nothing typed is lost.
    page.context.set_offline(True)
    page.get_by_role("button", name="保存", exact=True).click()
    page.locator("#draft-restored").wait_for(state="visible")
    assert page.input_value("#description") == "出口许可证办理要 5–7 个工作日"
    page.context.set_offline(False)
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url(re.compile(r"/problems/\d+$"))  # the saved problem, not the entry form
    assert "交办" in page.content()

    # The department liaison works its queue.
    log_in(page, base_url, "liaison@test.cn")
    page.goto(base_url + "/problems")
    page.locator("a.list-group-item", has_text="瑞一韵承").first.click()
    open_action(page, "start")
    with page.expect_navigation():
        page.locator("form[action$='/start'] button").click()
    assert "办理中" in page.content()
    open_action(page, "resolve")
    page.fill("#resolve-resolution", "商务局代办，2 个工作日办结")
    page.fill("#resolve-days_before", "6")
    page.fill("#resolve-days_after", "2")
    with page.expect_navigation():
        page.locator("form[action$='/resolve'] button").click()
    assert "商务局代办" in page.content()

    # The enterprise says it is satisfied.
    log_in(page, base_url, "contact@test.cn")
    page.goto(base_url + "/problems")
    page.locator("a.list-group-item", has_text="出口许可证").first.click()
    open_action(page, "satisfaction")
    page.check("#sat-satisfied")
    with page.expect_navigation():
        page.locator("form[action$='/satisfaction'] button").click()
    assert "满意" in page.content()

    log_in(page, base_url, "organiser@test.cn")
    assert figure(page, base_url, "collected") == "1"
    assert figure(page, base_url, "resolved") == "1"
    assert figure(page, base_url, "resolution-rate") == "100.0%"
    assert figure(page, base_url, "satisfaction-rate") == "100.0%"
    assert figure(page, base_url, "on-time-rate") == "100.0%"
