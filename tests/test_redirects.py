"""Open redirects: `next` only ever leads to a path on this site; the language switch is a POST."""

from __future__ import annotations

import re

import pytest

from app.auth.models import User
from app.core.redirects import safe_next
from app.extensions import db
from tests import factories

REFUSED = [
    "/\\evil.example",
    "/\\/evil.example",
    "//evil.example",
    "///evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "http:/evil.example",
    "http://evil.example/",
    "https:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//",
    "evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n//evil.example",
    "/\x00evil",
    "/\x7f",
    " /venues",
    "/ /evil",
    "/\u3000/evil",
    "",
    None,
]
ACCEPTED = ["/", "/venues", "/activities/3?tab=record", "/calendar?month=2026-05#day-3", "/%2F%2Fevil.example"]


def test_safe_next_refuses_anything_but_a_local_path(app):
    with app.test_request_context():
        let_through = [target for target in REFUSED if safe_next(target) != "/"]
        changed = [target for target in ACCEPTED if safe_next(target) != target]
    assert let_through == []
    assert changed == []


@pytest.mark.parametrize("target", ["/\\evil.example", "//evil", "http:/evil"])
def test_login_and_language_switch_never_leave_the_site(app, client, target):
    user = factories.user("organiser")
    db.session.commit()
    response = client.post("/login", query_string={"next": target}, data={"email": user.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == "/"
    assert client.post("/lang/en", query_string={"next": target}).headers["Location"] == "/"
    assert client.get("/lang/en", query_string={"next": target}).headers["Location"] == "/"


def test_language_switch_by_get_does_not_change_the_account(app, client, login_as):
    user = login_as("organiser")
    response = client.get("/lang/en?next=/venues")
    assert response.headers["Location"] == "/venues"
    assert db.session.get(User, user.id).locale is None
    assert "Log out" in client.get("/").get_data(as_text=True)  # this browser is in English
    client.post("/lang/en")
    assert db.session.get(User, user.id).locale == "en"


def test_language_switch_by_post_needs_the_csrf_token(app, client, login_as):
    user = login_as("organiser")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/lang/en").status_code == 400
        assert db.session.get(User, user.id).locale is None
        page = client.get("/").get_data(as_text=True)
        form = re.search(r'<form method="post" action="(/lang/en[^"]*)"><input type="hidden" name="csrf_token" value="([^"]+)"', page)
        action = form.group(1).replace("&amp;", "&")
        assert client.post(action, data={"csrf_token": form.group(2)}).status_code == 302
        assert db.session.get(User, user.id).locale == "en"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
