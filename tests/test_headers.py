"""Security headers on every response: pages, errors, static files, JSON, redirects and token pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import request, request_finished

from app.demo import data
from app.demo.services import load
from app.extensions import db
from tests.conftest import build_app
from tests.test_crawl import argless_get_routes, crawl

EVERYWHERE = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def assert_protected(response, path: str) -> None:
    """The headers every response must carry."""
    for name, value in EVERYWHERE.items():
        assert response.headers.get(name) == value, (path, name)
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives.get("script-src") == "'self'", path
    assert directives.get("frame-ancestors") == "'none'", path
    assert directives.get("object-src") == "'none'", path
    assert response.headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "no-referrer"), path


@pytest.fixture
def responses(app):
    """Every response the app sends during the test, with its path."""
    seen = []

    def keep(sender, response, **extra):
        seen.append((request.full_path.rstrip("?"), request.endpoint, response))

    request_finished.connect(keep, app)
    yield seen
    request_finished.disconnect(keep, app)


def test_every_crawled_response_carries_the_headers(app, client, responses):
    load(now=datetime(2026, 6, 15, 2, 0, tzinfo=UTC))
    db.session.commit()
    for path in ("/static/app.css", "/static/app.js", "/healthz", "/no/such/page", "/api/nothing", "/rsvp/unknown-token",
                 "/rsvp/unknown-token/feedback", "/feeds/unknown-token.ics", "/feeds/public.ics"):
        client.get(path)
    client.post("/healthz")  # 405
    client.post("/lang/en?next=/login")  # a redirect
    assert client.post("/login", data={"email": "organiser@linghang.demo", "password": data.DEMO_PASSWORD}).status_code == 302
    crawl(client, ["/", *argless_get_routes(app)])
    statuses = {status for status in (r.status_code for _p, _e, r in responses)}
    assert {200, 302, 404, 405} <= statuses
    assert len(responses) > 30
    for path, _endpoint, response in responses:
        assert_protected(response, path)
        assert "Strict-Transport-Security" not in response.headers  # BASE_URL is http here


def test_token_pages_send_no_referrer_and_others_strict_origin(app, client, responses, login_as):
    client.get("/rsvp/some-token")
    client.get("/rsvp/some-token/feedback")
    client.get("/feeds/some-token.ics")
    login_as("organiser")
    client.get("/subscribe")
    client.get("/")
    client.get("/login")
    policy = {endpoint: response.headers["Referrer-Policy"] for _p, endpoint, response in responses}
    for endpoint in ("invitations.rsvp", "problems.link_feedback", "feeds.feed", "feeds.subscribe"):
        assert policy[endpoint] == "no-referrer", endpoint
    assert policy["main.home"] == "strict-origin-when-cross-origin"
    assert policy["auth.login"] == "strict-origin-when-cross-origin"


def test_hsts_only_when_base_url_is_https(tmp_path):
    secure = build_app(f"sqlite:///{tmp_path / 'https.sqlite'}", tmp_path / "instance", BASE_URL="https://linghang.example.cn")
    response = secure.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert_protected(response, "/login")


def test_templates_hold_no_inline_script_or_event_handler():
    """The CSP forbids them: behaviour lives in app/static/*.js."""
    root = Path(__file__).resolve().parent.parent / "templates"
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    offenders = []
    for template in root.rglob("*.html"):
        if "mail" in template.parts:
            continue  # e-mails are not served by the app
        text = template.read_text(encoding="utf-8")
        if inline_script.search(text) or handler.search(text) or "javascript:" in text:
            offenders.append(str(template.relative_to(root)))
    assert offenders == []
