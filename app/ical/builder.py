"""The one iCalendar builder shared by feeds (METHOD:PUBLISH) and e-mail (iTIP REQUEST/CANCEL).

Conformance follows /work/shared/ICAL.md: stable UIDs from the database id, LAST-MODIFIED from
the last change of the row or of what it shows (venue, host, theme…), DTSTAMP the same in feeds
(never "now", so bytes are repeatable) but the time the message was made in iTIP mails
(RFC 5545 §3.8.7.2: the caller passes it as `stamp`), SEQUENCE,
times in Asia/Shanghai (ZoneInfo) with a VTIMEZONE narrowed to the years in use, escaped text,
and the activity's link in DESCRIPTION as well as URL. Nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext as _
from icalendar import Calendar, Event, Timezone, vCalAddress, vCategory, vText

from app.events.models import Activity, ActivityKind, ActivityStatus

PRODID = "-//Linghang//Linghang 领航//ZH"

# iTIP PARTSTAT for an invitation's answer.
PARTSTAT = {
    "pending": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
}

ICAL_STATUS = {
    ActivityStatus.draft: "TENTATIVE",
    ActivityStatus.published: "CONFIRMED",
    ActivityStatus.completed: "CONFIRMED",
    ActivityStatus.cancelled: "CANCELLED",
}


def escape_text(value: str) -> str:
    """RFC 5545 TEXT escaping: backslash first, then ; , and line breaks."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


class Text(vText):
    """TEXT escaped exactly by RFC 5545.

    icalendar 7.3's own escaping first rewrites a literal backslash + "N" to "\\n", so a title
    such as "C:\\New" would come back with a line break (found by the property-based test).
    """

    def to_ical(self) -> bytes:
        return escape_text(str(self)).encode(self.encoding)


class Categories(vCategory):
    """CATEGORIES whose values are escaped by Text."""

    def __init__(self, values: list[str]) -> None:
        super().__init__(list(values))
        self.cats = [Text(value) for value in values]


