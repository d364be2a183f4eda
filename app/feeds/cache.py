"""The in-process cache of rendered feeds: version key → bytes, bounded in size.

Correctness never depends on it (see app/feeds/content.py): a miss rebuilds the same bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from flask import current_app

from app.feeds.content import FeedBody, FeedScope, FeedVersion, feed_version, render_feed


class FeedCache:
    """A small thread-safe LRU of version key → rendered feed, bounded in bytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, FeedBody] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> FeedBody | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, value: FeedBody) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = value
            self._bytes += len(value.body)
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _key, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


def feed_cache() -> FeedCache:
    """The app's feed cache (one per process)."""
    cache = current_app.extensions.get("linghang_feed_cache")
    if cache is None:
        cache = FeedCache(int(current_app.config.get("FEED_CACHE_BYTES", 64 * 1024 * 1024)))
        current_app.extensions["linghang_feed_cache"] = cache
    return cache


def current_feed(
    scope: FeedScope, now: datetime, state: tuple | None = None
) -> tuple[FeedVersion, FeedBody | None]:
    """The feed's version and, when this process has rendered it already, the cached body."""
    version = feed_version(scope, now, state)
    return version, feed_cache().get(version.key)


def feed_body(scope: FeedScope, now: datetime) -> FeedBody:
    """The feed's bytes: from the cache when the version is unchanged, else rebuilt and cached."""
    version, cached = current_feed(scope, now)
    if cached is not None:
        return cached
    rendered = render_feed(scope, now, version.changed_at)
    feed_cache().put(version.key, rendered)
    return rendered
