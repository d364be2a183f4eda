"""The audit log says what happened in the reader's language: actions, fields, names and values, in order."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from app.audit.models import AuditEntry
from app.audit.services import record
from app.auth.models import User
from app.events import services as events
from app.events.checks import ActivityInput
from app.events.models import ActivityKind
from app.extensions import db
from app.invitations import services as invitations
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.orgs.models import OrgKind
from app.problems import services as problems
from app.problems import transitions
from app.problems.models import ProblemCategory, Satisfaction
from tests import factories

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
START = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)  # Friday 20 March, 14:00 in Beijing


def audit_rows(client, entity_type: str, entity_id: int, language: str) -> list[str]:
    """The audit page's rows for one record, newest first, as the reader sees their text."""
    with client.session_transaction() as session:
        session["lang"] = language
    page = client.get(f"/audit?type={entity_type}&id={entity_id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).replace(" :", ":").split()) for row in rows]


def assert_rows(rows: list[str], expected: list[list[str]]) -> None:
    """Each row holds its expected phrases (rows newest first)."""
    assert len(rows) == len(expected), rows
    for row, phrases in zip(rows, expected, strict=True):
        for phrase in phrases:
            assert phrase in row, (phrase, row)


@pytest.fixture
def organiser(client, login_as):
    return login_as("organiser")


def test_activity_create_update_publish_cancel(app, client, organiser):
    host = factories.organisation(OrgKind.committee, name="县委非公党工委")
    hall = factories.venue(name="报告厅")
    room = factories.venue(name="三楼会议室")
    data = ActivityInput(
        kind=ActivityKind.salon, title="减税沙龙", host_id=host.id, starts_at=START,
        ends_at=START + timedelta(hours=2), venue_id=hall.id,
    )
    activity = events.create_activity(data, now=NOW).activity
    data.title, data.venue_id = "减税降费沙龙", room.id
    events.update_activity(activity, data, now=NOW)
    events.publish_activity(activity, now=NOW)
    events.cancel_activity(activity, reason="场地检修", now=NOW)
    db.session.commit()

    rows = audit_rows(client, "activity", activity.id, "zh_CN")
    assert_rows(rows, [
        ["取消", "活动 减税降费沙龙", "状态: 已发布 → 已取消", "日历修订号: 0 → 1", "场地检修"],
        ["发布", "状态: 草稿 → 已发布"],
        ["修改", "标题: 减税沙龙 → 减税降费沙龙", "场地: 报告厅 → 三楼会议室"],
        ["创建", "标题: 减税沙龙", "开始时间: 2026年3月20日 周五 14:00", "主办单位: 县委非公党工委", "场地: 报告厅"],
    ])
    assert "→ —" not in rows[-1] and "_id" not in " ".join(rows)
    rows = audit_rows(client, "activity", activity.id, "en")
    assert_rows(rows, [
        ["Cancelled", "Activity 减税降费沙龙", "Status: Published → Cancelled"],
        ["Published", "Status: Draft → Published"],
        ["Edited", "Title: 减税沙龙 → 减税降费沙龙", "Venue: 报告厅 → 三楼会议室"],
        ["Created", "Title: 减税沙龙", "Starts: Fri 20 Mar 2026 14:00", "Host: 县委非公党工委"],
    ])
    page = client.get(f"/audit?type=activity&id={activity.id}").get_data(as_text=True)
    assert f'href="/activities/{activity.id}"' in page


def test_invite_and_answer(app, client, organiser):
    activity = factories.activity(starts_at=START, title="企业家下午茶")
    firm = factories.organisation(OrgKind.enterprise, name="立伟轻工")
    contact = factories.person(firm, name="王立伟")
    db.session.commit()
    invitations.invite(activity, invitations.Selection(person_ids=[contact.id]), now=NOW)
    invitation = db.session.query(Invitation).filter_by(activity_id=activity.id).one()
    invitations.answer(invitation, reply=Answer.accepted, seats=2, names=None, note=None,
                       channel=AnswerChannel.link, now=NOW)
    invitations.answer(invitation, reply=Answer.declined, seats=None, names=None, note=None,
                       channel=AnswerChannel.link, now=NOW)
    db.session.commit()

    assert_rows(audit_rows(client, "activity", activity.id, "zh_CN"), [["发出邀请", "受邀人员: 王立伟"]])
    assert_rows(audit_rows(client, "activity", activity.id, "en"), [["Invited", "People invited: 王立伟"]])
    rows = audit_rows(client, "invitation", invitation.id, "zh_CN")
    assert_rows(rows, [
        ["回复", "王立伟 · 企业家下午茶", "回复: 接受 → 婉拒", "人数: 2 → 0"],
        ["回复", "回复: 未回复 → 接受", "人数: 0 → 2", "回复方式: 通过回复链接"],
    ])
    rows = audit_rows(client, "invitation", invitation.id, "en")
    assert_rows(rows, [
        ["Answered", "Answer: Accepted → Declined", "Number of people: 2 → 0"],
        ["Answered", "Answer: Not answered → Accepted", "How answered: through the answer link"],
    ])


def test_each_problem_step(app, client, organiser):
    tax = factories.organisation(OrgKind.department, name="县税务局")
    commerce = factories.organisation(OrgKind.department, name="县商务局")
    firm = factories.organisation(OrgKind.enterprise, name="立伟轻工")
    db.session.commit()
    problem = problems.record_problem(enterprise_id=firm.id, category=ProblemCategory.tax,
                                      description="出口退税慢", now=NOW, recorder=None)
    transitions.assign(problem, None, department_id=tax.id, deadline=date(2026, 3, 16), note=None, now=NOW)
    transitions.reassign(problem, None, department_id=commerce.id, deadline=None, reason="商务局负责", now=NOW)
    transitions.start(problem, None, note=None, now=NOW)
    transitions.request_extension(problem, None, until=date(2026, 3, 27), reason="需要省厅批复", now=NOW)
    transitions.decide_extension(problem, None, approve=True, note=None, now=NOW)
    transitions.resolve(problem, None, resolution="代办退税", now=NOW)
    transitions.give_satisfaction(problem, None, satisfaction=Satisfaction.satisfied, comment=None, now=NOW)
    transitions.close(problem, None, note=None, now=NOW)
    returned = problems.record_problem(enterprise_id=firm.id, category=ProblemCategory.other,
                                       description="咨询", now=NOW, recorder=None)
    transitions.assign(returned, None, department_id=tax.id, deadline=None, note=None, now=NOW)
    transitions.return_problem(returned, None, reason="不属本部门", now=NOW)
    withdrawn = problems.record_problem(enterprise_id=firm.id, category=ProblemCategory.other,
                                        description="已自行解决", now=NOW, recorder=None)
    transitions.withdraw(withdrawn, None, reason="企业撤回", now=NOW)
    db.session.commit()

    assert_rows(audit_rows(client, "problem", problem.id, "zh_CN"), [
        ["销号", "立伟轻工：出口退税慢", "状态: 办结 → 销号"],
        ["已评价满意度", "满意度: 满意"],
        ["办结", "状态: 办理中 → 办结"],
        ["同意延期", "办理期限: 2026年3月16日 周一 → 2026年3月27日 周五"],
        ["申请延期", "延期至: 2026年3月27日 周五"],
        ["开始办理", "状态: 交办 → 办理中"],
        ["转办", "职能部门: 县税务局 → 县商务局"],
        ["交办", "状态: 受理 → 交办", "职能部门: 县税务局", "办理期限: 2026年3月16日 周一"],
        ["登记", "企业: 立伟轻工", "类别: 税费", "状态: 受理"],
    ])
    assert_rows(audit_rows(client, "problem", problem.id, "en"), [
        ["Closed out", "Status: Resolved → Closed out"],
        ["Satisfaction given", "Satisfaction: Satisfied"],
        ["Resolved", "Status: In progress → Resolved"],
        ["Extension approved", "Deadline: Mon 16 Mar 2026 → Fri 27 Mar 2026"],
        ["Extension requested", "Extension until: Fri 27 Mar 2026"],
        ["Started", "Status: Assigned → In progress"],
        ["Reassigned", "Department: 县税务局 → 县商务局"],
        ["Assigned", "Status: Accepted → Assigned", "Department: 县税务局"],
        ["Recorded", "Enterprise: 立伟轻工", "Category: Taxes and fees", "Status: Accepted"],
    ])
    assert_rows(audit_rows(client, "problem", returned.id, "zh_CN")[:1], [["退回", "状态: 交办 → 退回", "不属本部门"]])
    assert_rows(audit_rows(client, "problem", withdrawn.id, "zh_CN")[:1], [["撤回", "状态: 受理 → 已撤回"]])
    assert_rows(audit_rows(client, "problem", withdrawn.id, "en")[:1], [["Withdrawn", "Status: Accepted → Withdrawn"]])


def test_account_changes(app, client, login_as):
    admin = login_as("admin")
    person = factories.person(factories.organisation(OrgKind.committee), name="李组织", email="li@example.cn")
    db.session.commit()
    assert client.post(f"/people/{person.id}/account",
                       data={"role": "organiser", "password": "first password"}).status_code == 302
    user = db.session.query(User).filter_by(person_id=person.id).one()
    assert client.post(f"/accounts/{user.id}/edit",
                       data={"role": "organiser", "active": "", "password": "second password"}).status_code == 302
    rows = audit_rows(client, "user_account", user.id, "zh_CN")
    assert_rows(rows, [
        ["修改", "账号 李组织 <li@example.cn>", "启用: 是 → 否", "密码: *** → ***", admin.name],
        ["创建", "角色: 组织者"],
    ])
    assert "second password" not in " ".join(rows)
    assert_rows(audit_rows(client, "user_account", user.id, "en"), [
        ["Edited", "Active: yes → no", "Password: *** → ***"],
        ["Created", "Role: Organiser"],
    ])


def test_pairs_keep_their_order_and_only_declared_fields_are_written(app):
    problem = factories.problem()
    entry = record(problem, "close", {"status": ["resolved", "closed"], "no_such_field": [1, 2]}, now=NOW)
    db.session.flush()
    assert db.session.get(AuditEntry, entry.id).changes == {"status": ["resolved", "closed"]}
    entry = record(problem, "create", {"description": [None, "2026 年问题"]}, now=NOW)
    assert entry.changes == {"description": [None, "2026 年问题"]}


def test_an_undeclared_kind_of_record_is_refused(app):
    class Stray:
        __tablename__ = "stray"
        id = 1

    with pytest.raises(LookupError):
        record(Stray(), "create", {})


def test_every_recorded_action_has_a_translated_name(app):
    """No raw action name ("assign", "feed_token_created") reaches the page."""
    from pathlib import Path

    from app.audit.display import COMMON_ACTIONS
    from app.audit.subjects import audited_model, declared_types

    named = set(COMMON_ACTIONS)
    for entity_type in declared_types():
        named |= set(audited_model(entity_type).actions)
    written = set()
    for path in Path(app.root_path).rglob("*.py"):
        source = path.read_text()
        written |= set(re.findall(r'\brecord\(\s*\w+,\s*"(\w+)"', source))
        written |= set(re.findall(r'\badd_step\(\s*[\w.]+,\s*\w+,\s*"(\w+)"', source))
        for pair in re.findall(r'\b(?:record|add_step)\([^()"]*"(\w+)" if [\w.]+ else "(\w+)"', source):
            written |= set(pair)
    assert {"create", "assign", "answer", "invite", "close", "deactivate", "refuse_extension"} <= written
    assert sorted(written - named) == []


def test_the_activity_page_history_names_actions_and_fields(app, client, organiser):
    activity = factories.activity(starts_at=START, title="企业家下午茶")
    contact = factories.person(factories.organisation(OrgKind.enterprise), name="王立伟")
    db.session.commit()
    invitations.invite(activity, invitations.Selection(person_ids=[contact.id]), now=NOW)
    db.session.commit()
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    history = page.split('<div class="card-header">变更记录</div>', 1)[1].split("</ul>", 1)[0]
    assert "发出邀请 · 受邀人员" in history and "invite" not in history