def calendar_zone() -> ZoneInfo:
    """The zone times are written in (the display zone, Asia/Shanghai by default)."""
    name = current_app.config["DISPLAY_TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def uid_for(activity_id: int, base_url: str) -> str:
    """The stable UID of an activity: activity-<id>@<host of BASE_URL>."""
    host = urlsplit(base_url).hostname or "linghang.invalid"
    return f"activity-{activity_id}@{host}"


def activity_url(activity: Activity, base_url: str) -> str:
    """The activity's page."""
    return f"{base_url.rstrip('/')}/activities/{activity.id}"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the iCalendar builder")
    return value.astimezone(UTC)


def last_changed(activity: Activity) -> datetime:
    """When the event as a calendar shows it last changed (UTC): the row, or the venue, host,
    enterprise site or theme whose names it shows (LOCATION, ORGANIZER CN, CATEGORIES)."""
    stamps = [activity.updated_at]
    for related in (activity.venue, activity.host, activity.site, activity.theme):
        if related is not None and related.updated_at is not None:
            stamps.append(related.updated_at)
    return _utc(max(_utc(stamp) for stamp in stamps))


def _address(email: str | None, name: str | None, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}" if email else "mailto:noreply@linghang.invalid")
    if name:
        # icalendar quotes a parameter value with , ; : or " in it (a CN like 王, 五).
        address.params["CN"] = name
    for key, value in params.items():
        address.params[key] = value
    return address


def _description(activity: Activity, url: str, extra: str | None = None) -> str:
    parts: list[str] = []
    if activity.status == ActivityStatus.cancelled:
        parts.append(_("Cancelled") + (f"：{activity.status_reason}" if activity.status_reason else ""))
    if activity.agenda:
        parts.append(_("Agenda") + "：\n" + activity.agenda.strip())
    if activity.description:
        parts.append(activity.description.strip())
    if extra and extra.strip():
        parts.append(extra.strip())
    parts.append(_("Details") + "：" + url)
    return "\n\n".join(parts)


def build_vevent(
    activity: Activity,
    *,
    base_url: str,
    attendee: Any = None,
    partstat: str = "NEEDS-ACTION",
    method: str | None = None,
    extra_description: str | None = None,
    organizer_email: str | None = None,
    zone: ZoneInfo | None = None,
    stamp: datetime | None = None,
) -> Event:
    """One VEVENT for an activity; `attendee` (a Person) adds an RSVP ATTENDEE line (e-mail).

    `method` CANCEL marks the event cancelled whatever the row says (iTIP cancellation).
    `stamp` is an iTIP message's creation time (its DTSTAMP); feeds leave it out and get the
    last change, so their bytes stay the same until something changes.
    """
    zone = zone or calendar_zone()
    url = activity_url(activity, base_url)
    event = Event()
    event.add("UID", uid_for(activity.id, base_url))
    changed = last_changed(activity)
    event.add("DTSTAMP", _utc(stamp) if stamp is not None else changed)
    event.add("LAST-MODIFIED", changed)
    event.add("CREATED", _utc(activity.created_at))
    event.add("SEQUENCE", activity.sequence or 0)
    event.add("SUMMARY", Text(activity.title))
    event.add("DTSTART", activity.starts_at.astimezone(zone))
    event.add("DTEND", activity.ends_at.astimezone(zone))
    status = "CANCELLED" if method and method.upper() == "CANCEL" else ICAL_STATUS[activity.status]
    event.add("STATUS", status)
    if activity.place:
        event.add("LOCATION", Text(activity.place))
    # The sending address, not a person's: feeds are public and replies belong to the system.
    # MAIL_DEFAULT_SENDER may be "Name <address>": the URI takes the address only.
    sender = organizer_email or (current_app.config.get("MAIL_DEFAULT_SENDER") if has_app_context() else None)
    event.add("ORGANIZER", _address(parseaddr(sender)[1] if sender else None, activity.host.name))
    categories = [activity.kind_label]
    if activity.theme is not None:
        categories.append(activity.theme.title)
    event.add("CATEGORIES", Categories(categories))
    event.add("DESCRIPTION", Text(_description(activity, url, extra_description)))
    event.add("URL", url)
    event.add("CLASS", "PRIVATE" if activity.kind == ActivityKind.visit else "PUBLIC")
    event.add("TRANSP", "TRANSPARENT" if status == "CANCELLED" else "OPAQUE")
    if attendee is not None:
        event.add(
            "ATTENDEE",
            _address(
                getattr(attendee, "email", None),
                getattr(attendee, "name", None),
                ROLE="REQ-PARTICIPANT",
                PARTSTAT=partstat,
                RSVP="TRUE",
            ),
        )
    return event


@lru_cache(maxsize=64)
def vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE valid from 1 January of first_year to the end of last_year (cached; do not mutate)."""
    return Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1))


def _local_years(events: list[Event]) -> dict[str, tuple[int, int]]:
    years: dict[str, tuple[int, int]] = {}
    for event in events:
        for key in ("DTSTART", "DTEND"):
            prop = event.get(key)
            if prop is None or not isinstance(prop.dt, datetime) or prop.dt.tzinfo in (None, UTC):
                continue
            tzid = str(prop.params.get("TZID") or getattr(prop.dt.tzinfo, "key", ""))
            if not tzid:
                continue
            low, high = years.get(tzid, (prop.dt.year, prop.dt.year))
            years[tzid] = (min(low, prop.dt.year), max(high, prop.dt.year))
    return years


def build_calendar(
    events: Iterable[Event],
    *,
    method: str | None,
    name: str | None = None,
    description: str | None = None,
) -> Calendar:
    """A VCALENDAR with the method (REQUEST/CANCEL for e-mail, PUBLISH for feeds), an optional
    display name, the events and their VTIMEZONEs."""
    events = list(events)
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    if method:
        calendar.add("METHOD", method.upper())
    if name:
        # Text explicitly: icalendar types NAME and X-WR-* as unknown and would not escape "," ";".
        calendar.add("NAME", Text(name))
        calendar.add("X-WR-CALNAME", Text(name))
    if description:
        calendar.add("X-WR-CALDESC", Text(description))
    for tzid, (first, last) in sorted(_local_years(events).items()):
        calendar.add_component(vtimezone(tzid, first, last))
    for event in events:
        calendar.add_component(event)
    return calendar
