"""SMS through the official Aliyun and Tencent Cloud SDKs, sent to a local stand-in of each endpoint.

The tests check what the provider would receive (action, number, sign, template, parameters)
and that the provider's documented answers lead to sent, retry or give up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.core.inputs import normalise_mobile
from app.extensions import db
from app.mail import dispatch
from app.mail.models import Channel, OutboxMessage, OutboxStatus
from app.mail.notices import notices_of
from app.mail.services import enqueue_delivery
from app.notify.models import NoticeKind
from app.notify.sms_sender import next_local_midnight
from app.notify.sms_texts import SEGMENT, TEMPLATES, fit, sms_body
from tests.sms_provider import (
    aliyun_error,
    tencent_error,
    tencent_number_error,
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PARAMS = {
    "org": "宜黄县产业链综合党委", "title": "减税降费政策宣讲会", "time": "3月9日14:30",
    "place": "工业园区会议室", "link": "http://linghang.test/r/Ab3dE5gH",
}


def queue(mobile: str = "13800138000", kind: NoticeKind = NoticeKind.invitation, params=None) -> OutboxMessage:
    row = enqueue_delivery(
        channel=Channel.sms.value, kind="invitation.invitation", recipient=mobile, now=NOW,
        body=sms_body(kind, params or PARAMS), notice_key=f"test-{mobile}-{kind.value}",
    )
    db.session.commit()
    return row


def code_of(answer: tuple[int, dict]) -> str:
    body = answer[1]
    if "Response" not in body:
        return body["Code"]
    response = body["Response"]
    return response["Error"]["Code"] if "Error" in response else response["SendStatusSet"][0]["Code"]


def reloaded(row: OutboxMessage) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, row.id)


def test_aliyun_receives_sendsms_with_number_sign_template_and_json_parameters(app, sms_stub):
    stub = sms_stub("aliyun")
    row = queue("+86 138-0013-8000")
    assert dispatch.deliver_due(NOW).sent == 1
    sent = reloaded(row)
    assert sent.status == OutboxStatus.sent
    # The outbox shows what was read, without the link; the body (with the link) is gone.
    assert sent.subject.startswith("【领航】宜黄") and "/r/…" in sent.subject and sent.raw == b""
    [request] = stub.received
    assert request.headers["x-acs-action"] == "SendSms" and request.headers["x-acs-version"] == "2017-05-25"
    assert request.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAI5tTestKeyId,")
    params = request.params
    assert params["PhoneNumbers"] == "13800138000"
    assert params["SignName"] == "领航"
    assert params["TemplateCode"] == app.config["SMS_TEMPLATES"]["invitation"]
    assert json.loads(params["TemplateParam"]) == fit(NoticeKind.invitation, PARAMS)
    # Delivered once: a later pass sends nothing again.
    assert dispatch.deliver_due(NOW + timedelta(hours=1)).claimed == 0
    assert len(stub.received) == 1


def test_tencent_receives_tc3_request_with_phone_set_app_id_sign_template_and_parameter_set(app, sms_stub):
    stub = sms_stub("tencent")
    queue()
    assert dispatch.deliver_due(NOW).sent == 1
    [request] = stub.received
    assert request.headers["x-tc-action"] == "SendSms" and request.headers["x-tc-version"] == "2021-01-11"
    assert request.headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=LTAI5tTestKeyId/")
    body = request.json
    assert body["PhoneNumberSet"] == ["+8613800138000"]
    assert body["SmsSdkAppId"] == "1400787878"
    assert body["SignName"] == "领航"
    assert body["TemplateId"] == app.config["SMS_TEMPLATES"]["invitation"]
    fitted = fit(NoticeKind.invitation, PARAMS)
    assert body["TemplateParamSet"] == [fitted[name] for name in TEMPLATES[NoticeKind.invitation].variables]


@pytest.mark.parametrize(
    ("provider", "answer"),
    [
        ("aliyun", aliyun_error("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:40")),
        ("aliyun", aliyun_error("Throttling.User", "Request was denied due to user flow control.", 400)),
        ("aliyun", aliyun_error("isp.SYSTEM_ERROR", "system error", 500)),
        ("tencent", tencent_number_error("LimitExceeded.PhoneNumberThirtySecondLimit", "too often")),
        ("tencent", tencent_error("RequestLimitExceeded", "Your current request times equals to `21` in a second")),
        ("tencent", tencent_error("InternalError.Timeout", "timeout")),
    ],
)
def test_throttling_and_provider_errors_are_retried_then_sent(app, sms_stub, provider, answer):
    stub = sms_stub(provider)
    stub.answers.append(answer)
    row = queue()
    assert dispatch.deliver_due(NOW).retrying == 1
    waiting = reloaded(row)
    assert waiting.status == OutboxStatus.retrying and waiting.attempts == 1
    assert code_of(answer) in waiting.last_error
    assert dispatch.deliver_due(NOW + dispatch.backoff(1)).sent == 1
    assert reloaded(row).status == OutboxStatus.sent
    assert len(stub.received) == 2


@pytest.mark.parametrize(
    ("provider", "answer", "reason"),
    [
        ("aliyun", aliyun_error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"), "not a valid mainland number"),
        ("aliyun", aliyun_error("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法"), "template is not approved"),
        ("aliyun", aliyun_error("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404),
         "may not send"),
        ("tencent", tencent_number_error("InvalidParameterValue.IncorrectPhoneNumber", "incorrect number"),
         "not a valid mainland number"),
        ("tencent", tencent_error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify fail"),
         "may not send"),
        ("tencent", tencent_error("FailedOperation.TemplateIncorrectOrUnapproved", "template unapproved"),
         "template is not approved"),
    ],
)
def test_invalid_number_permission_and_template_errors_give_up_with_a_reason(
    app, client, login_as, sms_stub, provider, answer, reason
):
    stub = sms_stub(provider)
    stub.answers.append(answer)
    row = queue()
    assert dispatch.deliver_due(NOW).failed == 1
    given_up = reloaded(row)
    assert (given_up.status, given_up.attempts) == (OutboxStatus.failed, 1)
    assert dispatch.deliver_due(NOW + timedelta(days=1)).claimed == 0
    assert len(stub.received) == 1
    # The outbox page shows why, translated, with the provider's own code.
    login_as("organiser")
    with client.session_transaction() as session:
        session["lang"] = "en"
    page = client.get("/outbox?channel=sms").get_data(as_text=True)
    assert reason in page
    assert code_of(answer) in page


def test_provider_down_is_retried_without_losing_the_message(app, sms_stub):
    stub = sms_stub("tencent")
    stub.stop()
    row = queue()
    assert dispatch.deliver_due(NOW).retrying == 1
    assert "NetworkError" in reloaded(row).last_error
    stub.start()
    assert dispatch.deliver_due(NOW + dispatch.backoff(1)).sent == 1
    assert len(stub.received) == 1


def test_a_number_that_is_not_a_mainland_mobile_is_given_up_without_calling_the_provider(app, sms_stub):
    stub = sms_stub("aliyun")
    row = queue("0794-1234567")
    assert dispatch.deliver_due(NOW).failed == 1
    assert stub.received == [] and "[sms.invalid_number]" in reloaded(row).last_error


def test_daily_cap_defers_to_the_next_local_day_counted_from_the_outbox(app, sms_stub):
    stub = sms_stub("aliyun")
    app.config["SMS_DAILY_CAP"] = 2
    rows = [queue(kind=kind) for kind in (NoticeKind.invitation, NoticeKind.update, NoticeKind.nudge)]
    other = queue("13900139000")
    report = dispatch.deliver_due(NOW)
    assert (report.sent, report.deferred) == (3, 1)
    capped = reloaded(rows[2])
    assert (capped.status, capped.attempts) == (OutboxStatus.queued, 0)
    # 01:00 UTC is 09:00 in Shanghai: the next day starts at 16:00 UTC.
    assert capped.next_attempt_at == next_local_midnight(NOW) == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert reloaded(other).status == OutboxStatus.sent
    assert dispatch.deliver_due(NOW + timedelta(hours=14)).claimed == 0
    assert dispatch.deliver_due(datetime(2026, 3, 2, 16, 0, tzinfo=UTC)).sent == 1
    assert len(stub.received) == 4


def test_sms_texts_fit_one_segment_and_tencent_templates_are_numbered(app):
    app.config["SMS_SIGN_NAME"] = "领航"
    long = dict(
        PARAMS, title="关于进一步加强产业链党建联盟企业服务工作的专题学习交流会",
        place="宜黄县工业园区管委会三楼第一会议室", link="http://lh.cn/r/Ab3dE5gH",
    )
    kind, params = NoticeKind.invitation, json.loads(sms_body(NoticeKind.invitation, long))["params"]
    text = "【领航】" + TEMPLATES[kind].render(params)
    assert len(text) <= SEGMENT and params["link"] == long["link"] and params["time"] == long["time"]
    assert params["title"].startswith("关于进一步") and params["title"].endswith("…")
    short = dict(PARAMS, org="县委", title="政策宣讲会", place="党群中心", link="http://lh.cn/r/Ab3dE5gH")
    assert json.loads(sms_body(kind, short))["params"] == short  # what fits is left alone
    assert TEMPLATES[kind].tencent_text == "{1}：您受邀参加{2}，{3}在{4}，请点击 {5} 回复。"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("13800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"), ("8613800138000", "13800138000"),
     ("0086-138-0013-8000", "13800138000"), ("12800138000", None), ("1380013800", None), ("0794-8281234", None),
     ("", None)],
)
def test_mainland_mobile_numbers_are_normalised(raw, expected):
    assert normalise_mobile(raw) == expected


def test_the_person_form_refuses_a_number_that_is_not_a_mobile_and_stores_it_normalised(app, client, login_as):
    from tests import factories

    login_as("organiser")
    org = factories.organisation()
    db.session.commit()
    data = {"name": "王五", "email": "wangwu@example.com", "organisation_id": org.id, "mobile": "0794-8281234"}
    page = client.post("/people/new", data=data)
    assert page.status_code == 200 and "11 digits" in page.get_data(as_text=True) or "11 位" in page.get_data(as_text=True)
    response = client.post("/people/new", data=dict(data, mobile="+86 139 0000 1111"))
    assert response.status_code == 302
    from app.orgs.models import Person

    assert db.session.scalar(db.select(Person.mobile).where(Person.email == "wangwu@example.com")) == "13900001111"


def test_the_sms_sender_is_registered_and_providers_are_chosen_by_configuration(app):
    from app.notify.sms_providers import AliyunSms, NoSms, TencentSms, make_provider

    assert Channel.sms.value in notices_of(app).senders
    base = {"SMS_ENDPOINT": "http://127.0.0.1:9", "SMS_SDK_APP_ID": "1", "SMS_ACCESS_KEY_ID": "id",
            "SMS_ACCESS_KEY_SECRET": "secret"}
    assert isinstance(make_provider({**base, "SMS_PROVIDER": "aliyun"}), AliyunSms)
    assert isinstance(make_provider({**base, "SMS_PROVIDER": "tencent"}), TencentSms)
    assert isinstance(make_provider({"SMS_PROVIDER": "none"}), NoSms)


def test_a_provider_the_sdk_refuses_to_build_fails_visibly_and_loses_nothing(app, sms_stub):
    sms_stub("tencent")
    app.config["SMS_ACCESS_KEY_ID"] = ""
    row = queue()
    assert dispatch.deliver_due(NOW).retrying == 1
    assert "InvalidCredential" in reloaded(row).last_error


def test_sms_settings_are_checked_at_start_up():
    from app.config import ConfigError, check_config, parse_sms_templates

    base = {"BASE_URL": "http://x.cn", "DISPLAY_TIMEZONE": "Asia/Shanghai", "LOGIN_ACCOUNT_LIMIT": "1 per minute",
            "LOGIN_ADDRESS_LIMIT": "1 per minute", "SHORTLINK_MISS_LIMIT": "1 per minute", "API_RATE_LIMIT": "1 per minute",
            "RATELIMIT_STORAGE_URI": "memory://", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    check_config(base | {"SMS_PROVIDER": "none"})
    for bad in ({"SMS_PROVIDER": "pigeon"}, {"SMS_PROVIDER": "aliyun"},
                {"SMS_PROVIDER": "tencent", "SMS_ACCESS_KEY_ID": "a", "SMS_ACCESS_KEY_SECRET": "b"},
                {"SMS_ENDPOINT": "ftp://x"}):
        with pytest.raises(ConfigError):
            check_config(base | bad)
    assert parse_sms_templates('{"invitation": "SMS_1", "reminder": 1234567}') == {"invitation": "SMS_1", "reminder": "1234567"}
    with pytest.raises(ConfigError):
        parse_sms_templates("invitation=SMS_1")


def test_two_dispatchers_at_once_never_exceed_the_daily_cap(app, backend, sms_stub):
    """PostgreSQL: two dispatchers at once (threads behind a barrier). SQLite, which assumes one
    scheduler process: two passes one after the other."""
    import threading

    stub = sms_stub("aliyun")
    app.config["SMS_DAILY_CAP"] = 1
    queue(kind=NoticeKind.invitation)
    queue(kind=NoticeKind.update)
    db.session.remove()
    if backend == "sqlite":
        reports = [dispatch.deliver_due(NOW, limit=1), dispatch.deliver_due(NOW, limit=1)]
        assert [(r.sent, r.deferred) for r in reports] == [(1, 0), (0, 1)]
        assert len(stub.received) == 1
        return
    # Without the lock both sends reach the provider together and meet at this barrier.
    stub.hold = threading.Barrier(2, timeout=2)
    start = threading.Barrier(2)
    reports = []

    def run() -> None:
        with app.app_context():
            start.wait(timeout=30)
            reports.append(dispatch.deliver_due(NOW, limit=1))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted((r.sent, r.deferred) for r in reports) == [(0, 1), (1, 0)]
    assert len(stub.received) == 1
