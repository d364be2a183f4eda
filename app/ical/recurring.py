"""A series as one calendar entry: a master VEVENT with RRULE/EXDATE and one VEVENT with
RECURRENCE-ID for each occurrence that differs from the rule (moved, retitled, elsewhere).

Used for the mails of an invitation to a whole series and for the feeds of people and
organisations invited to it, so the mail and the subscription describe the same entry (same UID,
``series-<id>@<host>``). A cancelled occurrence is an EXDATE of the master; its iTIP CANCEL names
it by RECURRENCE-ID (RFC 5546 §3.2.5).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from icalendar import Event

from app.core.clock import to_local
from app.events.models import Activity, ActivitySeries, ActivityStatus
from app.events.series import LOCAL_FORMAT, to_vevent
from app.ical.builder import build_vevent, calendar_zone, last_changed

# Properties of a VEVENT that place it in time; the master's come from the series.
_TIMING = ("UID", "DTSTART", "DTEND", "SEQUENCE", "DTSTAMP", "LAST-MODIFIED")


def series_uid(series_id: int, base_url: str) -> str:
    """The stable UID of a series: series-<id>@<host of BASE_URL>."""
    host = urlsplit(base_url).hostname or "linghang.invalid"
    return f"series-{series_id}@{host}"


def _differs(activity: Activity, template: Activity, duration: timedelta) -> bool:
    """True when an occurrence is not what the master says for its date."""
    return (
        activity.starts_at != activity.recurrence_id
        or activity.ends_at - activity.starts_at != duration
        or activity.title != template.title
        or activity.place != template.place
    )


def _set(event: Event, name: str, value: Any) -> None:
    event.pop(name, None)
    event.add(name, value)


def _as_instance(event: Event, activity: Activity, uid: str) -> Event:
    """Make an occurrence's VEVENT an instance of the series (same UID, its RECURRENCE-ID)."""
    _set(event, "UID", uid)
    event.add("RECURRENCE-ID", activity.recurrence_id.astimezone(calendar_zone()))
    return event


def series_events(
    series: ActivitySeries, rows: list[Activity], *, base_url: str, **vevent_options: Any,
) -> list[Event]:
    """The master VEVENT of a series and its changed occurrences (`rows`: all of its activities).

    `vevent_options` are passed to build_vevent (attendee, partstat, method, extra_description, stamp).
    """
    zone = calendar_zone()
    uid = series_uid(series.id, base_url)
    live = [a for a in rows if a.status != ActivityStatus.cancelled]
    template = (live or rows)[0]
    duration = timedelta(minutes=series.duration_minutes)
    changed = max([series.updated_at.astimezone(UTC), *(last_changed(a) for a in rows)])
    stamp = vevent_options.get("stamp")  # an iTIP message's creation time; feeds keep `changed`
    master = build_vevent(template, base_url=base_url, **vevent_options)
    for name in _TIMING:
        master.pop(name, None)
    master.add("UID", uid)
    master.add("DTSTAMP", stamp.astimezone(UTC) if stamp is not None else changed)
    master.add("LAST-MODIFIED", changed)
    master.add("SEQUENCE", max(a.sequence or 0 for a in rows))
    start = to_local(series.dtstart).astimezone(zone)
    master.add("DTSTART", start)
    master.add("DTEND", start + duration)
    rule = to_vevent(series, uid, template.title)
    master.add("RRULE", rule["RRULE"])
    skipped = set(series.exdates) | {
        to_local(a.recurrence_id).strftime(LOCAL_FORMAT) for a in rows if a.status == ActivityStatus.cancelled
    }
    for key in sorted(skipped):
        master.add("EXDATE", datetime.strptime(key, LOCAL_FORMAT).replace(tzinfo=zone))
    overrides = [
        _as_instance(build_vevent(a, base_url=base_url, **vevent_options), a, uid)
        for a in live
        if _differs(a, template, duration)
    ]
    return [master, *overrides]


def occurrence_cancel_event(activity: Activity, *, base_url: str, **vevent_options: Any) -> Event:
    """The VEVENT of an iTIP CANCEL of one occurrence: the series' UID and its RECURRENCE-ID."""
    event = build_vevent(activity, base_url=base_url, method="CANCEL", **vevent_options)
    return _as_instance(event, activity, series_uid(activity.series_id, base_url))
