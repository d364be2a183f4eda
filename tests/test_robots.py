"""Group robots against a local stand-in of the WeCom and DingTalk webhooks: the requests they
receive (path, key, msgtype, markdown, mentions, DingTalk's signature), their error codes, the
inert and bounded content, and the administrator's page (validated, sealed, masked, audited)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.events.services import publish_activity
from app.extensions import db
from app.mail import dispatch
from app.mail.models import OutboxMessage, OutboxStatus
from app.orgs.models import OrgKind
from app.problems import transitions
from app.robots.content import MARKDOWN_LIMIT, truncate_utf8
from app.robots.models import GroupRobot, Provider
from app.robots.posts import announce_theme
from app.robots.services import save_robot
from tests import factories
from tests.robot_provider import DINGTALK_SIGN, DINGTALK_TOO_FAST, WECOM_INVALID_KEY, WECOM_TOO_FAST

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
WECOM_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
DING_TOKEN = "6f1b0c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b"
DING_URL = f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}"
DING_SECRET = "SECb3f1c2d4e5f60718293a4b5c6d7e8f9"


def robot(org, provider=Provider.wecom, secret=None) -> GroupRobot:
    url = WECOM_URL if provider == Provider.wecom else DING_URL
    return save_robot(org.id, provider, url, secret, now=NOW)


def published_activity(alliance, **fields):
    activity = factories.activity(status="draft", alliance=alliance, venue=factories.venue(name="县委党校报告厅"), **fields)
    publish_activity(activity, now=NOW)
    db.session.commit()
    return activity


def rows(kind=None):
    db.session.expire_all()
    statement = select(OutboxMessage).where(OutboxMessage.channel.in_(["wecom", "dingtalk"])).order_by(OutboxMessage.id)
    if kind:
        statement = statement.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(statement))


def test_a_published_activity_posts_markdown_to_the_alliances_wecom_group(app, robot_provider):
    alliance = factories.organisation(OrgKind.alliance, name="新材料产业链党建联盟")
    robot(alliance)
    activity = published_activity(alliance, title="新材料企业融资对接沙龙")
    assert dispatch.deliver_due(NOW).sent == 1
    (request,) = robot_provider.received
    assert request.path == "/cgi-bin/webhook/send" and request.query == {"key": WECOM_KEY}
    assert request.body["msgtype"] == "markdown"
    content = request.body["markdown"]["content"]
    assert "新材料企业融资对接沙龙" in content and "县委党校报告厅" in content
    assert "2026年3月9日" in content and "14:30" in content  # 06:30 UTC in Asia/Shanghai
    assert f"(http://linghang.test/activities/{activity.id})" in content and "领航" in content
    (row,) = rows()
    assert (row.status, row.recipient, row.notice_key) == (OutboxStatus.sent, f"robot:{row.recipient[6:]}", f"group.activity_published:{activity.id}")


def test_a_dingtalk_robot_in_signed_mode_sends_the_signature_dingtalk_recomputes(app, robot_provider):
    alliance = factories.organisation(OrgKind.alliance)
    stored = robot(alliance, Provider.dingtalk, DING_SECRET)
    assert DING_SECRET.encode() not in stored.secret_sealed and DING_TOKEN.encode() not in stored.key_sealed
    published_activity(alliance, title="链主企业圆桌会")
    dispatch.deliver_due(NOW)
    (request,) = robot_provider.received
    assert request.path == "/robot/send" and request.query["access_token"] == DING_TOKEN
    timestamp = request.query["timestamp"]
    assert timestamp == str(int(NOW.timestamp() * 1000))
    expected = base64.b64encode(
        hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.query["sign"] == expected  # parse_qs undid the URL encoding
    assert "%2B" in request.raw_query or "%2F" in request.raw_query or "%3D" in request.raw_query
    assert request.body["msgtype"] == "markdown"
    assert "链主企业圆桌会" in request.body["markdown"]["title"] and "链主企业圆桌会" in request.body["markdown"]["text"]
    assert request.body["at"] == {"atMobiles": [], "isAtAll": False}


def test_a_problem_assigned_posts_to_the_departments_groups_mentioning_its_liaisons(app, robot_provider):
    department = factories.organisation(OrgKind.department, name="县税务局")
    factories.user("liaison", org=department, phone="138 0013 8000")
    factories.user("liaison", org=department, phone="0794-1234567")  # a landline: not mentioned
    robot(department, Provider.wecom)
    robot(department, Provider.dingtalk)
    problem = factories.problem(description="出口退税进度慢 [点我](http://evil.example) @all")
    transitions.assign(problem, None, department_id=department.id, deadline=date(2026, 3, 20), note=None, now=NOW)
    db.session.commit()
    assert dispatch.deliver_due(NOW).sent == 2
    by_path = {r.path: r.body for r in robot_provider.received}
    wecom = by_path["/cgi-bin/webhook/send"]
    # WeCom's markdown cannot @-mention by mobile number; its text message can.
    assert wecom["msgtype"] == "text" and wecom["text"]["mentioned_mobile_list"] == ["13800138000"]
    assert "出口退税进度慢" in wecom["text"]["content"] and "2026-03-20" in wecom["text"]["content"]
    ding = by_path["/robot/send"]
    assert ding["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}
    assert "@13800138000" in ding["markdown"]["text"]
    for text in (wecom["text"]["content"], ding["markdown"]["text"]):
        assert "@all" not in text and "[点我](" not in text
    # One notice, delivered to each of the department's groups.
    assert {row.notice_key for row in rows()} == {f"problem.assigned:{problem.id}:{problem.steps[-1].id}:group"}


def test_user_text_cannot_add_links_mentions_or_headings(app, robot_provider):
    alliance = factories.organisation(OrgKind.alliance)
    robot(alliance)
    activity = published_activity(alliance, title="[领奖](http://evil.example) <@all> @all **急**\n# 标题", location_note="<font color=\"warning\">x</font>")
    dispatch.deliver_due(NOW)
    content = robot_provider.received[0].body["markdown"]["content"]
    assert content.count("](") == 1 and f"/activities/{activity.id})" in content  # only our own link
    assert "@all" not in content and "<@" not in content and "<font" not in content
    assert "\n# " not in content and "**急**" not in content
    assert "［领奖］（http://evil.example）" in content  # still readable


def test_a_long_theme_is_cut_within_4096_bytes_without_splitting_a_character(app, robot_provider, client, login_as):
    alliance = factories.organisation(OrgKind.alliance)
    robot(alliance)
    robot(factories.organisation(OrgKind.committee), Provider.dingtalk)
    theme = factories.theme(description="产业链党建引领企业高质量发展。" * 400, lead_departments=[factories.organisation(OrgKind.department, name="县工信局")])
    db.session.commit()
    login_as("organiser")
    response = client.post(f"/themes/{theme.id}/announce", follow_redirects=True)
    assert "2" in response.get_data(as_text=True)
    assert client.post(f"/themes/{theme.id}/announce").status_code == 302  # the same version: nothing new
    assert len(rows("group.theme")) == 2
    assert dispatch.deliver_due(datetime.now(UTC) + timedelta(minutes=1)).sent == 2  # queued by a request
    for request in robot_provider.received:
        content = request.body["markdown"].get("content") or request.body["markdown"]["text"]
        assert len(content.encode()) <= MARKDOWN_LIMIT
        assert "减税退税政策宣讲" in content and "县工信局" in content
        assert content.rstrip().endswith(")") and "…" in content  # the link survives the cut


def test_truncate_utf8_never_cuts_a_character():
    text = "领航😀a" * 50
    for limit in range(0, 200):
        cut = truncate_utf8(text, limit)
        assert len(cut.encode()) <= limit and text.startswith(cut) and len(cut.encode()) > limit - 4


def test_wecom_error_codes_retry_after_a_minute_or_give_up(app, robot_provider):
    alliance = factories.organisation(OrgKind.alliance)
    robot(alliance)
    published_activity(alliance)
    robot_provider.answer(WECOM_TOO_FAST)
    assert dispatch.deliver_due(NOW).retrying == 1
    (row,) = rows()
    assert row.next_attempt_at == NOW + timedelta(seconds=60) and "45009" in row.last_error
    robot_provider.answer({"errcode": -1, "errmsg": "system busy"})
    assert dispatch.deliver_due(NOW + timedelta(seconds=60)).retrying == 1  # unknown: the usual backoff
    robot_provider.answer(WECOM_INVALID_KEY)
    later = rows()[0].next_attempt_at
    assert dispatch.deliver_due(later).failed == 1
    (row,) = rows()
    assert row.status == OutboxStatus.failed and row.attempts == 3
    assert "93000" in row.last_error and "无效" in row.last_error  # the reason, translated


def test_dingtalk_error_codes_retry_after_a_minute_or_give_up_with_the_reason(app, robot_provider, client, login_as):
    alliance = factories.organisation(OrgKind.alliance)
    robot(alliance, Provider.dingtalk, DING_SECRET)
    published_activity(alliance)
    robot_provider.answer(DINGTALK_TOO_FAST)
    assert dispatch.deliver_due(NOW).retrying == 1
    assert rows()[0].next_attempt_at == NOW + timedelta(seconds=60)
    robot_provider.answer(DINGTALK_SIGN)
    assert dispatch.deliver_due(NOW + timedelta(seconds=60)).failed == 1
    login_as("organiser")
    page = client.get("/outbox?channel=dingtalk").get_data(as_text=True)
    assert "310000" in page and "签名" in page and "关键词" in page


def test_http_errors_and_an_unreachable_provider_are_retried(app, robot_provider):
    alliance = factories.organisation(OrgKind.alliance)
    robot(alliance)
    published_activity(alliance)
    robot_provider.answer("<html>bad gateway</html>", status=502)
    assert dispatch.deliver_due(NOW).retrying == 1
    assert "502" in rows()[0].last_error
    app.config["WECOM_WEBHOOK_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    assert dispatch.deliver_due(NOW + timedelta(minutes=1)).retrying == 1
    assert WECOM_KEY not in rows()[0].last_error  # the key never lands in an error


def test_the_admin_pastes_a_webhook_that_is_checked_sealed_masked_replaced_tested_and_removed(app, robot_provider, client, login_as):
    alliance = factories.organisation(OrgKind.alliance, name="电子信息产业链党建联盟")
    login_as("admin")
    form = {"organisation_id": alliance.id, "provider": "wecom"}
    for bad in ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdef123456",
                "https://qyapi.weixin.qq.com.evil.cn/cgi-bin/webhook/send?key=abcdef123456",
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
                "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456"):
        response = client.post("/robots", data={**form, "webhook_url": bad})
        assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)
    assert db.session.scalar(select(GroupRobot)) is None
    assert f"/robots?org={alliance.id}" in client.get(f"/organisations/{alliance.id}").get_data(as_text=True)
    assert client.post("/robots", data={**form, "webhook_url": WECOM_URL}).status_code == 302
    stored = db.session.scalar(select(GroupRobot))
    assert WECOM_KEY.encode() not in stored.key_sealed and stored.key_hint == WECOM_KEY[-4:]
    page = client.get("/robots").get_data(as_text=True)
    assert WECOM_KEY not in page and WECOM_KEY[-4:] in page
    # Replacing keeps the robot (and its outbox recipient), with the new key.
    new_key = "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab"
    client.post("/robots", data={**form, "webhook_url": WECOM_URL.replace(WECOM_KEY, new_key)})
    db.session.expire_all()
    assert [r.key_hint for r in db.session.scalars(select(GroupRobot))] == ["89ab"]
    response = client.post(f"/robots/{stored.id}/test", follow_redirects=True)
    assert robot_provider.received[-1].query == {"key": new_key}
    assert "测试" in robot_provider.received[-1].body["markdown"]["content"]
    robot_provider.answer(WECOM_INVALID_KEY)
    response = client.post(f"/robots/{stored.id}/test", follow_redirects=True)
    assert "93000" in response.get_data(as_text=True)
    assert client.post(f"/robots/{stored.id}/delete").status_code == 302
    assert db.session.scalar(select(GroupRobot)) is None
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "group_robot").order_by(AuditEntry.id))]
    assert actions == ["create", "replace", "test", "test", "delete"]
    assert not any(new_key in json.dumps(e.changes) or WECOM_KEY in json.dumps(e.changes) for e in db.session.scalars(select(AuditEntry)))


def test_only_administrators_configure_robots(app, client, login_as):
    login_as("organiser")
    assert client.get("/robots").status_code == 403


def test_a_webhook_sealed_under_another_key_gives_up_asking_to_paste_it_again(app, robot_provider):
    alliance = factories.organisation(OrgKind.alliance)
    robot(alliance)
    published_activity(alliance)
    app.config["SECRETS_KEY"] = "a-new-key"
    try:
        assert dispatch.deliver_due(NOW).failed == 1
    finally:
        app.config["SECRETS_KEY"] = None
    assert robot_provider.received == [] and "SECRETS_KEY" in rows()[0].last_error


def test_a_theme_announcement_posts_nothing_without_robots(app, robot_provider):
    theme = factories.theme()
    assert announce_theme(theme, NOW) == 0
