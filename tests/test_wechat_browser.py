"""Acceptance 4 of issue 13: in WeChat's in-app browser on a phone, the short link from an SMS
opens the answer page; the invitee answers and sees the check-in code; the page's link preview
carries title, time and place; every control is large enough to tap and nothing scrolls sideways."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from app.core.clock import utcnow
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.invitations.tokens import feedback_until
from app.orgs.models import OrgKind
from app.problems.notices import issue_rating_link
from app.shortlinks.services import short_url
from tests import factories
from tests.conftest import CSP_VIOLATION_RECORDER, csp_violations

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WECHAT_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
MIN_TARGET = 44

# Every visible thing one can tap, measured as the finger meets it: a radio or checkbox by its
# row or label, a Bootstrap toggle button (hidden input) by its label. Inline links in running
# text would be exempt (WCAG 2.5.8), but these pages have none.
TOO_SMALL = """
() => {
  const small = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, label.btn')) {
    if (el.classList.contains('btn-check')) continue;  // tapped through its label.btn
    let target = el;
    if (el.matches('input[type=radio], input[type=checkbox]')) {
      target = el.closest('.form-check') || document.querySelector('label[for="' + el.id + '"]') || el;
    }
    const box = target.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(target).visibility === 'hidden') continue;
    if (box.height < 44 || box.width < 44) {
      small.push((el.id || el.name || el.textContent.trim().slice(0, 20) || el.tagName) + ' ' + Math.round(box.width) + 'x' + Math.round(box.height));
    }
  }
  return small;
}
"""


@pytest.fixture
def wechat(browser, tmp_path, request):
    """A page in a phone-sized WeChat in-app browser; pop-ups and downloads are recorded, not allowed."""
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        user_agent=WECHAT_IOS,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
    )
    context.set_default_timeout(30000)
    context.add_init_script(CSP_VIOLATION_RECORDER)
    page = context.new_page()
    page.unwanted = []  # dialogs (alert/confirm/prompt), pop-up windows, downloads
    page.on("dialog", lambda dialog: (page.unwanted.append(f"dialog {dialog.message}"), dialog.dismiss()))
    page.on("popup", lambda popup: page.unwanted.append(f"popup {popup.url}"))
    page.on("download", lambda download: page.unwanted.append(f"download {download.url}"))
    yield page
    try:
        page.screenshot(path=str(tmp_path / f"{request.node.name}.png"), full_page=True)
        violations = csp_violations(page)
    finally:
        context.close()
    assert violations == [], f"the Content-Security-Policy blocked: {violations}"
    assert page.unwanted == []


def meta(page, key: str) -> str:
    return page.locator(f'meta[property="{key}"], meta[name="{key}"]').get_attribute("content")


def assert_phone_friendly(page) -> None:
    assert page.evaluate(TOO_SMALL) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert meta(page, "viewport") == "width=device-width, initial-scale=1"
    # Body text is at least 14 px (Bootstrap's .small) at this width, never shrunk to fit.
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16


def test_invitee_opens_the_sms_short_link_in_wechat_answers_and_sees_the_checkin_code(live_server, wechat):
    base_url, flask_app = live_server
    flask_app.config["WTF_CSRF_ENABLED"] = True
    with flask_app.app_context():
        venue = factories.venue(name="县政务服务中心三楼会议室")
        start = utcnow().replace(second=0, microsecond=0) + timedelta(days=2)
        activity = factories.activity(title="减税降费政策宣讲会", starts_at=start, venue=venue, capacity=30)
        firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
        _, token = factories.invitation(activity, factories.person(firm, name="张经理"), now=utcnow())
        # What the SMS carries instead of the long answer link.
        link = short_url(f"/rsvp/{token}", expires_at=activity.ends_at, now=utcnow())
        db.session.commit()
        activity_id = activity.id
    assert link.startswith(f"{base_url}/r/") and token not in link

    wechat.goto(link)
    assert wechat.url == f"{base_url}/rsvp/{token}"
    assert wechat.title().startswith("减税降费政策宣讲会")
    assert meta(wechat, "og:title") == "减税降费政策宣讲会"
    description = meta(wechat, "og:description")
    assert description.startswith("时间：") and "地点：县政务服务中心三楼会议室" in description
    assert f"{start.astimezone(ZoneInfo('Asia/Shanghai')):%H:%M}" in description
    assert meta(wechat, "og:url") == wechat.url
    assert meta(wechat, "og:type") == "website"
    assert meta(wechat, "og:site_name") == "领航"
    assert meta(wechat, "description") == description
    assert_phone_friendly(wechat)

    wechat.locator("label[for=answer-accepted]").tap()
    wechat.get_by_label("人数").fill("2")
    wechat.get_by_role("button", name="提交回复").tap()
    wechat.wait_for_selector("#checkin-qr svg")
    assert "谢谢，您的回复已保存" in wechat.content()
    assert len(wechat.locator("#checkin-code").inner_text().strip()) == 8
    assert wechat.url == f"{base_url}/rsvp/{token}"
    assert_phone_friendly(wechat)
    with flask_app.app_context():
        invitation = db.session.scalar(db.select(Invitation).where(Invitation.activity_id == activity_id))
        assert invitation.answer == Answer.accepted and invitation.seats == 2


def test_invitee_gives_feedback_from_a_short_link_in_wechat(live_server, wechat):
    base_url, flask_app = live_server
    flask_app.config["WTF_CSRF_ENABLED"] = True
    with flask_app.app_context():
        start = utcnow().replace(second=0, microsecond=0) - timedelta(days=1)
        activity = factories.activity(title="企业家下午茶", starts_at=start)
        firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
        invitation, token = factories.invitation(activity, factories.person(firm), now=start - timedelta(days=3))
        invitation.answer, invitation.seats = Answer.accepted, 1
        link = short_url(f"/rsvp/{token}/feedback", expires_at=feedback_until(activity), now=utcnow())
        db.session.commit()

    wechat.goto(link)
    assert wechat.url == f"{base_url}/rsvp/{token}/feedback"
    assert "企业家下午茶" in meta(wechat, "og:title") and "时间：" in meta(wechat, "og:description")
    assert_phone_friendly(wechat)
    wechat.locator("label[for=rating-5]").tap()
    wechat.get_by_role("button", name="提交").tap()
    wechat.wait_for_selector(".alert-success")
    assert_phone_friendly(wechat)


def test_checkin_at_the_door_on_a_phone_in_wechat(live_server, wechat):
    base_url, flask_app = live_server
    flask_app.config["CHECKIN_OPENS_MINUTES_BEFORE"] = 3 * 24 * 60
    with flask_app.app_context():
        organiser = factories.user("organiser")
        activity = factories.activity(title="链上沙龙", starts_at=utcnow().replace(microsecond=0) + timedelta(days=1))
        invitation, _ = factories.invitation(activity, factories.person(factories.organisation(OrgKind.enterprise), name="李工"))
        invitation.answer, invitation.seats = Answer.accepted, 1
        db.session.commit()
        email, activity_id, code = organiser.email, activity.id, invitation.checkin_code

    wechat.goto(base_url + "/login")
    wechat.get_by_label("邮箱").fill(email)
    wechat.get_by_label("密码").fill(factories.PASSWORD)
    wechat.get_by_role("button", name="登录").tap()
    wechat.wait_for_url(base_url + "/")
    wechat.goto(f"{base_url}/activities/{activity_id}/checkin")
    assert_phone_friendly(wechat)
    wechat.locator("#code").fill(code)
    wechat.locator("#code-form").get_by_role("button", name="签到", exact=True).tap()
    wechat.wait_for_selector(".alert-success")
    assert wechat.locator("#att-present").inner_text() == "1"
    assert_phone_friendly(wechat)


def test_enterprise_rates_a_resolved_problem_from_a_short_link_in_wechat(live_server, wechat):
    base_url, flask_app = live_server
    flask_app.config["WTF_CSRF_ENABLED"] = True
    with flask_app.app_context():
        firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
        problem = factories.problem(firm, status="resolved", description="厂区道路照明不足")
        now = utcnow()
        rating = issue_rating_link(problem, factories.person(firm), now)
        path = rating.removeprefix(base_url)
        link = short_url(path, expires_at=now + timedelta(days=30), now=now)
        db.session.commit()

    wechat.goto(link)
    assert wechat.url == base_url + path
    assert "厂区道路照明不足" in wechat.content()
    assert_phone_friendly(wechat)
    wechat.locator("label[for=sat-satisfied]").tap()
    wechat.get_by_role("button", name="提交").tap()
    wechat.wait_for_selector("#rating-given")
    assert_phone_friendly(wechat)
