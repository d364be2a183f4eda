"""Log-in throttling with Flask-Limiter, per address and per account, before any hash is computed.

Every log-in attempt is counted against the visitor's address and the e-mail it names
(LOGIN_ADDRESS_LIMIT, LOGIN_ACCOUNT_LIMIT); an attempt over either limit is refused before the
password hash is computed, so guessing can neither go on nor load the server with scrypt work.
A successful log-in clears the account's count. The counters live in RATELIMIT_STORAGE_URI
(memory:// for one process, redis:// shared by every process and host).
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

EXTENSION_KEY = "login_limiter"


class LoginThrottled(Exception):
    """Too many log-in attempts for this address or account; `message` says when to try again."""

    def __init__(self, retry_after_seconds: float) -> None:
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        self.message = _("Too many log-in attempts. Please try again in %(minutes)d minutes.", minutes=minutes)
        super().__init__(self.message)


def init_throttle(app: Flask) -> None:
    """Give the app its own Flask-Limiter, on the storage RATELIMIT_STORAGE_URI names."""
    # One limiter per app (not a module-level extension): Flask-Limiter keeps its storage on the
    # instance, and tests run apps on different storages side by side.
    limiter = Limiter(get_remote_address, app=app)
    app.extensions[EXTENSION_KEY] = limiter
    app.extensions[EXTENSION_KEY + "_fallback"] = FixedWindowRateLimiter(MemoryStorage())


def _strategy() -> RateLimiter:
    return current_app.extensions[EXTENSION_KEY].limiter


def _counters(email: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    account = email.strip().lower()
    return [
        *((item, (prefix, "login-address", address)) for item in parse_many(current_app.config["LOGIN_ADDRESS_LIMIT"])),
        *((item, (prefix, "login-account", account)) for item in parse_many(current_app.config["LOGIN_ACCOUNT_LIMIT"])),
    ]


def _hit(item: RateLimitItem, key: tuple[str, ...]) -> None:
    try:
        strategy = _strategy()
        allowed = strategy.hit(item, *key)
    except Exception as error:  # noqa: BLE001 - a storage outage must not open the door
        # Redis down: keep counting in this process rather than refusing every log-in.
        current_app.logger.warning("log-in throttle storage failed, counting in memory: %s", error)
        strategy = current_app.extensions[EXTENSION_KEY + "_fallback"]
        allowed = strategy.hit(item, *key)
    if not allowed:
        reset_at = strategy.get_window_stats(item, *key).reset_time
        raise LoginThrottled(reset_at - time.time())


def admit_login_attempt(email: str, address: str | None) -> None:
    """Count a log-in attempt; raise LoginThrottled when its address or account is over the limit."""
    for item, key in _counters(email, address or "unknown"):
        _hit(item, key)


def forget_failures(email: str) -> None:
    """A successful log-in: the account's count starts again."""
    for item, key in _counters(email, ""):
        if key[1] == "login-account":
            try:
                _strategy().clear(item, *key)
            except Exception as error:  # noqa: BLE001 - see _hit
                current_app.logger.warning("log-in throttle storage failed: %s", error)
            current_app.extensions[EXTENSION_KEY + "_fallback"].clear(item, *key)
