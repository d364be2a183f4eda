"""Error pages in both languages, JSON under /api/, the health check."""

from __future__ import annotations

import sqlalchemy as sa


def test_404_page_in_chinese_and_english(client, app):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
    client.get("/lang/en")
    assert "This page does not exist" in client.get("/no/such/page").get_data(as_text=True)


def test_api_errors_are_json(client, app):
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"  # RFC 9457, see tests/test_api.py
    assert (response.get_json()["status"], response.get_json()["code"]) == (404, "not_found")


def test_healthz_reports_the_database(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_unexpected_errors_render_the_500_page(client, app, monkeypatch):
    from app.auth.access import public

    @public
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(app.view_functions, "main.healthz", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/healthz")
    assert response.status_code == 500
    assert "出错" in response.get_data(as_text=True)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]  # error pages too


def test_healthz_reports_an_unreachable_database(client, app, monkeypatch):
    # The health check's own connection goes to a port where nothing listens.
    unreachable = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    monkeypatch.setitem(app.extensions, "linghang_health_engine", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
