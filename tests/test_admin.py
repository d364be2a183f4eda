"""Administration of organisations, people, venues and themes: happy paths and bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.events.models import MonthlyTheme
from app.extensions import db
from app.orgs.models import AllianceMembership, InstructorAssignment, Organisation, Person, Venue
from tests import factories


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def organiser(login_as):
    return login_as("organiser")


def test_create_enterprise_with_alliance_and_chain_leader(client, organiser):
    alliance = factories.organisation("alliance", name="塑料制品产业链党建联盟")
    db.session.commit()
    response = client.post(
        "/organisations/new",
        data={"name": "江西测试塑业有限公司", "kind": "enterprise", "party_branch": "joint",
              "joint_branch_name": "园区联合党支部", "alliances": [alliance.id], "chain_leader_of": [alliance.id]},
    )
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.name == "江西测试塑业有限公司"))
    membership = db.session.scalar(select(AllianceMembership).where(AllianceMembership.enterprise_id == org.id))
    assert membership.alliance_id == alliance.id and membership.is_chain_leader
    assert org.party_branch.value == "joint"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.entity_id == org.id, AuditEntry.action == "create"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "kind": "enterprise"}, "必填"),
        ({"name": "长" * 121, "kind": "enterprise"}, "120"),
        ({"name": "某单位", "kind": "spaceship"}, "不是有效的选择"),
        ({"name": "某单位", "kind": "enterprise", "party_branch": "joint"}, "请填写联建党支部名称"),
        ({"name": "某单位", "kind": "department", "alliances": ["1"]}, "只有企业"),
        ({"name": "已有企业", "kind": "enterprise"}, "已存在"),
        ({"name": "  已有企业 ", "kind": "enterprise"}, "已存在"),
    ],
)
def test_organisation_form_refuses_bad_input(client, organiser, data, message):
    factories.organisation("enterprise", name="已有企业")
    factories.organisation("alliance", name="联盟")
    db.session.commit()
    before = count(Organisation), count(AuditEntry)
    response = client.post("/organisations/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert (count(Organisation), count(AuditEntry)) == before


def test_edit_and_deactivate_organisation(client, organiser):
    org = factories.organisation("enterprise", name="旧名称")
    db.session.commit()
    response = client.post(f"/organisations/{org.id}/edit", data={"name": "新名称", "kind": "enterprise", "party_branch": "none"})
    assert response.status_code == 302
    client.post(f"/organisations/{org.id}/active", data={"active": "0"})
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.name == "新名称" and not org.active
    listing = client.get("/organisations").get_data(as_text=True)
    assert "新名称" not in listing
    assert "新名称" in client.get("/organisations?inactive=1").get_data(as_text=True)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == org.id)).all()
    assert set(actions) >= {"update", "deactivate"}


def test_search_organisations(client, organiser):
    factories.organisation("enterprise", name="江西洁美电子信息材料有限公司")
    factories.organisation("enterprise", name="江西侨富纺织有限公司")
    db.session.commit()
    page = client.get("/organisations?q=洁美").get_data(as_text=True)
    assert "洁美" in page and "侨富" not in page
    page = client.get("/organisations?kind=department").get_data(as_text=True)
    assert "洁美" not in page


def test_person_with_instructor_assignments(client, organiser):
    committee = factories.organisation("committee")
    enterprise = factories.organisation("enterprise")
    db.session.commit()
    response = client.post(
        "/people/new",
        data={"name": "符志勇", "email": "FU@example.com", "organisation_id": committee.id,
              "is_contact": "y", "assigned_enterprises": [enterprise.id]},
    )
    assert response.status_code == 302
    person = db.session.scalar(select(Person).where(Person.name == "符志勇"))
    assert person.email == "fu@example.com"
    assert db.session.scalar(select(InstructorAssignment).where(InstructorAssignment.instructor_id == person.id))
    assert "符志勇" in client.get(f"/people/{person.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "必填"),
        ({"name": "某人", "email": "not-an-email"}, "Email 地址"),
        ({"name": "某人", "email": "taken@example.com"}, "已被"),
        ({"name": "某人", "organisation_id": "999999"}, "不是有效的选择"),
        ({"name": "某人", "organisation_id": "abc"}, "必填"),
    ],
)
def test_person_form_refuses_bad_input(client, organiser, data, message):
    org = factories.organisation("enterprise")
    factories.person(org, email="taken@example.com")
    db.session.commit()
    data = {"organisation_id": org.id, **data}
    before = count(Person)
    response = client.post("/people/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(Person) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "大厅", "address": "园区", "capacity": "0"}, "1"),
        ({"name": "大厅", "address": "园区", "capacity": "many"}, "整数"),
        ({"name": "大厅", "address": "", "capacity": "10"}, "必填"),
        ({"name": "已有会议室", "address": "园区", "capacity": "10"}, "已存在"),
    ],
)
def test_venue_form_refuses_bad_input(client, organiser, data, message):
    factories.venue(name="已有会议室")
    db.session.commit()
    before = count(Venue)
    response = client.post("/venues/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(Venue) == before


def test_venue_create_edit_deactivate(client, organiser):
    assert client.post("/venues/new", data={"name": "报告厅", "address": "县城", "capacity": "120"}).status_code == 302
    venue = db.session.scalar(select(Venue).where(Venue.name == "报告厅"))
    assert client.post(f"/venues/{venue.id}/edit", data={"name": "报告厅", "address": "县城", "capacity": "100"}).status_code == 302
    client.post(f"/venues/{venue.id}/active", data={"active": "0"})
    db.session.expire_all()
    venue = db.session.get(Venue, venue.id)
    assert venue.capacity == 100 and not venue.active


def test_theme_create_and_duplicate_month(client, organiser):
    department = factories.organisation("department", name="县税务局")
    db.session.commit()
    data = {"year": "2026", "month": "3", "title": "减税退税", "lead_departments": [department.id]}
    assert client.post("/themes/new", data=data).status_code == 302
    theme = db.session.scalar(select(MonthlyTheme))
    assert [d.name for d in theme.lead_departments] == ["县税务局"]
    response = client.post("/themes/new", data={**data, "title": "另一个"})
    assert "该月已有主题" in response.get_data(as_text=True)
    assert count(MonthlyTheme) == 1
    assert "减税退税" in client.get("/themes?year=2026").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"year": "1999", "month": "3", "title": "x"}, "2000"),
        ({"year": "2026", "month": "13", "title": "x"}, "不是有效的选择"),
        ({"year": "2026", "month": "3", "title": ""}, "必填"),
        ({"year": "2026", "month": "3", "title": "x", "lead_departments": ["424242"]}, "不是有效的选择"),
    ],
)
def test_theme_form_refuses_bad_input(client, organiser, data, message):
    response = client.post("/themes/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(MonthlyTheme) == 0


def test_account_creation_for_a_person(client, login_as):
    login_as("admin")
    org = factories.organisation("department")
    person = factories.person(org, email="liaison@example.com")
    db.session.commit()
    response = client.post(f"/people/{person.id}/account", data={"role": "contact", "password": "long enough"})
    assert "不适合" in response.get_data(as_text=True)
    response = client.post(f"/people/{person.id}/account", data={"role": "liaison", "password": "long enough"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "organiser", "password": "short"}, "8"),
        ({"role": "superuser", "password": "long enough"}, "不是有效的选择"),
        ({"role": "", "password": "long enough"}, "必填"),
    ],
)
def test_account_form_refuses_bad_input(client, login_as, data, message):
    from app.auth.models import User

    login_as("admin")
    person = factories.person(factories.organisation("committee"), email="new@example.com")
    db.session.commit()
    before = count(User)
    response = client.post(f"/people/{person.id}/account", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(User) == before


def test_admin_cannot_demote_themselves(client, login_as):
    from app.auth.models import Role, User

    admin = login_as("admin")
    response = client.post(f"/accounts/{admin.id}/edit", data={"role": "organiser", "active": "y"})
    assert "不能取消自己的管理员权限" in response.get_data(as_text=True)
    assert db.session.get(User, admin.id).role == Role.admin
