"""The one iCalendar builder, shared by calendar feeds and invitation e-mails (see ICAL.md).

Every value is derived from the activity row, so the same activity always gives the same
bytes: a stable UID from the id, DTSTAMP and LAST-MODIFIED from `updated_at`, SEQUENCE from
`activity.sequence`, and times in Asia/Shanghai with a VTIMEZONE (never floating, never a
fixed offset).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from email.utils import parseaddr
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from app.events.models import Activity, ActivityStatus

ZONE = ZoneInfo("Asia/Shanghai")
PRODID = "-//Linghang//Linghang 领航//ZH"

# iTIP PARTSTAT for an invitation's answer.
PARTSTAT = {
    "pending": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
}


class Attendee(Protocol):
    name: str
    email: str | None


def activity_uid(activity: Activity, base_url: str) -> str:
    """The stable UID of an activity: activity-<id>@<host of BASE_URL>."""
    host = urlsplit(base_url).hostname or "linghang.local"
    return f"activity-{activity.id}@{host}"


def activity_url(activity: Activity, base_url: str) -> str:
    """The activity's page."""
    return f"{base_url.rstrip('/')}/activities/{activity.id}"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:  # UTCDateTime always gives aware values; be safe anyway
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def ical_status(activity: Activity, method: str | None = None) -> str:
    """STATUS of the VEVENT: CANCELLED, TENTATIVE for a draft, else CONFIRMED."""
    if method == "CANCEL" or activity.status == ActivityStatus.cancelled:
        return "CANCELLED"
    if activity.status == ActivityStatus.draft:
        return "TENTATIVE"
    return "CONFIRMED"


def build_vevent(
    activity: Activity,
    *,
    base_url: str,
    attendee: Attendee | None = None,
    partstat: str = "NEEDS-ACTION",
    method: str | None = None,
    extra_description: str | None = None,
    organizer_email: str | None = None,
) -> Event:
    """The VEVENT of an activity; with `attendee`, one ATTENDEE line for that person (iTIP)."""
    link = activity_url(activity, base_url)
    event = Event()
    event.add("uid", activity_uid(activity, base_url))
    stamp = _utc(activity.updated_at)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("created", _utc(activity.created_at))
    event.add("sequence", activity.sequence or 0)
    event.add("dtstart", _utc(activity.starts_at).astimezone(ZONE))
    event.add("dtend", _utc(activity.ends_at).astimezone(ZONE))
    event.add("summary", activity.title)
    if activity.place:
        event.add("location", activity.place)
    parts = [activity.agenda or ""]
    if extra_description:
        parts.append(extra_description)
    parts.append(link)
    event.add("description", "\n\n".join(p.strip() for p in parts if p and p.strip()))
    event.add("url", link)
    # MAIL_DEFAULT_SENDER may be "Name <address>": the URI takes the address only.
    sender = parseaddr(organizer_email or current_app.config["MAIL_DEFAULT_SENDER"])[1]
    organizer = vCalAddress(f"mailto:{sender}")
    organizer.params["CN"] = vText(activity.host.name)
    event.add("organizer", organizer)
    if attendee is not None and attendee.email:
        address = vCalAddress(f"mailto:{attendee.email}")
        address.params["CN"] = vText(attendee.name)
        address.params["ROLE"] = vText("REQ-PARTICIPANT")
        address.params["PARTSTAT"] = vText(partstat)
        address.params["RSVP"] = vText("TRUE")
        event.add("attendee", address)
    event.add("status", ical_status(activity, method))
    event.add("transp", "TRANSPARENT" if ical_status(activity, method) == "CANCELLED" else "OPAQUE")
    categories = [str(activity.kind_label)]
    if activity.theme is not None:
        categories.append(activity.theme.title)
    event.add("categories", categories)
    return event


def build_calendar(
    events: Iterable[Event],
    *,
    method: str | None,
    name: str | None = None,
    description: str | None = None,
) -> Calendar:
    """A VCALENDAR around the events, with the VTIMEZONE of the years they use.

    `method` is "REQUEST" or "CANCEL" for e-mail (iTIP), "PUBLISH" for feeds, or None.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method.upper())
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", ZONE.key)
    if description:
        calendar.add("x-wr-caldesc", description)
    years: list[int] = []
    for event in events:
        calendar.add_component(event)
        for key in ("dtstart", "dtend"):
            if key in event:
                years.append(event.decoded(key).year)
    if years:
        # Only the rules of the years in use (not the 1986–91 daylight-saving time).
        calendar.add_missing_timezones(first_date=date(min(years), 1, 1), last_date=date(max(years) + 1, 1, 1))
    return calendar
