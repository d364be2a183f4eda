"""The working calendar in use: entered arrangements over the built-in ones; working-day arithmetic.

A year's arrangement is read with one query the first time a request (or CLI command, scheduler
pass) asks about that year and kept in `g` for the rest of it, so another process's change is seen
by the next request; nothing is cached in process memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from app.audit.services import record
from app.core.errors import ValidationFailed
from app.core.i18n import format_day
from app.extensions import db
from app.workcal.calendar import Source, YearCalendar, built_in_calendar
from app.workcal.models import FESTIVAL_LABELS, ArrangedDay, Festival, HolidayArrangement
from app.workcal.statutory import Days

FIRST_YEAR, LAST_YEAR = 2000, 2100
LONGEST_HOLIDAY_DAYS = 15
_CACHE = "workcal_years"
# First key of PostgreSQL's two-key advisory locks on a year's arrangement (the second is the year).
ADVISORY_KEY = 820


def _entered(arrangement: HolidayArrangement) -> YearCalendar:
    holidays = {d.day: d.festival for d in arrangement.days if not d.working}
    makeup_days = {d.day: d.festival for d in arrangement.days if d.working}
    return YearCalendar(arrangement.year, Source.entered, holidays, makeup_days, arrangement.notice)


def _arrangement(year: int) -> HolidayArrangement | None:
    return db.session.scalar(
        select(HolidayArrangement).where(HolidayArrangement.year == year).options(selectinload(HolidayArrangement.days))
        .execution_options(populate_existing=True)
    )


def _lock_year(year: int) -> None:
    """Serialise writers of one year's arrangement, also while none exists yet (no row to lock)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key, :year)"), {"key": ADVISORY_KEY, "year": year})
    else:
        # SQLite: a write (even of no row) takes the database's write lock until the transaction ends.
        db.session.execute(text("UPDATE holiday_arrangement SET id = id WHERE year = :year"), {"year": year})


def year_calendar(year: int) -> YearCalendar:
    """The year's calendar: an entered arrangement, else the built-in notice, else the law's holidays."""
    if not has_app_context():
        return built_in_calendar(year)
    years: dict[int, YearCalendar] = g.setdefault(_CACHE, {})
    if year not in years:
        arrangement = _arrangement(year)
        years[year] = _entered(arrangement) if arrangement is not None else built_in_calendar(year)
    return years[year]


def forget_cached_years() -> None:
    """Drop this request's cached years (after an arrangement changed)."""
    if has_app_context():
        g.pop(_CACHE, None)


def is_working_day(day: date) -> bool:
    """A working day on China's calendar: weekdays and make-up days, but not holidays."""
    return year_calendar(day.year).is_working_day(day)


def is_official(day: date) -> bool:
    """True when the State Council's arrangement for the day's year is known."""
    return year_calendar(day.year).official


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def holidays_between(first: date, last: date) -> list[date]:
    """The holidays (not plain weekends) from first to last, inclusive."""
    return [
        day
        for year in range(first.year, last.year + 1)
        for day in year_calendar(year).holidays
        if first <= day <= last
    ]


def years_overview(today: date) -> list[YearCalendar]:
    """Last year to four years ahead, and every year with an entered arrangement, in order."""
    entered = set(db.session.scalars(select(HolidayArrangement.year)))
    years = sorted(entered | set(range(today.year - 1, today.year + 5)))
    return [year_calendar(year) for year in years]


# -- entering the State Council's notice ------------------------------------------------------

@dataclass
class FestivalInput:
    """One line of the notice: a festival's days off and its make-up working days (as typed)."""

    festival: Festival
    first_day: date | None = None
    last_day: date | None = None
    makeup_text: str | None = None


@dataclass
class ArrangementInput:
    """A year's notice as entered on the form."""

    year: int
    notice: str | None = None
    festivals: list[FestivalInput] = field(default_factory=list)


DATE_SEPARATORS = re.compile(r"[\s,，、;；]+")


