"""The ledger's transitions: each step, who may take it, and bad input (message, nothing written)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import OrgKind
from app.problems import deadlines, services, transitions
from app.problems.models import (
    ExtensionState,
    Problem,
    ProblemCategory,
    ProblemStatus,
    ProblemStep,
    Satisfaction,
)
from tests import factories

# Monday 2026-03-09 10:00 in Beijing
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
S = ProblemStatus


def steps() -> int:
    return db.session.scalar(select(func.count()).select_from(ProblemStep))


@pytest.fixture
def world(app):
    department = factories.organisation(OrgKind.department, name="县税务局")
    other_department = factories.organisation(OrgKind.department, name="县商务局")
    enterprise = factories.organisation(OrgKind.enterprise, name="立伟轻工")
    db.session.commit()
    return department, other_department, enterprise


def test_deadline_in_working_days_skips_the_holiday(app):
    # 2026-09-30 + 5 working days: the National Day holiday (1–7 Oct, 2026) is skipped.
    assert deadlines.default_deadline(ProblemCategory.tax, date(2026, 9, 30)) > date(2026, 10, 8)
    app.config["PROBLEM_DEADLINE_DAYS"] = "tax=1"
    try:
        assert deadlines.deadline_days(ProblemCategory.tax) == 1
        assert deadlines.default_deadline(ProblemCategory.tax, date(2026, 3, 9)) == date(2026, 3, 10)
    finally:
        app.config["PROBLEM_DEADLINE_DAYS"] = ""


def test_full_lifecycle(app, world):
    department, other, enterprise = world
    problem = services.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.export, description="出口许可办理慢", now=NOW, recorder=None)
    assert problem.status == S.accepted
    transitions.assign(problem, None, department_id=department.id, deadline=None, note=None, now=NOW)
    assert problem.status == S.assigned and problem.deadline == date(2026, 3, 16)  # 5 working days
    transitions.reassign(problem, None, department_id=other.id, deadline=date(2026, 3, 20), reason="商务局负责", now=NOW)
    assert problem.department_id == other.id and problem.deadline == date(2026, 3, 20)
    transitions.start(problem, None, note=None, now=NOW)
    assert problem.status == S.in_progress
    transitions.request_extension(problem, None, until=date(2026, 3, 27), reason="需要省厅批复", now=NOW)
    assert problem.extension_state == ExtensionState.pending
    transitions.decide_extension(problem, None, approve=True, note=None, now=NOW)
    assert problem.deadline == date(2026, 3, 27)
    transitions.resolve(problem, None, resolution="代办出口许可", now=NOW, days_before=6, days_after=2)
    assert problem.status == S.resolved and problem.resolved_on == date(2026, 3, 9)
    transitions.give_satisfaction(problem, None, satisfaction=Satisfaction.unsatisfied, comment="还要跑两次", now=NOW)
    transitions.reopen(problem, None, reason="企业不满意", now=NOW)
    assert problem.status == S.in_progress and problem.resolved_on is None
    transitions.resolve(problem, None, resolution="上门办理", now=NOW)
    transitions.give_satisfaction(problem, None, satisfaction=Satisfaction.satisfied, comment=None, now=NOW)
    transitions.close(problem, None, note=None, now=NOW)
    assert problem.status == S.closed
    db.session.commit()
    actions = [s.action for s in problem.steps]
    assert actions == [
        "record", "assign", "reassign", "start", "request_extension", "approve_extension", "resolve",
        "satisfaction", "reopen", "resolve", "satisfaction", "close",
    ]
    assert problem.steps[2].from_status == S.assigned and problem.steps[2].note == "商务局负责"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "problem")) == 12


def test_return_withdraw_and_on_site(app, world):
    department, _other, enterprise = world
    problem = factories.problem(enterprise, status="assigned", department=department)
    transitions.return_problem(problem, None, reason="非本部门职责", now=NOW)
    assert problem.status == S.returned
    transitions.assign(problem, None, department_id=department.id, deadline=None, note=None, now=NOW)
    transitions.withdraw(problem, None, reason="企业已自行解决", now=NOW)
    assert problem.status == S.withdrawn
    on_site = services.record_problem(
        enterprise_id=enterprise.id, category=ProblemCategory.tax, description="留抵退税", now=NOW,
        recorder=None, resolved_on_site=True, resolution="税务局现场答复",
    )
    assert on_site.status == S.resolved and on_site.resolved_on_site and on_site.resolved_on == date(2026, 3, 9)


BAD = [
    # (status, action, kwargs, message fragment)
    ("accepted", "start", {"note": None}, "不能进行此操作"),
    ("closed", "resolve", {"resolution": "x"}, "不能进行此操作"),
    ("withdrawn", "assign", {"department_id": None, "deadline": None, "note": None}, "不能进行此操作"),
    ("accepted", "assign", {"department_id": "DEPT", "deadline": date(2026, 3, 1), "note": None}, "不能早于今天"),
    ("assigned", "reassign", {"department_id": "OTHER", "deadline": None, "reason": " "}, "请说明原因"),
    ("assigned", "return", {"reason": ""}, "请说明原因"),
    ("assigned", "withdraw", {"reason": None}, "请说明原因"),
    ("resolved", "reopen", {"reason": "x"}, "不满意时才能重办"),
    ("resolved", "close", {"note": None}, "满意后才能销号"),
    ("in_progress", "resolve", {"resolution": ""}, "请填写办理结果"),
    ("in_progress", "request_extension", {"until": date(2026, 3, 5), "reason": "x"}, "必须晚于当前期限"),
    ("resolved", "satisfaction", {"satisfaction": None, "comment": None}, "请选择企业满意程度"),
]


@pytest.mark.parametrize("status, action, kwargs, fragment", BAD, ids=[f"{b[1]}-{b[0]}" for b in BAD])
def test_bad_steps_are_refused_and_write_nothing(app, world, status, action, kwargs, fragment):
    department, other, enterprise = world
    problem = factories.problem(enterprise, status=status, department=department, deadline=date(2026, 3, 13))
    db.session.commit()
    kwargs = {k: department.id if v == "DEPT" else other.id if v == "OTHER" else v for k, v in kwargs.items()}
    function = {"return": transitions.return_problem, "satisfaction": transitions.give_satisfaction}.get(action) or getattr(transitions, action)
    before = steps()
    with pytest.raises(ValidationFailed) as failure:
        function(problem, None, now=NOW, **kwargs)
    assert fragment in failure.value.message
    db.session.rollback()
    assert steps() == before
    assert db.session.get(Problem, problem.id).status == S(status)


def test_extension_only_before_the_deadline(app, world):
    department, _other, enterprise = world
    problem = factories.problem(enterprise, status="in_progress", department=department, deadline=date(2026, 3, 6))
    with pytest.raises(ValidationFailed, match="届满前申请"):
        transitions.request_extension(problem, None, until=date(2026, 3, 20), reason="x", now=NOW)


# -- over HTTP: permissions and messages -------------------------------------------

def _setup_http(world):
    department, other, enterprise = world
    problem = factories.problem(enterprise, status="assigned", department=department, deadline=date(2030, 3, 20))
    db.session.commit()
    return problem


@pytest.mark.parametrize(
    "role, action, data, expected",
    [
        ("organiser", "start", {}, 302),
        ("liaison-own", "start", {}, 302),
        ("liaison-own", "resolve", {"resolution": "已办"}, 302),
        ("liaison-own", "return", {"reason": "非本部门"}, 302),
        ("liaison-own", "request_extension", {"until": "2030-12-30", "reason": "等批复"}, 302),
        ("liaison-own", "reassign", {"department": "OTHER", "reason": "x"}, 403),
        ("liaison-other", "start", {}, 404),
        ("contact-own", "start", {}, 403),
        ("contact-own", "withdraw", {"reason": "不需要了"}, 302),
        ("contact-other", "withdraw", {"reason": "x"}, 404),
        ("instructor", "start", {}, 404),
    ],
)
def test_who_may_take_a_step(app, client, login_as, world, role, action, data, expected):
    department, other, enterprise = world
    problem = _setup_http(world)
    org = {
        "liaison-own": department, "liaison-other": other, "contact-own": enterprise,
        "contact-other": factories.organisation(OrgKind.enterprise),
    }.get(role)
    login_as(role.split("-")[0], org=org)
    data = {k: other.id if v == "OTHER" else v for k, v in data.items()}
    before = steps()
    response = client.post(f"/problems/{problem.id}/{action}", data=data)
    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    assert steps() == before + (1 if expected == 302 else 0)


def test_a_refused_step_shows_the_translated_reason(app, client, login_as, world):
    problem = _setup_http(world)
    login_as("organiser")
    before = steps()
    response = client.post(f"/problems/{problem.id}/return", data={"reason": ""})
    assert response.status_code == 422
    assert "请说明原因" in response.get_data(as_text=True)
    response = client.post(f"/problems/{problem.id}/close", data={})
    assert response.status_code == 422
    assert "不能进行此操作" in response.get_data(as_text=True)
    assert steps() == before


def test_on_site_entry_keeps_what_was_typed(app, client, login_as, world):
    department, _other, enterprise = world
    activity = factories.activity()
    db.session.commit()
    login_as("organiser")
    page = client.get(f"/problems/new?activity={activity.id}")
    assert page.status_code == 200 and "problem_draft.js" in page.get_data(as_text=True)
    response = client.post(
        f"/problems/new?activity={activity.id}",
        data={"enterprise": enterprise.id, "category": "tax", "description": "留抵退税进度", "department": 0, "resolved_on_site": "y", "resolution": ""},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "留抵退税进度" in body and "请说明现场是如何解决的" in body
    assert db.session.scalar(select(func.count()).select_from(Problem)) == 0
    response = client.post(
        f"/problems/new?activity={activity.id}",
        data={"enterprise": enterprise.id, "category": "tax", "description": "留抵退税进度", "department": department.id},
    )
    assert response.status_code == 302
    problem = db.session.scalar(select(Problem))
    assert problem.activity_id == activity.id and problem.department_id == department.id and problem.status == S.assigned
    assert problem.deadline == date(2026, 3, 16) or problem.deadline > date(2026, 3, 16)


def test_entry_page_offers_the_activity_enterprises_first(app, client, login_as):
    alliance = factories.organisation(OrgKind.alliance)
    outsider = factories.organisation(OrgKind.enterprise, name="A外部企业")
    member = factories.organisation(OrgKind.enterprise, name="Z联盟企业")
    factories.member(alliance, member)
    activity = factories.activity(alliance=alliance)
    db.session.commit()
    login_as("organiser")
    body = client.get(f"/problems/new?activity={activity.id}").get_data(as_text=True)
    assert body.index("Z联盟企业") < body.index("A外部企业") and outsider.id


def test_follow_up_visit_is_planned_and_recorded(app, client, login_as, world):
    department, _other, enterprise = world
    problem = factories.problem(enterprise, status="resolved", department=department)
    db.session.commit()
    login_as("organiser")
    response = client.post(f"/problems/{problem.id}/follow-up", data={"starts_at": "2030-04-01T09:00", "ends_at": "2030-04-01T10:00"})
    assert response.status_code == 302
    from app.events.models import Activity, VisitKind
    from app.problems.models import FollowUp

    follow_up = db.session.scalar(select(FollowUp))
    visit = db.session.get(Activity, follow_up.activity_id)
    assert visit.visit_kind == VisitKind.follow_up and visit.site_id == enterprise.id
    response = client.post(f"/follow-ups/{follow_up.id}/outcome", data={"outcome": "企业反映已解决"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).outcome == "企业反映已解决"
    # A visit in the past is refused and nothing is written.
    count = db.session.scalar(select(func.count()).select_from(FollowUp))
    client.post(f"/problems/{problem.id}/follow-up", data={"starts_at": "2020-04-01T09:00", "ends_at": "2020-04-01T10:00"})
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == count


def test_invitees_come_first(app):
    from app.auth.models import Role

    first = factories.organisation(OrgKind.enterprise, name="A甲")
    invitee = factories.organisation(OrgKind.enterprise, name="Z被邀请")
    activity = factories.activity()
    factories.answered_invitation(activity, factories.person(invitee))
    organiser = factories.user(Role.organiser)
    ordered = services.enterprises_for_activity(activity, organiser)
    assert [o.id for o in ordered[:2]] == [invitee.id, first.id]
