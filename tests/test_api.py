"""The JSON API at /api/v1/: keys, scopes, what each key sees, errors, pagination, ETags, activities."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.api.keys import create_key, hash_key
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


def test_a_key_is_stored_only_as_its_hash_and_shown_once(app, committee):
    key = make_key(committee)
    row = db.session.scalar(select(ApiKey))
    assert key.startswith("lh_") and len(key) > 40
    assert row.secret_hash == hash_key(key) and key not in (row.secret_hash, row.prefix)
    assert key.startswith(row.prefix)


def test_no_key_unknown_key_and_revoked_key_get_401_problems(app, client, committee):
    from app.api.keys import revoke_key

    key = make_key(committee)
    assert client.get("/api/v1/activities", headers=bearer(key)).status_code == 200
    for headers in ({}, bearer("lh_" + "x" * 43), {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/activities", headers=headers)
        assert response.status_code == 401
        assert response.content_type == "application/problem+json"
        assert response.json["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    revoke_key(db.session.scalar(select(ApiKey)), now=utcnow())
    db.session.commit()
    response = client.get("/api/v1/activities", headers=bearer(key))
    assert (response.status_code, response.json["code"]) == (401, "key_revoked")


def test_errors_are_problems_translated_by_accept_language(app, client, committee):
    key = make_key(committee)
    zh = client.get("/api/v1/activities/999999", headers=bearer(key, **{"Accept-Language": "zh-CN"}))
    en = client.get("/api/v1/activities/999999", headers=bearer(key, **{"Accept-Language": "en"}))
    assert zh.status_code == en.status_code == 404
    assert zh.json["code"] == en.json["code"] == "not_found"
    assert zh.json["type"] == "/api/v1/errors#not_found" and zh.json["status"] == 404
    assert zh.json["detail"] != en.json["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.json["detail"])
    assert zh.headers["Content-Language"] == "zh-CN" and en.headers["Content-Language"] == "en"
    wrong = client.delete("/api/v1/activities", headers=bearer(key))
    assert wrong.status_code == 405 and wrong.json["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]
    bad = client.get("/api/v1/activities?limit=0&kind=party", headers=bearer(key, **{"Accept-Language": "en"}))
    assert bad.status_code == 400 and bad.json["code"] == "invalid_request"
    assert {e["field"] for e in bad.json["errors"]} == {"limit", "kind"}