def check_year(year: int) -> None:
    """Refuse years the calendar does not handle."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(_("Dates must be between the years 2000 and 2100."), "year")


def _in_year(day: date, year: int, field_name: str) -> date:
    if day.year != year:
        raise ValidationFailed(_("Every date must be in %(year)d.", year=year), field_name)
    return day


def _days_off(line: FestivalInput, year: int) -> list[date]:
    prefix = line.festival.value
    if line.first_day is None:
        if line.last_day is not None:
            raise ValidationFailed(_("Enter the first day off."), f"{prefix}_first")
        return []
    last = line.last_day or line.first_day
    _in_year(line.first_day, year, f"{prefix}_first")
    _in_year(last, year, f"{prefix}_last")
    if last < line.first_day:
        raise ValidationFailed(_("The last day off cannot be before the first."), f"{prefix}_last")
    if (last - line.first_day).days >= LONGEST_HOLIDAY_DAYS:
        raise ValidationFailed(_("A holiday lasts at most %(n)d days.", n=LONGEST_HOLIDAY_DAYS), f"{prefix}_last")
    return [line.first_day + timedelta(days=n) for n in range((last - line.first_day).days + 1)]


def parse_makeup_days(text: str | None, year: int, field_name: str) -> list[date]:
    """"2027-02-20, 2027-02-27" → the dates; each must be a Saturday or Sunday of the year."""
    days = []
    for token in DATE_SEPARATORS.split((text or "").strip()):
        if not token:
            continue
        try:
            day = date.fromisoformat(token)
        except ValueError:
            raise ValidationFailed(
                _("Enter make-up days as dates such as %(example)s, separated by commas.", example=f"{year}-02-20"),
                field_name,
            ) from None
        _in_year(day, year, field_name)
        if day.weekday() < 5:
            raise ValidationFailed(
                _("%(day)s is not a Saturday or Sunday: only a weekend day can be a make-up working day.",
                  day=format_day(day)),
                field_name,
            )
        days.append(day)
    return days


def check_arrangement(data: ArrangementInput) -> tuple[Days, Days]:
    """(days off, make-up working days) of a notice, or ValidationFailed naming the field at fault."""
    check_year(data.year)
    holidays: Days = {}
    for line in data.festivals:
        for day in _days_off(line, data.year):
            if day in holidays:
                raise ValidationFailed(
                    _("%(day)s is already a day off for %(festival)s.", day=format_day(day),
                      festival=FESTIVAL_LABELS[holidays[day]]),
                    f"{line.festival.value}_first",
                )
            holidays[day] = line.festival
    if not holidays:
        raise ValidationFailed(_("Enter at least one holiday."))
    makeup_days: Days = {}
    for line in data.festivals:
        field_name = f"{line.festival.value}_makeup"
        for day in parse_makeup_days(line.makeup_text, data.year, field_name):
            if day in holidays:
                raise ValidationFailed(
                    _("%(day)s cannot be both a day off and a make-up working day.", day=format_day(day)), field_name
                )
            if day in makeup_days:
                raise ValidationFailed(_("%(day)s is listed twice as a make-up day.", day=format_day(day)), field_name)
            makeup_days[day] = line.festival
    return dict(sorted(holidays.items())), dict(sorted(makeup_days.items()))


def _audited(calendar: YearCalendar | None) -> dict[str, object]:
    if calendar is None:
        return {"notice": None, "holidays": None, "makeup_days": None}
    return {
        "notice": calendar.notice,
        "holidays": [f"{day.isoformat()} {name.value}" for day, name in calendar.holidays.items()],
        "makeup_days": [f"{day.isoformat()} {name.value}" for day, name in calendar.makeup_days.items()],
    }


def save_arrangement(data: ArrangementInput, *, now: datetime) -> HolidayArrangement:
    """Enter or replace a year's official arrangement; it overrides the built-in calendar of that year."""
    holidays, makeup_days = check_arrangement(data)
    _lock_year(data.year)
    arrangement = _arrangement(data.year)
    before = _audited(_entered(arrangement)) if arrangement is not None else _audited(None)
    if arrangement is None:
        arrangement = HolidayArrangement(year=data.year, updated_at=now)
        db.session.add(arrangement)
    else:
        arrangement.days.clear()
        db.session.flush()  # the old days go before new ones take their (unique) dates
    arrangement.notice = data.notice
    arrangement.updated_at = now
    arrangement.days.extend(
        [ArrangedDay(day=day, working=False, festival=name) for day, name in holidays.items()]
        + [ArrangedDay(day=day, working=True, festival=name) for day, name in makeup_days.items()]
    )
    db.session.flush()
    after = _audited(_entered(arrangement))
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        record(arrangement, "create" if before["holidays"] is None else "update", changes, now=now)
    forget_cached_years()
    return arrangement


def delete_arrangement(year: int, *, now: datetime) -> bool:
    """Remove an entered arrangement: the year goes back to the built-in calendar. False if none."""
    _lock_year(year)
    arrangement = _arrangement(year)
    if arrangement is None:
        return False
    before = _audited(_entered(arrangement))
    record(arrangement, "delete", {key: [value, None] for key, value in before.items()}, now=now)
    db.session.delete(arrangement)
    db.session.flush()
    forget_cached_years()
    return True
