"""The feeds' hot path: a VEVENT written as text, byte for byte what build_vevent() + icalendar give.

icalendar builds a tree of property objects, sorts and re-encodes them, and folds each line a
character at a time; for a 1,000-event feed that is most of the rendering time. Here each line
of a feed event (no attendee, no method, no extra text) is formatted directly, in icalendar's
property order (its canonical order, then alphabetical), with the same TEXT escaping (the
builder's own `escape_text`), the same parameter quoting (the ORGANIZER line is made by icalendar
itself and cached per host) and the same folding (`fold`: 74 octets of content per line, never
inside a UTF-8 character, a trailing backslash or caret moved to the next line as icalendar
7.3 does). tests/test_feed_builder.py compares both on a rich fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar.parser import Contentline

from app.events.models import Activity, ActivityKind
from app.ical.builder import (
    ICAL_STATUS,
    _address,
    _description,
    activity_url,
    escape_text,
    last_changed,
    uid_for,
)

LIMIT = 74  # icalendar folds before a character that would make a line reach 75 octets
_ESCAPES = (ord("\\"), ord("^"))


def fold(line: bytes) -> bytes:
    """Fold one content line exactly as icalendar 7.3's _foldline does."""
    size = len(line)
    if size <= LIMIT:
        return line
    parts = []
    start = 0
    while size - start > LIMIT:
        end = start + LIMIT
        while line[end] & 0xC0 == 0x80:  # never split a UTF-8 character
            end -= 1
        # icalendar keeps an escape with what it escapes (issue #1501): a chunk of more than
        # one character ending in a backslash or caret gives it to the next line.
        if line[end - 1] in _ESCAPES and _more_than_one_char(line, start, end):
            end -= 1
        parts.append(line[start:end])
        start = end
    parts.append(line[start:])
    return b"\r\n ".join(parts)


def _more_than_one_char(line: bytes, start: int, end: int) -> bool:
    return any(byte & 0xC0 != 0x80 for byte in line[start + 1:end])


def _utc(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value.year:04}{value.month:02}{value.day:02}T{value.hour:02}{value.minute:02}{value.second:02}Z"


def _local(value: datetime, zone: ZoneInfo) -> str:
    value = value.astimezone(zone)
    return f"{value.year:04}{value.month:02}{value.day:02}T{value.hour:02}{value.minute:02}{value.second:02}"


@lru_cache(maxsize=512)
def _organizer(email: str | None, name: str | None) -> bytes:
    """The ORGANIZER line, made by icalendar itself (quoting rules of CN), cached per host."""
    address = _address(email, name)
    return Contentline.from_parts("ORGANIZER", address.params, address).to_ical()


def _text(name: str, value: str) -> bytes:
    return fold(f"{name}:{escape_text(value)}".encode())


def fits(zone: ZoneInfo, base_url: str) -> bool:
    """Whether this serialiser writes what icalendar would (a named zone, a plain UID host)."""
    return zone.key not in ("UTC", "Etc/UTC") and not any(c in uid_for(0, base_url) for c in ",;\\\r\n")


def vevent_bytes(activity: Activity, *, base_url: str, zone: ZoneInfo, organizer_email: str | None) -> bytes:
    """build_vevent(activity, base_url=…).to_ical() for a feed, without icalendar's objects."""
    url = activity_url(activity, base_url)
    stamp = _utc(last_changed(activity))
    status = ICAL_STATUS[activity.status]
    categories = [activity.kind_label] + ([activity.theme.title] if activity.theme is not None else [])
    tzid = zone.key
    lines = [
        b"BEGIN:VEVENT",
        _text("SUMMARY", activity.title),
        fold(f"DTSTART;TZID={tzid}:{_local(activity.starts_at, zone)}".encode()),
        fold(f"DTEND;TZID={tzid}:{_local(activity.ends_at, zone)}".encode()),
        f"DTSTAMP:{stamp}".encode(),
        fold(f"UID:{uid_for(activity.id, base_url)}".encode()),
        b"SEQUENCE:%d" % (activity.sequence or 0),
        fold(("CATEGORIES:" + ",".join(escape_text(c) for c in categories)).encode()),
        b"CLASS:PRIVATE" if activity.kind == ActivityKind.visit else b"CLASS:PUBLIC",
        f"CREATED:{_utc(activity.created_at)}".encode(),
        _text("DESCRIPTION", _description(activity, url)),
        f"LAST-MODIFIED:{stamp}".encode(),
    ]
    place = activity.place
    if place:
        lines.append(_text("LOCATION", place))
    lines += [
        _organizer(organizer_email, activity.host.name),
        f"STATUS:{status}".encode(),
        b"TRANSP:TRANSPARENT" if status == "CANCELLED" else b"TRANSP:OPAQUE",
        fold(f"URL:{url}".encode()),
        b"END:VEVENT\r\n",
    ]
    return b"\r\n".join(lines)


def local_years(activity: Activity, zone: ZoneInfo) -> tuple[int, int]:
    """The local years of an activity's start and end (the VTIMEZONE must cover them)."""
    return activity.starts_at.astimezone(zone).year, activity.ends_at.astimezone(zone).year

