"""One notice, two channels: e-mail (real SMTP, aiosmtpd) and SMS (the official SDK against a local
stand-in of the provider), queued together, delivered once per channel through an outage, checked
again at send time, and chosen by the recipient's preferences. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import SMTP

import time_machine
from sqlalchemy import func, select

from app.events.models import ActivityStatus
from app.extensions import db
from app.invitations import mailing
from app.mail import dispatch
from app.mail.models import Channel, OutboxMessage, OutboxStatus
from app.notify.models import NoticeKind, OwnerType
from app.notify.preferences import set_channels, unsubscribe_url
from app.reminders import planning, sweep
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
START = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # 14:30 in Beijing


def invited(mobile: str | None = "13800138000", email: str | None = None):
    host = factories.organisation("committee", short_name="县委")
    activity = factories.activity(title="减税降费政策宣讲会", venue=factories.venue(), starts_at=START, host=host)
    person = factories.person(mobile=mobile, **({"email": email} if email else {}))
    invitation, _token = factories.invitation(activity, person)
    return activity, person, invitation


def rows(*where) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.id)))


def test_a_notice_goes_once_per_channel_through_an_outage_and_restart(app, smtp_server, sms_stub, client):
    stub = sms_stub("aliyun")
    activity, person, invitation = invited()
    key = f"invitation-{invitation.id}"
    mailing.queue_mail(invitation, "invitation", NOW, dedupe_key=key)
    mailing.queue_mail(invitation, "invitation", NOW, dedupe_key=key)  # the same notice again: nothing new
    db.session.commit()
    queued = rows()
    assert [(r.channel, r.notice_key, r.dedupe_key) for r in queued] == [
        ("email", key, key), ("sms", key, f"{key}:sms"),
    ]
    assert queued[1].recipient == "13800138000" and queued[1].raw == b""  # built when sent

    smtp_server.stop()
    stub.stop()
    report = dispatch.deliver_due(NOW)
    assert (report.sent, report.retrying) == (0, 2)
    assert all(r.status == OutboxStatus.retrying for r in rows())
    assert dispatch.deliver_due(NOW + timedelta(seconds=30)).claimed == 0  # backing off

    smtp_server.start()
    stub.start()
    assert dispatch.deliver_due(NOW + dispatch.backoff(1)).sent == 2
    assert dispatch.deliver_due(NOW + timedelta(days=1)).claimed == 0
    assert [to for _f, to, _r in smtp_server.messages] == [[person.email]]
    assert len(stub.received) == 1
    params = json.loads(stub.received[0].params["TemplateParam"])
    # Shortened towards one segment: the title and the place keep their beginning, the time is whole.
    assert params["org"] == "县委" and params["time"] == "3月9日14:30"
    assert params["title"].startswith("减税降费政策") and params["place"].startswith("会议室")
    # The short link in the SMS leads to a working answer page (the same body was sent on retry).
    code_path = params["link"].removeprefix(app.config["BASE_URL"])
    assert code_path.startswith("/r/") and len(params["link"]) < 40
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        target = client.get(code_path)
        assert target.status_code == 302 and "/rsvp/" in target.headers["Location"]
        assert client.get(target.headers["Location"]).status_code == 200
    assert {r.status for r in rows()} == {OutboxStatus.sent}


def test_a_cancelled_or_started_activitys_pending_sms_is_withdrawn_at_send_time(app, sms_stub, smtp_server):
    stub = sms_stub("tencent")
    activity, _person, invitation = invited()
    mailing.queue_mail(invitation, "invitation", NOW, dedupe_key=f"invitation-{invitation.id}")
    activity.status = ActivityStatus.cancelled
    later_activity, _p, later = invited(mobile="13900139000")
    mailing.queue_mail(later, "nudge", NOW, dedupe_key=f"nudge-{later.id}")
    db.session.commit()
    report = dispatch.deliver_due(NOW)
    assert report.withdrawn == 2 and report.sent == 2  # the cancelled one's e-mail and SMS; the other sent
    sms_rows = rows(OutboxMessage.channel == Channel.sms.value)
    assert [r.status for r in sms_rows] == [OutboxStatus.cancelled, OutboxStatus.sent]
    assert [r.json["PhoneNumberSet"] for r in stub.received] == [["+8613900139000"]]

    # A started activity: its SMS retried past the start is withdrawn too.
    stub.stop()
    mailing.queue_mail(later, "nudge", NOW, dedupe_key=f"nudge-{later.id}-again")
    db.session.commit()
    assert dispatch.deliver_due(NOW).retrying == 1
    assert dispatch.deliver_due(later_activity.starts_at + timedelta(minutes=1)).withdrawn == 1
    assert rows(OutboxMessage.dedupe_key == f"nudge-{later.id}-again:sms")[0].status == OutboxStatus.cancelled


def test_preferences_choose_the_channels_and_an_unsubscribe_link_switches_one_off(app, sms_stub, smtp_server, client):
    sms_stub("aliyun")
    _activity, person, invitation = invited()
    set_channels(OwnerType.organisation, person.organisation_id, NoticeKind.invitation, {Channel.sms.value})
    mailing.queue_mail(invitation, "invitation", NOW, dedupe_key=f"invitation-{invitation.id}")
    db.session.commit()
    assert [r.channel for r in rows()] == ["sms"]  # the organisation's choice: SMS only

    url = unsubscribe_url(person, NoticeKind.nudge, Channel.sms.value)
    path = url.removeprefix(app.config["BASE_URL"])
    assert client.get(path).status_code == 200  # asks, does not act (mail scanners open links)
    mailing.queue_mail(invitation, "nudge", NOW, dedupe_key=f"nudge-{invitation.id}")
    db.session.commit()
    assert client.post(path).status_code == 200
    assert dispatch.deliver_due(NOW).withdrawn == 1  # the queued nudge SMS: switched off since
    assert client.get(path[:-3] + "abc").status_code == 404  # a forged token
    assert unsubscribe_url(person, NoticeKind.cancellation) is None  # mandatory


def test_a_cancellation_cannot_be_switched_off_everywhere(app, client, login_as):
    user = login_as("contact")
    data = {f"{kind.value}__email": "y" for kind in NoticeKind}
    data.pop("cancellation__email")
    page = client.post(f"/people/{user.person_id}/notices", data=data)
    assert page.status_code == 200 and "alert-danger" in page.get_data(as_text=True)
    assert client.post(f"/people/{user.person_id}/notices", data=dict(data, cancellation__sms="y")).status_code == 302
    other = factories.person()
    db.session.commit()
    assert client.get(f"/people/{other.id}/notices").status_code == 403


def test_reminders_swept_in_bulk_queue_their_sms_for_those_who_want_it(app, sms_stub, smtp_server):
    stub = sms_stub("tencent")
    host = factories.organisation("committee", short_name="县委")
    activity = factories.activity(title="企业家下午茶", venue=factories.venue(name="党群中心"), starts_at=START, host=host)
    people = [factories.person(mobile=mobile) for mobile in ("13800000001", "13800000002", None)]
    set_channels(OwnerType.person, people[1].id, NoticeKind.reminder, {Channel.email.value})
    for person in people:
        invitation = factories.answered_invitation(activity, person, answer="accepted")
        planning.on_answer_changed(invitation, NOW)
    db.session.commit()
    swept = sweep.sweep(START - timedelta(days=1))
    assert (swept.queued, swept.queued_sms) == (3, 1)
    report = dispatch.deliver_due(START - timedelta(days=1))
    assert report.sent == 4
    assert len(smtp_server.messages) == 3
    [request] = stub.received
    body = request.json
    assert body["PhoneNumberSet"] == ["+8613800000001"]
    assert body["TemplateId"] == app.config["SMS_TEMPLATES"]["reminder"]
    assert body["TemplateParamSet"][:4] == ["县委", "企业家下午茶", "3月9日14:30", "党群中心"]
    sms = rows(OutboxMessage.channel == Channel.sms.value)[0]
    email = rows(OutboxMessage.notice_key == sms.notice_key, OutboxMessage.channel == Channel.email.value)
    assert len(email) == 1 and sms.dedupe_key == f"{sms.notice_key}:sms"
    assert sweep.sweep(START - timedelta(days=1)).claimed == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 4


def test_optional_mails_carry_an_unsubscribe_link_and_cancellations_do_not(app, smtp_server):
    _activity, person, invitation = invited(mobile=None)
    mailing.queue_mail(invitation, "nudge", NOW, dedupe_key="n1")
    mailing.queue_mail(invitation, "cancellation", NOW, dedupe_key="c1")
    db.session.commit()
    nudge, cancellation = (message_from_bytes(r.raw, policy=SMTP) for r in rows())
    assert str(nudge["List-Unsubscribe"]).startswith("<http://linghang.test/notices/unsubscribe/")
    assert nudge["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/notices/unsubscribe/" in nudge.get_body(("plain",)).get_content()
    assert cancellation["List-Unsubscribe"] is None
    assert "/notices/unsubscribe/" not in cancellation.get_body(("plain",)).get_content()


def test_one_click_unsubscribe_works_without_a_session(app, client):
    person = factories.person()
    db.session.commit()
    path = unsubscribe_url(person, NoticeKind.reminder).removeprefix(app.config["BASE_URL"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 200
    from app.notify.preferences import channels_for

    assert channels_for(person, NoticeKind.reminder) == {Channel.sms.value}


def test_a_problem_assigned_goes_by_sms_to_a_liaison_who_chose_it(app, sms_stub, smtp_server, client):
    from app.orgs.models import OrgKind
    from app.problems import services as problems
    from app.problems import transitions
    from app.problems.models import ProblemCategory

    stub = sms_stub("aliyun")
    department = factories.organisation(OrgKind.department, name="县商务局")
    enterprise = factories.organisation(OrgKind.enterprise, name="瑞一韵承", short_name="瑞一")
    liaison = factories.user("liaison", org=department, mobile="13700137000")
    organiser = factories.user("organiser")
    set_channels(OwnerType.person, liaison.person_id, NoticeKind.problem_assigned, {"email", "sms"})
    problem = problems.record_problem(
        enterprise_id=enterprise.id, category=ProblemCategory.export, description="出口许可办理慢", now=NOW, recorder=None
    )
    transitions.assign(problem, organiser.person, department_id=department.id, deadline=None, note=None, now=NOW)
    db.session.commit()
    assert dispatch.deliver_due(NOW).sent == 2
    [request] = stub.received
    assert request.params["PhoneNumbers"] == "13700137000"
    params = json.loads(request.params["TemplateParam"])
    assert params["enterprise"] == "瑞一" and params["number"] == str(problem.id)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        target = client.get(params["link"].removeprefix(app.config["BASE_URL"]))
    assert target.status_code == 302 and target.headers["Location"].endswith(f"/problems/{problem.id}")


def test_the_reachability_page_counts_and_lists_the_gaps(app, client, login_as):
    login_as("organiser")
    org = factories.organisation(name="无手机企业")
    factories.person(org, name="只有邮箱", mobile=None)
    factories.person(org, name="有手机", email="", mobile="13800138000").email = None
    opted = factories.person(name="退订者", mobile="13900139000")
    set_channels(OwnerType.person, opted.id, NoticeKind.reminder, {Channel.email.value})
    db.session.commit()
    page = client.get("/notices/reachability?who=people&show=no_mobile").get_data(as_text=True)
    assert "只有邮箱" in page and "有手机" not in page.split('id="reachability-list"')[1]
    assert "退订者" in client.get("/notices/reachability?who=people&show=opted_out").get_data(as_text=True)
    orgs = client.get("/notices/reachability?who=organisations&show=no_mobile").get_data(as_text=True)
    assert "无手机企业" not in orgs.split('id="reachability-list"')[1]  # a contact has a mobile
    assert 'data-count="people-opted_out">1<' in page
    client.post("/logout")
    login_as("contact")
    assert client.get("/notices/reachability").status_code == 403


def test_a_notice_through_three_channels_goes_once_each_through_an_outage(app, sms_stub, smtp_server, robot_provider):
    """Problem assigned: e-mail and SMS to the liaison, a post to the department's group; all three
    providers down, then back: each channel delivers the notice exactly once."""
    from app.orgs.models import OrgKind
    from app.problems import services as problems
    from app.problems import transitions
    from app.problems.models import ProblemCategory
    from app.robots.models import Provider
    from app.robots.services import save_robot

    stub = sms_stub("aliyun")
    department = factories.organisation(OrgKind.department, name="县工信局")
    save_robot(department.id, Provider.wecom, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k3y-0f-the-gr0up",
               None, now=NOW)
    enterprise = factories.organisation(OrgKind.enterprise, name="宜黄化工")
    liaison = factories.user("liaison", org=department, mobile="13700137001")
    set_channels(OwnerType.person, liaison.person_id, NoticeKind.problem_assigned, {"email", "sms"})
    problem = problems.record_problem(
        enterprise_id=enterprise.id, category=ProblemCategory.export, description="用电报装慢", now=NOW, recorder=None
    )
    transitions.assign(problem, None, department_id=department.id, deadline=None, note=None, now=NOW)
    db.session.commit()
    assert sorted(r.channel for r in rows()) == ["email", "sms", "wecom"]

    smtp_server.stop()
    stub.stop()
    robot_provider.answer("bad gateway", status=502)
    report = dispatch.deliver_due(NOW)
    assert (report.sent, report.retrying) == (0, 3)

    smtp_server.start()
    stub.start()
    assert dispatch.deliver_due(NOW + timedelta(hours=3)).sent == 3
    assert dispatch.deliver_due(NOW + timedelta(days=1)).claimed == 0
    assert [to for _f, to, _r in smtp_server.messages] == [[liaison.person.email]]
    assert [r.params["PhoneNumbers"] for r in stub.received] == ["13700137001"]
    assert len(robot_provider.received) == 2  # the refused attempt and the delivery
    assert {(r.channel, r.status, r.attempts) for r in rows()} == {
        ("email", OutboxStatus.sent, 2), ("sms", OutboxStatus.sent, 2), ("wecom", OutboxStatus.sent, 2),
    }
