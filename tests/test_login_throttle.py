"""Log-in throttling per account and per address, on the memory and on the Redis storage."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis

from app.auth import services
from app.extensions import db
from tests import factories
from tests.conftest import build_app, empty_tables, unavailable

REDIS_URL = "redis://127.0.0.1:6379"


class HashCounter:
    """Counts the password-hash checks of app.auth.services (the real function still runs)."""

    def __init__(self, monkeypatch) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        real = services.check_password_hash

        def counted(stored: str, password: str) -> bool:
            with self._lock:
                self.calls += 1
            return real(stored, password)

        monkeypatch.setattr(services, "check_password_hash", counted)


@pytest.fixture
def hashes(monkeypatch) -> HashCounter:
    return HashCounter(monkeypatch)


@pytest.fixture(scope="module")
def _throttle_apps(tmp_path_factory) -> dict:
    return {}


@pytest.fixture(params=["memory", "redis"])
def throttled_app(request, _throttle_apps, tmp_path_factory):
    """An app on SQLite whose log-in counters live in memory or in this machine's Redis."""
    storage = request.param
    if storage == "redis":
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except redis.exceptions.RedisError as error:
            unavailable(f"Redis is not answering at {REDIS_URL}: {error}")
    if storage not in _throttle_apps:
        folder = tmp_path_factory.mktemp("throttle")
        _throttle_apps[storage] = build_app(
            f"sqlite:///{folder / 'throttle.sqlite'}",
            folder / "instance",
            LOGIN_ACCOUNT_LIMIT="10 per 15 minutes",
            LOGIN_ADDRESS_LIMIT="30 per minute",
            RATELIMIT_STORAGE_URI=REDIS_URL if storage == "redis" else "memory://",
        )
    flask_app = _throttle_apps[storage]
    # Counters of one test never meet another's (nor another run's, on the shared Redis).
    prefix = f"linghang-test-{uuid.uuid4().hex}"
    flask_app.config["RATELIMIT_KEY_PREFIX"] = prefix
    with flask_app.app_context():
        yield flask_app
        db.session.remove()
        empty_tables()
    if storage == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"*{prefix}*"))
        assert keys, "the Redis storage was not used"
        client.delete(*keys)


def attempt(client, email: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def test_eleventh_wrong_password_is_refused_without_checking_the_hash(throttled_app, hashes):
    user = factories.user("organiser")
    db.session.commit()
    client = throttled_app.test_client()
    for _ in range(10):
        response = attempt(client, user.email, "wrong password")
        assert response.status_code == 200
        assert "邮箱或密码错误" in response.get_data(as_text=True)
    assert hashes.calls == 10
    refused = attempt(client, user.email, factories.PASSWORD)  # even the right one, from anywhere
    assert refused.status_code == 429
    assert "登录尝试次数过多，请 15 分钟后再试" in refused.get_data(as_text=True)
    assert hashes.calls == 10
    other_address = attempt(client, user.email.upper(), factories.PASSWORD, address="10.0.0.2")
    assert other_address.status_code == 429
    assert hashes.calls == 10
    assert client.get("/").status_code == 302


def test_parallel_guessing_computes_no_more_hashes_than_the_limit(throttled_app, hashes):
    """Guesses racing each other: the count is taken before hashing, so only 10 hashes ever run."""
    user = factories.user("organiser")
    db.session.commit()
    email = user.email
    guesses = 16
    barrier = threading.Barrier(guesses)
    statuses: list[int] = []

    def guess(n: int) -> None:
        client = throttled_app.test_client()
        barrier.wait()
        statuses.append(attempt(client, email, f"wrong {n}", address=f"10.1.0.{n}").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 10 + [429] * 6
    assert hashes.calls == 10


def test_a_successful_log_in_clears_the_account_count(throttled_app, hashes):
    user = factories.user("contact")
    db.session.commit()
    client = throttled_app.test_client()
    for _ in range(9):
        attempt(client, user.email, "wrong password")
    assert attempt(client, user.email, factories.PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(10):
        assert attempt(client, user.email, "wrong password").status_code == 200
    assert attempt(client, user.email, "wrong password").status_code == 429


def test_one_address_is_limited_across_accounts(throttled_app, hashes):
    client = throttled_app.test_client()
    for n in range(30):
        assert attempt(client, f"nobody{n}@example.com", "guess", address="10.9.9.9").status_code == 200
    assert hashes.calls == 30
    assert attempt(client, "nobody-else@example.com", "guess", address="10.9.9.9").status_code == 429
    assert hashes.calls == 30
    # Another address is not affected.
    assert attempt(client, "nobody-else@example.com", "guess", address="10.9.9.8").status_code == 200


def test_unknown_and_known_e_mails_both_compute_a_hash(app, client, hashes):
    """Constant-time answers: an unknown e-mail or a person without an account costs a hash too."""
    user = factories.user("organiser")
    no_account = factories.person(email="no.account@example.com")
    db.session.commit()
    for email in (user.email, "nobody@example.com", no_account.email):
        before = hashes.calls
        response = client.post("/login", data={"email": email, "password": "wrong password"})
        assert response.status_code == 200
        assert "邮箱或密码错误" in response.get_data(as_text=True)
        assert hashes.calls == before + 1, email


def test_the_health_check_is_not_throttled(throttled_app):
    client = throttled_app.test_client()
    for _ in range(31):
        attempt(client, "nobody@example.com", "guess", address="10.7.7.7")
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code == 200
