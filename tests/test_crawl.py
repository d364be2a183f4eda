"""Every GET page, as anonymous and as each role, over the demo county: never a 500, one language a page."""

from __future__ import annotations

import re
from collections import Counter, deque
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from app.demo import data
from app.demo.services import load
from app.extensions import db
from tests.languages import catalogue, chinese_in_english, english_in_chinese, stored_text

LINK = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/static/", "/lang/", "/logout")
MAX_PAGES = 400
PER_KIND = 3


def argless_get_routes(app) -> list[str]:
    """Every GET rule that needs no argument."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(SKIP)
    )


def page_kind(app, path: str) -> tuple:
    """The view and the names of the query arguments: pages of one kind differ only in values."""
    parts = urlsplit(path)
    try:
        endpoint, _args = app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:
        return (parts.path,)
    return (endpoint, tuple(sorted({key for key, _v in parse_qsl(parts.query)})))


def crawl(client, start: list[str], check=None, per_kind: int = PER_KIND) -> dict[str, int]:
    """Follow same-site links breadth first, a few pages of each kind; return each page's status.

    `check(path, html)` is called with every HTML page that answered 200.
    """
    seen: dict[str, int] = {}
    kinds: Counter = Counter()
    queue = deque(start)
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen or path.startswith(SKIP):
            continue
        kind = page_kind(client.application, path)
        if kinds[kind] >= per_kind:
            continue
        kinds[kind] += 1
        response = client.get(path)
        seen[path] = response.status_code
        if response.status_code == 200 and response.mimetype == "text/html":
            if check is not None:
                check(path, response.get_data(as_text=True))
            for link in LINK.findall(response.get_data(as_text=True)):
                link = link.replace("&amp;", "&")
                if link not in seen:
                    queue.append(link)
    return seen


@pytest.fixture
def demo(app):
    load(now=datetime(2026, 6, 15, 2, 0, tzinfo=UTC))
    db.session.commit()


ROLES = [None] + [email for email, *_ in data.DEMO_ACCOUNTS]


@pytest.mark.parametrize("email", ROLES, ids=lambda e: (e or "anonymous").split("@")[0])
def test_no_page_answers_500(app, client, demo, email):
    if email:
        response = client.post("/login", data={"email": email, "password": data.DEMO_PASSWORD})
        assert response.status_code == 302
    stored, msgids = stored_text(), catalogue()
    english: dict[str, list[str]] = {}
    statuses = crawl(client, ["/", *argless_get_routes(app)], check=lambda path, html: english.update(
        {path: found} if (found := english_in_chinese(html, stored, msgids)) else {}
    ))
    errors = {path: status for path, status in statuses.items() if status >= 500}
    assert errors == {}
    assert english == {}, "untranslated English on Chinese pages"
    chinese: dict[str, list[str]] = {}
    with client.session_transaction() as session:
        session["lang"] = "en"
    crawl(client, ["/", *argless_get_routes(app)], per_kind=1, check=lambda path, html: chinese.update(
        {path: found} if (found := chinese_in_english(html, stored)) else {}
    ))
    assert chinese == {}, "Chinese outside names and data on English pages"
    assert len(statuses) > (20 if email else 3)
    if email is None:
        # The API answers a request without a key with 401 (tests/test_api.py), never a log-in redirect.
        assert all(status in (200, 302, 404) or (path.startswith("/api/") and status == 401)
                   for path, status in statuses.items()), statuses


def test_every_view_is_public_or_checks_a_role(app):
    """Default deny: a view is either marked public or wrapped by a role check."""
    from app.auth.access import PUBLIC_ATTR, ROLES_ATTR

    unchecked = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not getattr(view, PUBLIC_ATTR, False) and not hasattr(view, ROLES_ATTR)
    ]
    assert unchecked == []
