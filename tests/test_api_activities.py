"""Activities and invitations through /api/v1/: the services of the pages, their audit, ETags and cursors."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.orgs.models import OrgKind
from tests import factories as f
from tests.test_api import bearer, make_key

START = datetime(2026, 12, 9, 6, 30, tzinfo=UTC)


@pytest.fixture
def county():
    """A committee with an organiser's key, a venue, an enterprise with a key of its own."""
    committee = f.organisation(OrgKind.committee, name="产业链综合党委")
    enterprise = f.organisation(OrgKind.enterprise, name="赣锋电子")
    venue = f.venue("党群服务中心", capacity=30)
    db.session.commit()
    return {"committee": committee, "enterprise": enterprise, "venue": venue,
            "key": make_key(committee, name="县委系统"), "enterprise_key": make_key(enterprise, name="企业系统")}


def _body(county, **changes):
    body = {"kind": "salon", "title": "党建联盟沙龙", "host_id": county["committee"].id,
            "venue_id": county["venue"].id, "starts_at": "2026-12-09T14:30:00+08:00",
            "ends_at": "2026-12-09T16:30:00+08:00"}
    return {**body, **changes}


def test_create_publish_reschedule_cancel_as_in_the_pages(app, client, county):
    key = county["key"]
    created = client.post("/api/v1/activities", headers=bearer(key), json=_body(county))
    assert created.status_code == 201, created.json
    activity_id = created.json["id"]
    assert created.headers["Location"].endswith(f"/api/v1/activities/{activity_id}")
    assert (created.json["status"], created.json["sequence"]) == ("draft", 0)
    assert datetime.fromisoformat(created.json["starts_at"]) == START

    published = client.post(f"/api/v1/activities/{activity_id}/publish", headers=bearer(key))
    assert (published.status_code, published.json["status"], published.json["sequence"]) == (200, "published", 0)

    moved = client.post(f"/api/v1/activities/{activity_id}/reschedule", headers=bearer(key), json={
        "starts_at": "2026-12-10T14:30:00+08:00", "ends_at": "2026-12-10T16:30:00+08:00", "reason": "会场检修"})
    assert moved.status_code == 200, moved.json
    assert (moved.json["sequence"], moved.json["status_reason"]) == (1, "会场检修")

    cancelled = client.post(f"/api/v1/activities/{activity_id}/cancel", headers=bearer(key), json={"reason": "天气"})
    assert (cancelled.json["status"], cancelled.json["sequence"]) == ("cancelled", 2)

    again = client.post(f"/api/v1/activities/{activity_id}/publish", headers=bearer(key, **{"Accept-Language": "en"}))
    assert (again.status_code, again.json["code"]) == (422, "rule_refused")
    assert again.json["detail"] == "Only a draft can be published."

    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "activity").order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "publish", "reschedule", "cancel"]
    assert {(e.actor_id, e.api_key.name) for e in entries} == {(None, "县委系统")}


def test_the_audit_log_names_the_key(app, client, county, login_as):
    client.post("/api/v1/activities", headers=bearer(county["key"]), json=_body(county))
    login_as("admin")
    page = client.get("/audit").get_data(as_text=True)
    assert "经 API 密钥 县委系统" in page


def test_a_refusal_names_the_field_and_writes_nothing(app, client, county):
    body = _body(county, ends_at="2026-12-09T13:00:00+08:00")
    refused = client.post("/api/v1/activities", headers=bearer(county["key"], **{"Accept-Language": "en"}), json=body)
    assert (refused.status_code, refused.json["code"]) == (422, "rule_refused")
    assert refused.json["errors"] == [{"location": "json", "field": "ends_at", "message": "The end must be after the start."}]
    assert db.session.scalar(select(Activity)) is None
    ancient = client.post("/api/v1/activities", headers=bearer(county["key"]), json=_body(county, starts_at="0001-01-01T00:00:00Z"))
    assert (ancient.status_code, ancient.json["errors"][0]["field"]) == (422, "starts_at")


def test_a_taken_venue_is_refused_unless_overridden_with_a_reason(app, client, county):
    key = county["key"]
    first = client.post("/api/v1/activities", headers=bearer(key), json=_body(county, publish=True))
    assert first.json["status"] == "published"
    clash = client.post("/api/v1/activities", headers=bearer(key), json=_body(county, title="另一个"))
    assert clash.status_code == 422 and clash.json["errors"][0]["field"] == "venue_id"
    overridden = client.post("/api/v1/activities", headers=bearer(key),
                             json=_body(county, title="另一个", override_reason="领导临时决定"))
    assert overridden.status_code == 201


