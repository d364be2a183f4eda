"""The slot finder: earliest free times on China's working calendar within working hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app, has_app_context
from flask_babel import gettext as _

from app.core.clock import display_zone
from app.core.errors import ValidationFailed
from app.events.checks import EARLIEST, LATEST
from app.events.conflicts import busy_intervals
from app.workcal.calendar import YearCalendar
from app.workcal.services import year_calendar

DEFAULT_WORKING_HOURS = "09:00-12:00,14:00-17:30"
MAX_RANGE_DAYS = 366


@dataclass
class SlotSearch:
    """The earliest free slots, and the working calendar of each year in the searched dates (official or provisional)."""

    slots: list[tuple[datetime, datetime]] = field(default_factory=list)
    calendars: list[YearCalendar] = field(default_factory=list)

    @property
    def provisional_years(self) -> list[int]:
        """Searched years whose make-up days are not known yet (statutory holidays computed from the law)."""
        return [calendar.year for calendar in self.calendars if not calendar.official]


def parse_working_hours(text: str | None) -> list[tuple[time, time]]:
    """"09:00-12:00,14:00-17:30" → [(09:00, 12:00), (14:00, 17:30)]."""
    if not text and has_app_context():
        text = current_app.config.get("WORKING_HOURS", DEFAULT_WORKING_HOURS)
    windows: list[tuple[time, time]] = []
    try:
        for part in (text or DEFAULT_WORKING_HOURS).replace("，", ",").split(","):
            if not part.strip():
                continue
            start, end = (time.fromisoformat(p.strip()) for p in part.replace("–", "-").split("-"))
            if end <= start:
                raise ValueError(part)
            windows.append((start, end))
    except ValueError:
        raise ValidationFailed(
            _("Working hours look like 09:00-12:00,14:00-17:30."), "working_hours"
        ) from None
    if not windows:
        raise ValidationFailed(_("Working hours look like 09:00-12:00,14:00-17:30."), "working_hours")
    return sorted(windows)


def find_slots(
    *, duration: timedelta, date_from: date, date_to: date, venue_id: int | None = None,
    org_ids: list[int] | None = None, working_hours: list[tuple[time, time]] | None = None,
    step: timedelta = timedelta(minutes=30), limit: int = 10, now: datetime | None = None,
    exclude_id: int | None = None,
) -> SlotSearch:
    """Earliest slots where the venue and every organisation are free, on working days only.

    Busy times are read with one indexed range query per resource over the searched dates.
    """
    if duration <= timedelta(0):
        raise ValidationFailed(_("The duration must be more than zero."), "duration")
    if date_to < date_from:
        raise ValidationFailed(_("The end must be after the start."), "date_to")
    if date_from.year < 2000 or date_to.year > 2100:
        raise ValidationFailed(_("Dates must be between the years 2000 and 2100."), "date_from")
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise ValidationFailed(_("Search at most one year at a time."), "date_to")
    windows = working_hours or parse_working_hours(None)
    zone = display_zone()
    range_start = max(datetime.combine(date_from, time.min, tzinfo=zone), EARLIEST)
    range_end = min(datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone), LATEST)
    busy = busy_intervals(venue_id, org_ids or [], range_start, range_end, exclude_id)
    result = SlotSearch(calendars=[year_calendar(year) for year in range(date_from.year, date_to.year + 1)])
    day = date_from
    while day <= date_to and len(result.slots) < limit:
        if year_calendar(day.year).is_working_day(day):
            for window_start, window_end in windows:
                start = datetime.combine(day, window_start, tzinfo=zone)
                last = datetime.combine(day, window_end, tzinfo=zone)
                while start + duration <= last and len(result.slots) < limit:
                    end = start + duration
                    if not _clashes(busy, start, end) and (now is None or start >= now):
                        result.slots.append((start, end))
                        start = end
                        continue
                    start += step
        day += timedelta(days=1)
    return result


def _clashes(busy: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    """True when a busy interval (sorted by start) overlaps [start, end)."""
    for busy_start, busy_end in busy:
        if busy_start >= end:
            return False
        if busy_end > start:
            return True
    return False
