"""The JSON API at /api/v1/: keys and their admin pages, scopes, what each key sees, limits, errors."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from app.api.auth import SCOPE_ATTR
from app.api.keys import create_key, hash_key, revoke_key
from app.api.models import ApiKey, Scope
from app.core.clock import utcnow
from app.extensions import db
from app.orgs.models import OrgKind
from tests import factories as f

ALL_SCOPES = [s.value for s in Scope]


def make_key(org, scopes=ALL_SCOPES, name="集成") -> str:
    """A key of an organisation with the scopes, committed; returns the key itself."""
    _row, key = create_key(org, name, list(scopes), created_by=None, now=utcnow())
    db.session.commit()
    return key


def bearer(key: str, **headers) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


@pytest.fixture
def committee():
    org = f.organisation(OrgKind.committee, name="产业链综合党委")
    db.session.commit()
    return org


# -- keys --------------------------------------------------------------------------------------

def test_a_key_is_stored_only_as_its_hash_and_its_prefix(app, committee):
    key = make_key(committee)
    row = db.session.scalar(select(ApiKey))
    assert key.startswith("lh_") and len(key) >= 46
    assert row.secret_hash == hash_key(key) and key.startswith(row.prefix) and len(row.prefix) == 11
    assert key not in {row.secret_hash, row.prefix, row.name}


def test_no_key_an_unknown_key_and_a_revoked_key_get_401(app, client, committee):
    key = make_key(committee)
    assert client.get("/api/v1/activities", headers=bearer(key)).status_code == 200
    for headers in ({}, bearer("lh_" + "x" * 43), bearer(key[:-1]), {"Authorization": f"Basic {key}"}):
        response = client.get("/api/v1/activities", headers=headers)
        assert response.status_code == 401, headers
        assert response.content_type == "application/problem+json"
        assert response.json["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    revoke_key(db.session.scalar(select(ApiKey)), now=utcnow())
    db.session.commit()
    response = client.get("/api/v1/activities", headers=bearer(key))
    assert (response.status_code, response.json["code"]) == (401, "key_revoked")


def test_a_session_cookie_is_no_key(app, client, login_as):
    """The API is exempt from CSRF, so a logged-in browser must not be able to use it."""
    login_as("admin")
    response = client.get("/api/v1/activities")
    assert response.status_code == 401


def test_last_use_is_recorded_even_for_a_refused_request(app, client, committee):
    key = make_key(committee, [Scope.orgs_read.value])
    assert db.session.scalar(select(ApiKey)).last_used_at is None
    assert client.get("/api/v1/activities", headers=bearer(key)).status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(ApiKey)).last_used_at is not None


# -- scopes --------------------------------------------------------------------------------------

def _operations(app) -> list[tuple[str, str, str]]:
    """(method, path with ids filled in, scope) of every operation that needs a key."""
    found = []
    for rule in app.url_map.iter_rules():
        scope = getattr(app.view_functions.get(rule.endpoint), SCOPE_ATTR, None)
        if scope is None:
            continue
        path = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path, str(scope)))
    return found


def test_each_scope_allows_exactly_what_it_names(app, client, committee):
    f.activity(host=committee)
    operations = _operations(app)
    assert {scope for _m, _p, scope in operations} >= {"activities:read", "activities:write", "orgs:read"}
    for scope in Scope:
        key = make_key(committee, [scope.value], name=scope.value)
        for method, path, needed in operations:
            response = client.open(path, method=method, headers=bearer(key), json={} if method != "GET" else None)
            refused = response.status_code == 403 and response.json["code"] == "scope_missing"
            assert refused == (needed != scope.value), (scope, method, path, response.status_code)


def test_an_enterprise_key_acts_as_its_contact_and_may_not_plan_activities(app, client):
    enterprise = f.organisation(OrgKind.enterprise)
    key = make_key(enterprise)
    body = {"kind": "salon", "title": "沙龙", "host_id": enterprise.id,
            "starts_at": "2026-03-09T14:30:00+08:00", "ends_at": "2026-03-09T16:30:00+08:00"}
    response = client.post("/api/v1/activities", headers=bearer(key), json=body)
    assert (response.status_code, response.json["code"]) == (403, "forbidden")


def test_an_enterprise_key_sees_nothing_of_another_enterprise(app, client):
    committee = f.organisation(OrgKind.committee)
    mine, theirs = f.organisation(OrgKind.enterprise, name="甲公司"), f.organisation(OrgKind.enterprise, name="乙公司")
    my_contact, their_contact = f.person(mine), f.person(theirs)
    their_visit = f.activity("visit", host=committee, site_id=theirs.id, visit_kind="outreach")
    salon = f.activity(host=committee)
    my_invitation, _ = f.invitation(salon, my_contact)
    their_invitation, _ = f.invitation(salon, their_contact)
    key = make_key(mine)
    db.session.commit()
    for path in (f"/api/v1/people/{their_contact.id}", f"/api/v1/activities/{their_visit.id}",
                 f"/api/v1/invitations/{their_invitation.id}"):
        response = client.get(path, headers=bearer(key))
        assert (response.status_code, response.json["code"]) == (404, "not_found"), path
    answer = client.post(f"/api/v1/invitations/{their_invitation.id}/answer", headers=bearer(key),
                         json={"answer": "declined"})
    assert answer.status_code == 404
    assert client.get(f"/api/v1/people/{my_contact.id}", headers=bearer(key)).status_code == 200
    listed = client.get(f"/api/v1/activities/{salon.id}/invitations", headers=bearer(key)).json["items"]
    assert [i["id"] for i in listed] == [my_invitation.id]
    people = client.get("/api/v1/people", headers=bearer(key)).json["items"]
    assert {p["id"] for p in people} == {my_contact.id}
    activities = client.get("/api/v1/activities", headers=bearer(key)).json["items"]
    assert {a["id"] for a in activities} == {salon.id}
    organisation = client.get(f"/api/v1/organisations/{theirs.id}", headers=bearer(key)).json
    assert "phone" not in organisation and "address" not in organisation


# -- rate limit ------------------------------------------------------------------------------------

def test_the_61st_request_in_a_minute_gets_429_with_retry_after(app, client, committee):
    assert app.config["API_RATE_LIMIT"] == "60 per minute"
    key, other = make_key(committee, name="甲"), make_key(committee, name="乙")
    statuses = [client.get("/api/v1/venues", headers=bearer(key)).status_code for _ in range(60)]
    assert statuses == [200] * 60
    refused = client.get("/api/v1/venues", headers=bearer(key))
    assert refused.status_code == 429 and refused.json["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/venues", headers=bearer(other)).status_code == 200  # per key


# -- errors ------------------------------------------------------------------------------------------

def test_errors_are_problems_in_the_language_of_accept_language(app, client, committee):
    key = make_key(committee)
    zh = client.get("/api/v1/activities/999999", headers=bearer(key, **{"Accept-Language": "zh-CN,zh;q=0.9"}))
    en = client.get("/api/v1/activities/999999", headers=bearer(key, **{"Accept-Language": "en-US,en;q=0.8"}))
    assert zh.status_code == en.status_code == 404
    assert zh.json["code"] == en.json["code"] == "not_found"
    assert zh.json["type"] == "/api/v1/errors#not_found" and zh.json["status"] == 404
    assert zh.json["detail"] == "资源不存在，或此密钥无权查看。"
    assert en.json["detail"] == "There is no such resource, or this key may not see it."
    assert (zh.headers["Content-Language"], en.headers["Content-Language"]) == ("zh-CN", "en")


def test_every_status_is_a_problem(app, client, committee):
    key = make_key(committee)
    en = {"Accept-Language": "en"}
    unknown = client.get("/api/v1/nothing-here", headers=bearer(key, **en))
    assert (unknown.status_code, unknown.content_type) == (404, "application/problem+json")
    wrong = client.delete("/api/v1/activities", headers=bearer(key))
    assert wrong.status_code == 405 and wrong.json["code"] == "method_not_allowed" and "GET" in wrong.headers["Allow"]
    bad = client.get("/api/v1/activities?limit=0&kind=party", headers=bearer(key, **en))
    assert bad.status_code == 400 and bad.json["code"] == "invalid_request"
    assert {(e["field"], e["message"]) for e in bad.json["errors"]} == {
        ("limit", "Must be between 1 and 100."),
        ("kind", "Must be one of: themed_day, salon, roundtable, afternoon_tea, visit."),
    }
    zh = client.post("/api/v1/activities", headers=bearer(key), json={"kind": "salon", "colour": "red"})
    assert {(e["field"], e["message"]) for e in zh.json["errors"]} >= {("colour", "未知字段。"), ("title", "此项为必填项。")}
    form = client.post("/api/v1/activities", headers=bearer(key), data={"kind": "salon"})
    assert (form.status_code, form.json["code"]) == (415, "unsupported_media_type")
    broken = client.post("/api/v1/activities", headers=bearer(key), data="{", content_type="application/json")
    assert broken.status_code == 400 and broken.json["errors"][0]["location"] == "json"
    cursor = client.get("/api/v1/venues?cursor=bm90LWEtY3Vyc29y", headers=bearer(key))
    assert cursor.status_code == 400 and cursor.json["errors"][0]["field"] == "cursor"


def test_a_server_error_is_a_problem_and_is_logged(app, client, committee, monkeypatch, caplog):
    from app.api import orgs

    key = make_key(committee)
    monkeypatch.setattr(orgs, "_visible_venues", lambda: 1 / 0)
    # Alembic's logging set-up (run when the test app migrated) disables existing loggers.
    monkeypatch.setattr(app.logger, "disabled", False)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = client.get("/api/v1/venues", headers=bearer(key))
    assert (response.status_code, response.json["code"]) == (500, "server_error")
    assert "ZeroDivisionError" in caplog.text


def test_the_error_codes_are_listed(app, client):
    codes = {e["code"]: e["status"] for e in client.get("/api/v1/errors").json}
    assert codes["precondition_failed"] == 412 and codes["rate_limited"] == 429 and codes["rule_refused"] == 422


# -- description and docs ----------------------------------------------------------------------------

def test_the_openapi_description_is_valid_openapi_3_1(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    validate(spec)
    operation = spec["paths"]["/api/v1/activities/{activity_id}"]["patch"]
    assert operation["security"] == [{"apiKey": ["activities:write"]}]
    assert {"401", "403", "412", "428", "429"} <= set(operation["responses"])
    problem = spec["components"]["responses"]["NOT_FOUND"]["content"]
    assert list(problem) == ["application/problem+json"]


def test_the_docs_are_served_from_this_site_without_inline_script(app, client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all('src="/static/' in s for s in scripts)
    assert "<script>" not in page and "//cdn" not in page and "unpkg" not in page
    assert 'data-spec-url="/api/v1/openapi.json"' in page
    assert client.get("/static/js/api-docs.js").status_code == 200


# -- admin pages -------------------------------------------------------------------------------------

def test_an_admin_creates_a_key_sees_it_once_and_revokes_it(app, client, login_as):
    enterprise = f.organisation(OrgKind.enterprise, name="赣锋电子")
    login_as("admin")
    created = client.post("/admin/api-keys", data={
        "name": "12345 热线", "organisation_id": enterprise.id, "scopes": ["activities:read", "orgs:read"],
    })
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    key = re.search(r'value="(lh_[A-Za-z0-9_-]+)"', created.get_data(as_text=True))[1]
    row = db.session.scalar(select(ApiKey))
    assert (row.name, row.organisation_id, row.scopes) == ("12345 热线", enterprise.id, ["activities:read", "orgs:read"])
    listing = client.get("/admin/api-keys").get_data(as_text=True)
    assert row.prefix in listing and key not in listing
    assert client.get("/api/v1/venues", headers=bearer(key)).status_code == 200
    assert client.post(f"/admin/api-keys/{row.id}/revoke").status_code == 302
    assert client.get("/api/v1/venues", headers=bearer(key)).status_code == 401
    audit = client.get("/audit").get_data(as_text=True)
    assert "12345 热线" in audit


def test_only_admins_manage_keys(app, client, login_as):
    login_as("organiser")
    assert client.get("/admin/api-keys").status_code == 403
    assert client.post("/admin/api-keys", data={"name": "x"}).status_code == 403


def test_a_key_needs_a_name_and_a_scope(app, client, login_as):
    enterprise = f.organisation(OrgKind.enterprise)
    login_as("admin")
    page = client.post("/admin/api-keys", data={"name": "", "organisation_id": enterprise.id})
    assert page.status_code == 200 and "lh_" not in page.get_data(as_text=True)
    assert db.session.scalar(select(ApiKey)) is None


def test_times_in_answers_carry_their_offset(app, client, committee):
    start = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)
    activity = f.activity(host=committee, starts_at=start)
    key = make_key(committee)
    shown = client.get(f"/api/v1/activities/{activity.id}", headers=bearer(key)).json
    assert datetime.fromisoformat(shown["starts_at"]) == start
    assert datetime.fromisoformat(shown["ends_at"]) - start == timedelta(hours=2)
