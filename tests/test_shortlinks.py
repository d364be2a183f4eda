"""Short links (/r/<code>): made once per target, redirect while live, 410 when expired, 404 and throttled otherwise."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select

from app.extensions import db
from app.shortlinks import services
from app.shortlinks.models import ShortLink
from tests import factories
from tests.conftest import build_app, empty_tables, unavailable

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)
REDIS_URL = "redis://127.0.0.1:6379"
SHORT = re.compile(r"http://linghang\.test/r/([0-9A-Za-z]{8})")


def code_of(url: str) -> str:
    match = SHORT.fullmatch(url)
    assert match, url
    return match.group(1)


def test_short_url_is_absolute_and_redirects_to_its_target(app, client, monkeypatch):
    url = services.short_url("/rsvp/secret-token?x=1", expires_at=LATER, now=NOW)
    db.session.commit()
    code = code_of(url)
    monkeypatch.setattr("app.shortlinks.views.utcnow", lambda: NOW + timedelta(days=1))
    response = client.get(f"/r/{code}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/rsvp/secret-token?x=1"
    assert response.headers["Cache-Control"] == "no-store"
    # The code is a secret like the token it stands for: it must not leave as a Referer.
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_live_link_for_the_same_target_is_reused_and_takes_the_new_expiry(app):
    first = services.short_url("/rsvp/abc", expires_at=LATER, now=NOW)
    later_still = LATER + timedelta(days=2)
    again = services.short_url("/rsvp/abc", expires_at=later_still, now=NOW + timedelta(hours=1))
    other = services.short_url("/rsvp/abd", expires_at=LATER, now=NOW)
    assert again == first
    assert other != first
    links = db.session.scalars(select(ShortLink)).all()
    assert len(links) == 2
    reused = services.follow(code_of(first), LATER + timedelta(days=1))
    assert reused == services.Followed(target="/rsvp/abc", expired=False)


def test_an_expired_link_is_not_reused(app):
    first = services.short_url("/rsvp/abc", expires_at=LATER, now=NOW)
    second = services.short_url("/rsvp/abc", expires_at=LATER + timedelta(days=7), now=LATER)
    assert second != first
    assert services.follow(code_of(first), LATER).expired
    assert not services.follow(code_of(second), LATER).expired


def test_neither_code_nor_target_is_stored_in_clear(app):
    url = services.short_url("/rsvp/the-secret-token", expires_at=LATER, now=NOW)
    db.session.commit()
    code = code_of(url)
    row = db.session.execute(select(ShortLink.__table__)).one()
    stored = repr(tuple(row))
    assert code not in stored
    assert "the-secret-token" not in stored and b"the-secret-token" not in b"".join(
        value for value in row if isinstance(value, bytes)
    )


def test_expired_link_shows_a_translated_page_with_410(app, client, monkeypatch):
    code = code_of(services.short_url("/rsvp/abc", expires_at=LATER, now=NOW))
    db.session.commit()
    monkeypatch.setattr("app.shortlinks.views.utcnow", lambda: LATER)
    response = client.get(f"/r/{code}")
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "链接已过期" in page
    assert "/rsvp/abc" not in page
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.get(f"/r/{code}")
    assert "This link has expired" in english.get_data(as_text=True)


@pytest.mark.parametrize(
    "code",
    ["AAAAAAAA", "abc", "A" * 9, "A" * 5000, "AAAA-AAA", "AAAA_AAA", "ÄAAAAAAA", "%00AAAAAAA", "AAAA%2FAA", "中文中文中文中文"],
)
def test_unknown_or_malformed_codes_are_404(app, client, code):
    services.short_url("/rsvp/abc", expires_at=LATER, now=NOW)
    db.session.commit()
    assert client.get(f"/r/{code}").status_code == 404


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "rsvp/abc", "/a b", "/a\nb", "/" + "a" * 2048]
)
def test_targets_outside_the_app_are_refused(app, target):
    with pytest.raises(ValueError):
        services.short_url(target, expires_at=LATER, now=NOW)


def test_a_link_must_expire_in_the_future(app):
    with pytest.raises(ValueError):
        services.short_url("/rsvp/abc", expires_at=NOW, now=NOW)


def test_short_link_of_an_answer_link_opens_the_answer_page(app, client, monkeypatch):
    activity = factories.activity(title="减税政策宣讲会")
    _, token = factories.invitation(activity)
    url = services.short_url(f"/rsvp/{token}", expires_at=activity.ends_at, now=NOW)
    db.session.commit()
    monkeypatch.setattr("app.shortlinks.views.utcnow", lambda: NOW)
    monkeypatch.setattr("app.invitations.views.utcnow", lambda: NOW)
    response = client.get(url.removeprefix("http://linghang.test"), follow_redirects=True)
    assert response.status_code == 200
    assert "减税政策宣讲会" in response.get_data(as_text=True)


def test_purge_keeps_recently_expired_links(app):
    old = code_of(services.short_url("/rsvp/old", expires_at=LATER, now=NOW))
    recent = code_of(services.short_url("/rsvp/recent", expires_at=LATER + timedelta(days=80), now=NOW))
    assert services.purge_expired(LATER + timedelta(days=91)) == 1
    assert services.follow(old, LATER) is None
    assert services.follow(recent, LATER).target == "/rsvp/recent"


def test_a_tampered_row_never_redirects_off_the_site(app, client):
    code = code_of(services.short_url("/rsvp/abc", expires_at=LATER, now=NOW))
    link = db.session.scalar(select(ShortLink))
    evil = b"//evil.example/x"
    link.target_sealed = services._seal_target(evil, code.encode(), link.nonce)
    db.session.commit()
    assert services.follow(code, NOW) is None
    assert client.get(f"/r/{code}").status_code == 404


@pytest.fixture(scope="module")
def _throttle_apps() -> dict:
    return {}


@pytest.fixture(params=["memory", "redis"])
def throttled_app(request, _throttle_apps, tmp_path_factory):
    """An app on SQLite that allows 5 unknown codes a minute, counted in memory or in Redis."""
    storage = request.param
    if storage == "redis":
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except redis.exceptions.RedisError as error:
            unavailable(f"Redis is not answering at {REDIS_URL}: {error}")
    if storage not in _throttle_apps:
        folder = tmp_path_factory.mktemp("short-link-throttle")
        _throttle_apps[storage] = build_app(
            f"sqlite:///{folder / 'throttle.sqlite'}",
            folder / "instance",
            SHORTLINK_MISS_LIMIT="5 per minute",
            RATELIMIT_STORAGE_URI=REDIS_URL if storage == "redis" else "memory://",
        )
    flask_app = _throttle_apps[storage]
    prefix = f"linghang-test-{uuid.uuid4().hex}"
    flask_app.config["RATELIMIT_KEY_PREFIX"] = prefix
    yield flask_app
    if storage == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"*{prefix}*"))
        assert keys, "the Redis storage was not used"
        client.delete(*keys)


def test_guessing_codes_is_throttled_per_address(throttled_app):
    with throttled_app.app_context():
        try:
            code = code_of(services.short_url("/rsvp/abc", expires_at=datetime(2100, 1, 1, tzinfo=UTC), now=NOW))
            db.session.commit()
            client = throttled_app.test_client()
            here = {"REMOTE_ADDR": "10.0.0.1"}
            # Real links do not count: people behind one office address are never slowed down.
            for _ in range(10):
                assert client.get(f"/r/{code}", environ_base=here).status_code == 302
            for n in range(5):
                assert client.get(f"/r/Guess00{n}", environ_base=here).status_code == 404
            assert client.get("/r/Guess009", environ_base=here).status_code == 429
            refused = client.get(f"/r/{code}", environ_base=here)
            assert refused.status_code == 429
            assert "无效链接过多" in refused.get_data(as_text=True)
            assert "/rsvp/abc" not in refused.get_data(as_text=True)
            assert client.get(f"/r/{code}", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 302
        finally:
            db.session.remove()
            empty_tables()


def test_the_scheduler_drops_links_long_expired(app):
    from app.reminders import scheduler

    old = code_of(services.short_url("/rsvp/old", expires_at=LATER, now=NOW))
    live = code_of(services.short_url("/rsvp/live", expires_at=LATER + timedelta(days=200), now=NOW))
    db.session.commit()
    scheduler.run_pass(app, LATER + services.KEEP_EXPIRED + timedelta(minutes=1), scheduler.PlanClock(timedelta(minutes=10)))
    assert services.follow(old, LATER) is None
    assert services.follow(live, LATER).target == "/rsvp/live"
