"""The in-process caches of feeds: rendered feeds by scope and day, resolved tokens by hash.

Each entry carries the keys it depends on and the mark it was read at (app/feeds/tracking.py);
it is served only while the process's watch of the change log knows of no change to those keys
since. Correctness never depends on the cache: a miss, a stale entry or a change log that cannot
be read all take the ordinary path (read the token, render), which builds the same bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from app.feeds.content import FeedBody, FeedEntry, FeedScope
from app.feeds.rendering import render_tracked
from app.feeds.tracking import Tracked, tracking_maintained, watch
from app.ical.builder import calendar_zone

TOKEN_ENTRIES = 100_000


@dataclass
class TokenEntry:
    """A token resolved to its feed: valid while nothing touches its keys (revocation: 't:<id>')."""

    id: int
    scope: FeedScope
    last_polled_at: datetime | None
    tracked: Tracked


class FeedCache:
    """A small thread-safe LRU of feed key → rendered feed (bounded in bytes) and of tokens."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, FeedEntry] = OrderedDict()
        self._tokens: OrderedDict[str, TokenEntry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> FeedEntry | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, value: FeedEntry) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.feed.body)
            self._entries[key] = value
            self._bytes += len(value.feed.body)
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _key, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.feed.body)

    def token(self, token_hash: str) -> TokenEntry | None:
        with self._lock:
            return self._tokens.get(token_hash)

    def put_token(self, token_hash: str, entry: TokenEntry) -> None:
        with self._lock:
            self._tokens[token_hash] = entry
            self._tokens.move_to_end(token_hash)
            while len(self._tokens) > TOKEN_ENTRIES:
                self._tokens.popitem(last=False)

    def drop_token(self, token_hash: str) -> None:
        with self._lock:
            self._tokens.pop(token_hash, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._tokens.clear()
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


def cache_key(scope: FeedScope, now: datetime) -> tuple:
    """Where a feed is cached: its scope, the window (its local day and length), the base URL.

    Cheap to build and to hash: it is asked for on every poll.
    """
    config = current_app.config
    zone = calendar_zone()
    return (
        scope, now.astimezone(zone).date(), zone.key, config.get("FEED_PAST_DAYS", 90),
        config.get("FEED_FUTURE_DAYS", 365), config["BASE_URL"],
    )


def cached_feed(scope: FeedScope, now: datetime, token: TokenEntry | None = None) -> FeedBody | None:
    """The cached feed when it (and the token, if given) is still current; None otherwise.

    Usually no database work at all: the process's watch of the change log answers
    (app/feeds/tracking.py); at most one sweep or probe query.
    """
    if not tracking_maintained():
        return None
    entry = feed_cache().get(cache_key(scope, now))
    if entry is None:
        return None
    changes = watch()
    if not changes.refresh():
        return None
    if token is not None and not changes.current(token.tracked):
        return None
    return entry.feed if changes.current(entry.tracked) else None


def feed_body(scope: FeedScope, now: datetime) -> FeedBody:
    """The feed's bytes: from the cache while nothing it shows has changed, else rebuilt and cached."""
    cached = cached_feed(scope, now)
    if cached is not None:
        return cached
    entry = render_tracked(scope, now)
    if tracking_maintained():
        feed_cache().put(cache_key(scope, now), entry)
    return entry.feed