def test_updates_need_the_current_etag(app, client, county):
    key = county["key"]
    activity_id = client.post("/api/v1/activities", headers=bearer(key), json=_body(county)).json["id"]
    read = client.get(f"/api/v1/activities/{activity_id}", headers=bearer(key))
    etag = read.headers["ETag"]
    assert client.get(f"/api/v1/activities/{activity_id}", headers=bearer(key, **{"If-None-Match": etag})).status_code == 304

    missing = client.patch(f"/api/v1/activities/{activity_id}", headers=bearer(key), json={"title": "新标题"})
    assert (missing.status_code, missing.json["code"]) == (428, "precondition_required")

    changed = client.patch(f"/api/v1/activities/{activity_id}", headers=bearer(key, **{"If-Match": etag}),
                           json={"title": "新标题", "capacity": 20})
    assert changed.status_code == 200, changed.json
    assert (changed.json["title"], changed.json["capacity"], changed.json["venue_id"]) == ("新标题", 20, county["venue"].id)
    assert changed.headers["ETag"] != etag

    stale = client.patch(f"/api/v1/activities/{activity_id}", headers=bearer(key, **{"If-Match": etag}),
                         json={"title": "覆盖别人的修改"})
    assert (stale.status_code, stale.json["code"]) == (412, "precondition_failed")
    assert db.session.get(Activity, activity_id).title == "新标题"
    stale_action = client.post(f"/api/v1/activities/{activity_id}/publish", headers=bearer(key, **{"If-Match": etag}))
    assert stale_action.status_code == 412
    assert db.session.get(Activity, activity_id).status == ActivityStatus.draft


def test_a_writer_that_loses_the_row_lock_gets_412(app, client, county, monkeypatch):
    """If-Match passed, then another writer changed the row before the lock: refused after the lock."""
    from app.api import activities as api_activities

    key = county["key"]
    activity_id = client.post("/api/v1/activities", headers=bearer(key), json=_body(county)).json["id"]
    etag = client.get(f"/api/v1/activities/{activity_id}", headers=bearer(key)).headers["ETag"]
    real_save = api_activities.save_activity

    def someone_else_first(activity, edit, *, now):
        with db.engine.begin() as other:  # another request, committed in between
            other.execute(Activity.__table__.update().where(Activity.id == activity.id)
                          .values(title="别人的修改", version=Activity.version + 1))
        return real_save(activity, edit, now=now)

    monkeypatch.setattr(api_activities, "save_activity", someone_else_first)
    lost = client.patch(f"/api/v1/activities/{activity_id}", headers=bearer(key, **{"If-Match": etag}),
                        json={"title": "我的修改"})
    assert (lost.status_code, lost.json["code"]) == (412, "precondition_failed")
    db.session.expire_all()
    assert db.session.get(Activity, activity_id).title == "别人的修改"


def test_the_list_filters_and_pages_by_cursor_stably_under_inserts(app, client, county):
    committee = county["committee"]
    alliance = f.organisation(OrgKind.alliance)
    made = [f.activity(host=committee, starts_at=START + timedelta(days=i), title=f"活动{i}") for i in range(5)]
    f.activity("roundtable", host=committee, starts_at=START, alliance_id=alliance.id, title="圆桌")
    db.session.commit()
    key = county["key"]
    first = client.get("/api/v1/activities?kind=salon&limit=2", headers=bearer(key))
    assert [a["title"] for a in first.json["items"]] == ["活动0", "活动1"]
    assert first.headers["Link"].endswith('rel="next"')
    # Someone adds an activity before the cursor and one after it: the next page neither repeats nor skips.
    f.activity(host=committee, starts_at=START - timedelta(days=1), title="更早")
    f.activity(host=committee, starts_at=START + timedelta(days=1, hours=1), title="插入")
    db.session.commit()
    rest, cursor = [], first.json["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/activities?kind=salon&limit=2&cursor={cursor}", headers=bearer(key)).json
        rest += [a["title"] for a in page["items"]]
        cursor = page["next_cursor"]
    assert rest == ["插入", "活动2", "活动3", "活动4"]
    by_alliance = client.get(f"/api/v1/activities?alliance={alliance.id}", headers=bearer(key)).json["items"]
    assert [a["title"] for a in by_alliance] == ["圆桌"]
    period = client.get("/api/v1/activities?from=2026-12-10&to=2026-12-11&kind=salon", headers=bearer(key)).json
    assert [a["title"] for a in period["items"]] == ["活动1", "插入", "活动2"]
    assert made[0].id in {a["id"] for a in client.get("/api/v1/activities", headers=bearer(key)).json["items"]}


