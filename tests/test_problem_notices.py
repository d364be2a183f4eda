"""Mails when a problem moves: 交办 to the liaisons, 办结 to the enterprise with a rating link that
needs no account, and a problem raised through feedback to the organisers; delivered through the
outbox to a real SMTP server. And the entry form from a visit starts with the visited enterprise."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.core.errors import ValidationFailed
from app.extensions import db
from app.mail import dispatch
from app.mail.models import OutboxMessage
from app.orgs.models import OrgKind
from app.problems import notices, services, transitions
from app.problems.models import Problem, ProblemCategory, RatingLink, Satisfaction
from tests import factories

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(app):
    department = factories.organisation(OrgKind.department, name="县商务局")
    enterprise = factories.organisation(OrgKind.enterprise, name="瑞一韵承")
    liaison = factories.user("liaison", org=department, email="liaison@test.cn", name="联络员甲")
    contact = factories.person(enterprise, name="企业联系人", email="contact@test.cn")
    organiser = factories.user("organiser", email="organiser@test.cn")
    db.session.commit()
    return department, enterprise, liaison, contact, organiser


def _deliver(smtp_server, now=NOW):
    db.session.commit()
    dispatch.deliver_due(now)
    db.session.commit()
    return {str(m["To"]): m for m in smtp_server.parsed()}


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def _link(message) -> str:
    return re.search(r"https?://\S+", _body(message)).group(0)


def _outbox(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == kind))


def test_assignment_mails_the_liaison_at_once(app, world, smtp_server):
    department, enterprise, liaison, contact, organiser = world
    problem = services.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.export, description="出口许可办理慢", now=NOW, recorder=None)
    assert _outbox(notices.ASSIGNED) == 0
    transitions.assign(problem, organiser.person, department_id=department.id, deadline=None, note=None, now=NOW)
    received = _deliver(smtp_server)
    mail = next(m for to, m in received.items() if "liaison@test.cn" in to)
    assert "交办" in str(mail["Subject"]) and "瑞一韵承" in str(mail["Subject"])
    assert "出口许可办理慢" in _body(mail) and f"http://linghang.test/problems/{problem.id}" in _body(mail)
    assert _outbox(notices.ASSIGNED) == 1


def test_a_refused_assignment_mails_nobody(app, world):
    _department, enterprise, _liaison, _contact, organiser = world
    problem = services.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.export, description="x", now=NOW, recorder=None)
    with pytest.raises(ValidationFailed):
        transitions.assign(problem, organiser.person, department_id=None, deadline=None, note=None, now=NOW)
    assert _outbox(notices.ASSIGNED) == 0


def test_recorded_with_a_department_mails_the_liaison(app, world):
    department, enterprise, *_ = world
    services.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.tax, description="留抵退税", now=NOW, recorder=None, department_id=department.id)
    assert _outbox(notices.ASSIGNED) == 1


def test_resolution_mails_a_rating_link_that_works_without_an_account(app, world, client, smtp_server):
    department, enterprise, liaison, contact, organiser = world
    problem = services.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.export, description="出口许可办理慢", now=NOW, recorder=None, department_id=department.id)
    transitions.resolve(problem, liaison.person, resolution="商务局代办，2 日办结", now=NOW)
    received = _deliver(smtp_server)
    mail = next(m for to, m in received.items() if "contact@test.cn" in to)
    assert "办结" in str(mail["Subject"]) and "评价" in str(mail["Subject"])
    assert "商务局代办" in _body(mail)
    link = _link(mail)
    token = link.rsplit("/", 1)[1]
    assert link.startswith("http://linghang.test/problems/rate/")
    # Only the hash is kept.
    assert db.session.scalar(select(RatingLink.token_hash)) != token and token not in db.session.scalar(select(RatingLink.token_hash))
    path = link.removeprefix("http://linghang.test")
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        page = client.get(path)
        assert page.status_code == 200 and "出口许可办理慢" in page.get_data(as_text=True)
        assert page.headers["Cache-Control"] == "no-store"
        assert client.post(path, data={"satisfaction": "nonsense"}).status_code == 422
        assert client.post(path, data={"satisfaction": "satisfied", "comment": "很快"}).status_code == 302
    db.session.expire_all()
    rated = db.session.get(Problem, problem.id)
    assert rated.satisfaction == Satisfaction.satisfied and rated.feedback == "很快"
    assert rated.steps[-1].actor_id == contact.id
    # Expired and unknown links get the same 404.
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        assert client.get(path).status_code == 404
        assert client.get("/problems/rate/" + "x" * 43).status_code == 404


def test_resolution_of_an_activity_problem_links_the_answer_links_feedback_page(app, world, client, smtp_server):
    department, enterprise, liaison, contact, organiser = world
    activity = factories.activity(starts_at=NOW - timedelta(days=2))
    factories.invitation(activity, contact, answer="accepted", seats=1)
    problem = services.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.export, description="报关疑问", now=NOW, recorder=None, activity=activity, department_id=department.id)
    transitions.resolve(problem, liaison.person, resolution="已答复", now=NOW)
    mail = next(m for to, m in _deliver(smtp_server).items() if "contact@test.cn" in to)
    link = _link(mail)
    assert re.fullmatch(r"http://linghang\.test/rsvp/[\w-]+/feedback", link)
    assert db.session.scalar(select(func.count()).select_from(RatingLink)) == 0
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        page = client.get(link.removeprefix("http://linghang.test"))
    assert page.status_code == 200 and "报关疑问" in page.get_data(as_text=True)


def test_a_problem_raised_through_feedback_mails_the_organisers(app, world, smtp_server):
    _department, enterprise, _liaison, contact, organiser = world
    activity = factories.activity(starts_at=NOW - timedelta(days=2))
    db.session.refresh(contact)  # loaded before the pending feedback row exists
    services.record_attendee_feedback(activity, enterprise, contact, 4, None, [], {"category": ProblemCategory.financing, "description": "希望对接科技贷款"}, now=NOW)
    received = _deliver(smtp_server)
    mail = next(m for to, m in received.items() if "organiser@test.cn" in to)
    assert "希望对接科技贷款" in _body(mail) and "待交办" in str(mail["Subject"])


def test_the_start_up_check_knows_the_problem_kinds(app):
    registry = app.extensions["linghang.notices"]
    assert registry.missing_kinds([], notices.OUTBOX_KINDS) == []
    saved = registry.prebuilt.pop(notices.RESOLVED)
    try:
        assert registry.missing_kinds([], notices.OUTBOX_KINDS) == [f"outbox kind {notices.RESOLVED!r}"]
    finally:
        registry.prebuilt[notices.RESOLVED] = saved


def test_entry_from_a_visit_starts_with_the_visited_enterprise(app, client, login_as):
    enterprise = factories.organisation(OrgKind.enterprise, name="被走访企业")
    for n in range(3):
        factories.organisation(OrgKind.enterprise, name=f"其他企业{n}")
    instructor = factories.user("instructor")
    visit = factories.activity(kind="visit", visit_kind="outreach", site=enterprise, organiser=instructor.person, starts_at=NOW)
    salon = factories.activity(starts_at=NOW)
    login_as(instructor)
    html = client.get(f"/problems/new?activity={visit.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{enterprise.id}">|<option value="{enterprise.id}" selected>', html), html[:3000]
    other = client.get(f"/problems/new?activity={salon.id}").get_data(as_text=True)
    assert "selected" not in re.search(r'<select[^>]*id="enterprise".*?</select>', other, re.S).group(0)


def test_a_mail_whose_news_is_no_longer_true_is_withdrawn_at_send_time(app, world, smtp_server):
    department, enterprise, liaison, _contact, organiser = world
    problem = services.record_problem(enterprise_id=enterprise.id, category=ProblemCategory.export, description="x", now=NOW, recorder=None)
    transitions.assign(problem, organiser.person, department_id=department.id, deadline=None, note=None, now=NOW)
    db.session.commit()
    # Withdrawn by the enterprise before the outbox was sent: the 交办 mail is not delivered.
    transitions.withdraw(problem, None, reason="已自行解决", now=NOW + timedelta(minutes=1))
    report = dispatch.deliver_due(NOW + timedelta(minutes=2))
    db.session.commit()
    assert smtp_server.messages == [] and report.withdrawn == 1
