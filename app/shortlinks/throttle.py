"""Guessing codes is throttled: each address may miss (open an unknown code) SHORTLINK_MISS_LIMIT times.

Only misses count, so people behind one office address who open their real links are never
slowed down; an address over the limit gets 429 for every code until its window passes. The
counters live beside the log-in counters (the app's Flask-Limiter, RATELIMIT_STORAGE_URI), with
the same fall-back to this process's memory when that storage is down.
"""

from __future__ import annotations

from flask import current_app, request
from limits import RateLimitItem, parse_many

from app.auth.throttle import EXTENSION_KEY


def _items() -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    address = request.remote_addr or "unknown"
    return [(item, (prefix, "short-link-miss", address)) for item in parse_many(current_app.config["SHORTLINK_MISS_LIMIT"])]


def _each(action: str) -> bool:
    """Apply `test` or `hit` to every counter of this address; False when any is over its limit."""
    allowed = True
    for item, key in _items():
        try:
            strategy = current_app.extensions[EXTENSION_KEY].limiter
            ok = getattr(strategy, action)(item, *key)
        except Exception as error:  # noqa: BLE001 - a storage outage must not open the door
            current_app.logger.warning("short-link throttle storage failed, counting in memory: %s", error)
            ok = getattr(current_app.extensions[EXTENSION_KEY + "_fallback"], action)(item, *key)
        allowed = allowed and ok
    return allowed


def may_try() -> bool:
    """False when this address has missed too often and must wait."""
    return _each("test")


def count_miss() -> None:
    """Count one unknown code opened from this address."""
    _each("hit")
