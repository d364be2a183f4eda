"""In a browser: the invite form's searchable picker (Tom Select, served locally, under the
app's CSP), the same form without JavaScript, and a destructive action that asks first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.clock import utcnow
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.models import Invitation
from app.orgs.models import OrgKind
from tests import factories
from tests.test_problems_browser import log_in

pytestmark = pytest.mark.browser


def _world(flask_app):
    with flask_app.app_context():
        factories.user("organiser", email="organiser@test.cn")
        for n in range(40):
            org = factories.organisation(OrgKind.enterprise, name=f"江西企业{n:02d}有限公司")
            factories.person(org, name=f"联系人{n:02d}", is_contact=True)
        wanted = factories.organisation(OrgKind.enterprise, name="江西瑞一韵承科技有限公司", short_name="瑞一韵承")
        factories.person(wanted, name="张经理", is_contact=True)
        activity = factories.activity(starts_at=utcnow() + timedelta(days=7), status="draft", title="产业链沙龙")
        db.session.commit()
        return activity.id


def _invited(flask_app, activity_id) -> list[str]:
    with flask_app.app_context():
        return [i.person.name for i in db.session.scalars(select(Invitation).where(Invitation.activity_id == activity_id))]


def test_search_the_picker_and_invite(live_server, page):
    base_url, flask_app = live_server
    activity_id = _world(flask_app)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base_url, "organiser@test.cn")
    page.goto(f"{base_url}/activities/{activity_id}/invitations")
    control = page.locator("#organisations-ts-control")
    control.click()
    control.fill("瑞一")
    options = page.locator("#organisations-ts-dropdown .option")
    expect(options).to_have_count(1)  # the search narrowed 41 organisations to one
    expect(options.first).to_contain_text("瑞一韵承")
    options.first.click()
    page.get_by_role("button", name="邀请并发送").click()
    page.wait_for_load_state()
    assert _invited(flask_app, activity_id) == ["张经理"]


def test_the_invite_form_works_without_javascript(live_server, browser, tmp_path):
    base_url, flask_app = live_server
    activity_id = _world(flask_app)
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, base_url, "organiser@test.cn")
        page.goto(f"{base_url}/activities/{activity_id}/invitations")
        assert page.locator("#organisations").is_visible()
        page.select_option("#organisations", label="江西瑞一韵承科技有限公司（企业）")
        page.get_by_role("button", name="邀请并发送").click()
        page.wait_for_load_state()
        assert _invited(flask_app, activity_id) == ["张经理"]
    finally:
        page.screenshot(path=str(tmp_path / "nojs.png"))
        context.close()


def test_cancelling_an_activity_asks_first(live_server, page):
    base_url, flask_app = live_server
    activity_id = _world(flask_app)
    log_in(page, base_url, "organiser@test.cn")
    page.goto(f"{base_url}/activities/{activity_id}")
    page.fill("input[name=reason]", "场地临时不可用")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    # click() waits for a navigation its action starts: had the form been sent, the page would
    # now be the reloaded activity, without the typed reason.
    page.get_by_role("button", name="取消活动").click()
    assert questions and "确定取消此活动" in questions[0]
    assert page.input_value("input[name=reason]") == "场地临时不可用"
    with flask_app.app_context():
        assert db.session.get(Activity, activity_id).status == ActivityStatus.draft
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="取消活动").click()
    with flask_app.app_context():
        assert db.session.get(Activity, activity_id).status == ActivityStatus.cancelled