def test_an_invitee_answers_through_the_answer_pages_service(app, client, county):
    salon = f.activity(host=county["committee"], starts_at=datetime.now(UTC) + timedelta(days=5), capacity=2)
    contact = f.person(county["enterprise"], name="李经理")
    invitation, _token = f.invitation(salon, contact)
    db.session.commit()
    key = county["enterprise_key"]
    answered = client.post(f"/api/v1/invitations/{invitation.id}/answer", headers=bearer(key),
                           json={"answer": "accepted", "seats": 2, "names": "李经理、王工"})
    assert answered.status_code == 200, answered.json
    assert (answered.json["answer"], answered.json["seats"], answered.json["waitlisted"]) == ("accepted", 2, False)
    row = db.session.get(Invitation, invitation.id)
    assert (row.answer, row.seats, row.attendee_names) == (Answer.accepted, 2, "李经理、王工")
    too_many = client.post(f"/api/v1/invitations/{invitation.id}/answer", headers=bearer(key, **{"Accept-Language": "en"}),
                           json={"answer": "accepted", "seats": 9})
    assert too_many.status_code == 422 and too_many.json["errors"][0]["field"] == "seats"
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "invitation")).all()
    assert audit and all(e.api_key.name == "企业系统" for e in audit)
    listed = client.get(f"/api/v1/activities/{salon.id}/invitations", headers=bearer(county["key"])).json["items"]
    assert [(i["id"], i["answer"]) for i in listed] == [(invitation.id, "accepted")]


def test_organisers_keys_cannot_answer_for_invitees(app, client, county):
    salon = f.activity(host=county["committee"], starts_at=datetime.now(UTC) + timedelta(days=5))
    invitation, _token = f.invitation(salon, f.person(county["enterprise"]))
    db.session.commit()
    answer = client.post(f"/api/v1/invitations/{invitation.id}/answer", headers=bearer(county["key"]),
                         json={"answer": "declined"})
    assert answer.status_code == 404


def test_themes_are_listed(app, client, county):
    theme = f.theme(2026, 3, "减税退税政策宣讲")
    db.session.commit()
    themes = client.get("/api/v1/themes?year=2026", headers=bearer(county["enterprise_key"])).json["items"]
    assert [(t["id"], t["month"], t["title"]) for t in themes] == [(theme.id, 3, "减税退税政策宣讲")]


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_integrators_patching_with_one_etag_at_once_one_wins(app, county):
    """Behind a Barrier, two PATCHes carrying the same ETag: one 200, one 412, one change applied."""
    from tests.conftest import RequestContextClient

    app.test_client_class = RequestContextClient
    clients = [app.test_client(), app.test_client()]
    key = county["key"]
    activity_id = clients[0].post("/api/v1/activities", headers=bearer(key), json=_body(county)).json["id"]
    etag = clients[0].get(f"/api/v1/activities/{activity_id}", headers=bearer(key)).headers["ETag"]
    start = threading.Barrier(2)

    def patch(n: int) -> int:
        with app.app_context():
            start.wait(timeout=30)
            return clients[n].patch(f"/api/v1/activities/{activity_id}", headers=bearer(key, **{"If-Match": etag}),
                                    json={"title": f"标题{n}"}).status_code

    for _round in range(5):
        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = sorted(pool.map(patch, range(2)))
        assert statuses == [200, 412]
        db.session.expire_all()
        activity = db.session.get(Activity, activity_id)
        assert activity.title in ("标题0", "标题1")
        etag = clients[0].get(f"/api/v1/activities/{activity_id}", headers=bearer(key)).headers["ETag"]
        clients[0].patch(f"/api/v1/activities/{activity_id}", headers=bearer(key, **{"If-Match": etag}),
                         json={"title": "重置"})
        etag = clients[0].get(f"/api/v1/activities/{activity_id}", headers=bearer(key)).headers["ETag"]
