"""The API's ledger, dashboard figures and feed links: the same services, rules and records as the pages."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.api.keys import create_key
from app.api.models import Scope
from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.extensions import db
from app.feeds.models import FeedToken
from app.mail.models import OutboxMessage
from app.orgs.models import OrgKind
from app.problems.models import Problem, ProblemStatus
from app.webhooks import services
from app.webhooks.models import EventType
from tests import factories as f

ALL_SCOPES = [s.value for s in Scope]


def make_key(org, scopes=ALL_SCOPES, name="12345热线") -> str:
    _row, key = create_key(org, name, list(scopes), created_by=None, now=utcnow())
    db.session.commit()
    return key


def bearer(key: str, **headers) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def world():
    committee = f.organisation(OrgKind.committee, name="产业链综合党委")
    department = f.organisation(OrgKind.department, name="县税务局")
    enterprise = f.organisation(OrgKind.enterprise, name="立伟轻工")
    other = f.organisation(OrgKind.enterprise, name="华东精密")
    db.session.commit()
    return committee, department, enterprise, other


def audit_trail(problem_id: int) -> list[tuple]:
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "problem", AuditEntry.entity_id == problem_id).order_by(AuditEntry.id)
    )
    return [(e.action, e.changes, e.note) for e in entries]


def test_an_api_problem_stepped_to_resolved_reads_as_one_made_in_the_pages(app, client, login_as):
    committee, department, enterprise, _other = world()
    key = make_key(committee)
    services.create_endpoint(name="省平台", url="https://platform.example/hooks", events=[e.value for e in EventType], secret=None, now=utcnow())
    db.session.commit()
    organiser = login_as("organiser", org=committee)
    # In the pages: the entry form, then 交办, 办理中, 办结.
    response = client.post("/problems/new", data={
        "enterprise": enterprise.id, "category": "tax", "source": "hotline", "description": "退税进度查询",
        "department": 0,
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    by_page = db.session.scalar(select(Problem).order_by(Problem.id.desc()))
    for action, data in (("assign", {"department": department.id}), ("start", {}), ("resolve", {"resolution": "已退税"})):
        assert client.post(f"/problems/{by_page.id}/{action}", data=data).status_code == 302
    # Through the API: the same problem and steps.
    created = client.post("/api/v1/problems", headers=bearer(key), json={
        "enterprise_id": enterprise.id, "category": "tax", "source": "hotline", "description": "退税进度查询",
    })
    assert created.status_code == 201, created.json
    problem_id = created.json["id"]
    assert created.headers["Location"] == f"/api/v1/problems/{problem_id}"
    assert created.json["source"] == "hotline" and "assign" in created.json["available_actions"]
    for path, body in (("assign", {"department_id": department.id}), ("start", None), ("resolve", {"resolution": "已退税"})):
        answer = client.post(f"/api/v1/problems/{problem_id}/{path}", headers=bearer(key), json=body)
        assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "resolved"

    by_api = db.session.get(Problem, problem_id)
    # The ledger: the same state, steps and deadline; both listed with their source.
    assert (by_api.status, by_api.deadline, by_api.resolved_on) == (by_page.status, by_page.deadline, by_page.resolved_on)
    assert [(s.action, s.from_status, s.to_status, s.note) for s in by_api.steps] == [
        (s.action, s.from_status, s.to_status, s.note) for s in by_page.steps
    ]
    ledger = client.get("/problems?source=hotline").get_data(as_text=True)
    assert f"No.{by_page.id}" in ledger and f"No.{by_api.id}" in ledger and ledger.count('data-source="hotline"') == 2
    assert f"No.{by_api.id}" not in client.get("/problems?source=on_site").get_data(as_text=True)
    listed = client.get("/api/v1/problems?source=hotline&status=resolved", headers=bearer(key)).json["items"]
    assert [p["id"] for p in listed] == [by_api.id, by_page.id]
    # The audit log: the same entries; the pages' name the account, the API's the key.
    assert audit_trail(by_api.id) == audit_trail(by_page.id)
    page_entries = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == by_page.id, AuditEntry.entity_type == "problem"))
    api_entries = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == by_api.id, AuditEntry.entity_type == "problem"))
    assert {(e.actor_id, e.api_key_id) for e in page_entries} == {(organiser.id, None)}
    assert {(e.actor_id, e.api_key_id is not None) for e in api_entries} == {(None, True)}
    # The dashboard: both counted alike (the page and the API read the same figures).
    figures = client.get("/api/v1/stats/dashboard?all=1", headers=bearer(key)).json
    assert (figures["figures"]["collected"], figures["figures"]["resolved"], figures["figures"]["on_time"]) == (2, 2, 2)
    assert figures["by_category"] == [{"category": "tax", "collected": 2, "resolved": 2}]
    assert figures["by_department"] == [{"department": "县税务局", "assigned": 2, "resolved": 2, "overdue": 0}]
    page = client.get("/dashboard?all=1").get_data(as_text=True)
    assert 'id="fig-collected">2<' in page and 'id="fig-resolved">2<' in page
    # The webhooks: the same events, in the same order.
    events: dict[int, list[str]] = {by_page.id: [], by_api.id: []}
    for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook").order_by(OutboxMessage.id)):
        payload = json.loads(row.raw)
        events[payload["data"]["id"]].append(payload["type"])
    assert events[by_api.id] == events[by_page.id] == [
        "problem.created", "problem.stepped", "problem.stepped", "problem.stepped", "problem.resolved",
    ]


def test_an_enterprise_key_sees_only_its_own_problems(app, client):
    committee, department, enterprise, other = world()
    own = f.problem(enterprise, status="resolved", department=department)
    theirs = f.problem(other, status="resolved", department=department)
    db.session.commit()
    key = make_key(enterprise, [Scope.problems_read, Scope.problems_write, Scope.stats_read])
    assert client.get(f"/api/v1/problems/{own.id}", headers=bearer(key)).status_code == 200
    for response in (
        client.get(f"/api/v1/problems/{theirs.id}", headers=bearer(key)),
        client.post(f"/api/v1/problems/{theirs.id}/satisfaction", headers=bearer(key), json={"satisfaction": "satisfied"}),
        client.get(f"/api/v1/problems?enterprise={other.id}", headers=bearer(key)),
    ):
        assert response.status_code == 404 and response.json["code"] == "not_found"
    assert [p["id"] for p in client.get("/api/v1/problems", headers=bearer(key)).json["items"]] == [own.id]
    # What its contact may do in the pages: say whether it is satisfied; not record nor assign.
    rated = client.post(f"/api/v1/problems/{own.id}/satisfaction", headers=bearer(key), json={"satisfaction": "satisfied"})
    assert rated.status_code == 200 and rated.json["satisfaction"] == "satisfied"
    refused = client.post(f"/api/v1/problems/{own.id}/close", headers=bearer(key))
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    record = client.post("/api/v1/problems", headers=bearer(key), json={
        "enterprise_id": enterprise.id, "category": "tax", "source": "province_platform", "description": "x",
    })
    assert record.status_code == 403
    figures = client.get("/api/v1/stats/dashboard?all=1", headers=bearer(key)).json["figures"]
    assert figures["collected"] == 1


def test_a_step_with_a_stale_etag_gets_412_and_a_refused_step_422(app, client):
    committee, department, enterprise, _other = world()
    problem = f.problem(enterprise)
    db.session.commit()
    key = make_key(committee)
    read = client.get(f"/api/v1/problems/{problem.id}", headers=bearer(key))
    etag = read.headers["ETag"]
    moved = client.post(f"/api/v1/problems/{problem.id}/assign", headers=bearer(key, **{"If-Match": etag}),
                        json={"department_id": department.id})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    stale = client.post(f"/api/v1/problems/{problem.id}/withdraw", headers=bearer(key, **{"If-Match": etag}),
                        json={"reason": "录入有误"})
    assert stale.status_code == 412 and stale.json["code"] == "precondition_failed"
    wrong = client.post(f"/api/v1/problems/{problem.id}/close", headers=bearer(key))
    assert wrong.status_code == 422 and wrong.json["code"] == "rule_refused"
    assert db.session.get(Problem, problem.id).status == ProblemStatus.assigned
    missing = client.post(f"/api/v1/problems/{problem.id}/return", headers=bearer(key), json={})
    assert missing.status_code == 400 and missing.json["errors"][0]["field"] == "reason"


def test_scopes_allow_what_they_name(app, client):
    committee, _department, enterprise, _other = world()
    problem = f.problem(enterprise)
    db.session.commit()
    reader = make_key(committee, [Scope.problems_read], name="只读")
    assert client.get(f"/api/v1/problems/{problem.id}", headers=bearer(reader)).status_code == 200
    for response in (
        client.post(f"/api/v1/problems/{problem.id}/withdraw", headers=bearer(reader), json={"reason": "x"}),
        client.post("/api/v1/problems", headers=bearer(reader), json={}),
        client.get("/api/v1/stats/dashboard", headers=bearer(reader)),
        client.post("/api/v1/feeds", headers=bearer(reader), json={"name": "x", "organisation_id": committee.id}),
    ):
        assert response.status_code == 403 and response.json["code"] == "scope_missing"


def test_feed_links_for_subjects_the_key_may_manage(app, client):
    committee, _department, enterprise, other = world()
    key = make_key(enterprise, [Scope.feeds_write])
    made = client.post("/api/v1/feeds", headers=bearer(key), json={"name": "办公室 Outlook", "organisation_id": enterprise.id})
    assert made.status_code == 201 and made.json["url"].startswith("http") and made.json["webcal"].startswith("webcal")
    assert client.get(made.json["url"].split("linghang.test", 1)[1]).status_code == 200
    refused = client.post("/api/v1/feeds", headers=bearer(key), json={"name": "x", "organisation_id": other.id})
    assert refused.status_code == 422
    theirs = client.post("/api/v1/feeds", headers=bearer(make_key(committee, [Scope.feeds_write])),
                         json={"name": "y", "organisation_id": other.id}).json
    assert client.post(f"/api/v1/feeds/{theirs['id']}/revoke", headers=bearer(key)).status_code == 404
    revoked = client.post(f"/api/v1/feeds/{made.json['id']}/revoke", headers=bearer(key))
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert db.session.get(FeedToken, made.json["id"]).revoked_at is not None
    assert client.get(made.json["url"].split("linghang.test", 1)[1]).status_code == 404
