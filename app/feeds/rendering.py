"""Rendering a feed: its bytes, the keys it depends on, and the mark it was read at.

Two builders give the same bytes. `render_reference` is the plain one: every event an icalendar
object (app/ical/builder.py), the calendar serialised by icalendar. The hot path writes ordinary
activities' VEVENTs as text (app/ical/fast.py) and lets icalendar serialise only the rest (the
calendar's header and VTIMEZONE, whole-series entries), then joins the pieces: a calendar's bytes
are its header lines, its components' bytes in order, and END:VCALENDAR.
tests/test_feed_builder.py checks both agree byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr

from flask import current_app
from flask_babel import force_locale
from icalendar import Calendar, Event, vDuration

from app.events.models import Activity
from app.feeds.content import (
    REFRESH,
    FeedBody,
    FeedEntry,
    FeedScope,
    calendar_name,
    content_keys,
    etag_of,
    feed_activities,
    last_modified_of,
    scope_keys,
)
from app.feeds.series_entries import feed_events, feed_items
from app.feeds.tracking import last_change, take_mark, watch
from app.ical.builder import _local_years, build_calendar, calendar_zone, vtimezone
from app.ical.fast import fits, local_years, vevent_bytes

_END = b"END:VCALENDAR\r\n"


def _finish(calendar: Calendar, zone_key: str, now: datetime, empty: bool) -> Calendar:
    """The feed's calendar properties (and the VTIMEZONE of an empty feed)."""
    if empty:
        # RFC 5545 §3.6: a calendar holds at least one component. An empty feed carries the
        # display zone's VTIMEZONE (of the window's year), which every client accepts.
        year = now.astimezone(calendar_zone()).year
        calendar.add_component(vtimezone(zone_key, year, year))
    calendar.add("X-WR-TIMEZONE", zone_key)
    calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    return calendar


def render_reference(scope: FeedScope, now: datetime) -> bytes:
    """The feed's bytes through icalendar alone (the reference the fast builder must equal)."""
    base_url = current_app.config["BASE_URL"]
    activities = feed_activities(scope, now)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        events = feed_events(scope.kind, scope.subject_id, activities, base_url)
        calendar = build_calendar(events, method="PUBLISH", name=calendar_name(scope))
    return _finish(calendar, calendar_zone().key, now, not events).to_ical()


def _fast_body(items: list[Activity | list[Event]], scope: FeedScope, now: datetime, base_url: str) -> bytes:
    zone = calendar_zone()
    sender = current_app.config.get("MAIL_DEFAULT_SENDER")
    email = parseaddr(sender)[1] if sender else None
    years: dict[str, tuple[int, int]] = {}
    parts: list[bytes] = []
    for item in items:
        if isinstance(item, list):
            for tzid, (low, high) in _local_years(item).items():
                known = years.get(tzid, (low, high))
                years[tzid] = (min(known[0], low), max(known[1], high))
            parts += [event.to_ical() for event in item]
            continue
        low, high = local_years(item, zone)
        known = years.get(zone.key, (low, high))
        years[zone.key] = (min(known[0], low), max(known[1], high))
        parts.append(vevent_bytes(item, base_url=base_url, zone=zone, organizer_email=email))
    header = build_calendar([], method="PUBLISH", name=calendar_name(scope))
    for tzid, (first, last) in sorted(years.items()):
        header.add_component(vtimezone(tzid, first, last))
    head = _finish(header, zone.key, now, not items).to_ical()
    return head[: -len(_END)] + b"".join(parts) + _END


def render_tracked(scope: FeedScope, now: datetime) -> FeedEntry:
    """Build the feed's bytes (METHOD:PUBLISH) with the keys it depends on and its mark.

    The mark is taken before anything is read, so a change committed meanwhile makes the entry
    stale at once (it is read afresh on the next poll) rather than hidden.
    """
    changes = watch()
    generation = changes.generation
    mark = take_mark()
    keys = set(scope_keys(scope))
    base_url = current_app.config["BASE_URL"]
    activities = feed_activities(scope, now)
    shown: list[Activity] = []
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        items, grouped = feed_items(scope.kind, scope.subject_id, activities, base_url, shown)
        if fits(calendar_zone(), base_url):
            body = _fast_body(items, scope, now, base_url)
        else:
            body = render_reference(scope, now)
    keys |= content_keys(shown, grouped)
    # Changes that touch no shown row (an invitation added, say) move Last-Modified too.
    changed_at = last_change(keys, mark)
    feed = FeedBody(body=body, etag=etag_of(body), last_modified=last_modified_of(shown, now, changed_at))
    return FeedEntry(feed=feed, tracked=changes.track(keys, mark, generation))


def render_feed(scope: FeedScope, now: datetime) -> FeedBody:
    """The feed's bytes, ETag and Last-Modified, built afresh."""
    return render_tracked(scope, now).feed
