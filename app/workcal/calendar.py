"""A year of China's working calendar and the questions asked of it; pure, no database."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from app.workcal.models import Festival
from app.workcal.statutory import Days, package_year, statutory_holidays


class Source(enum.StrEnum):
    """Where a year's calendar comes from."""

    package = "package"  # the State Council's notice, as chinese-calendar ships it
    entered = "entered"  # the State Council's notice, as an administrator entered it
    computed = "computed"  # the statutory days from the law; make-up days not yet known


SOURCE_LABELS = {
    Source.package: _l("Official (State Council notice, built in)"),
    Source.entered: _l("Official (State Council notice, entered by an administrator)"),
    Source.computed: _l("Provisional (statutory holidays computed from the law; make-up days not yet known)"),
}


@dataclass(frozen=True)
class YearCalendar:
    """One year's days off and make-up working days; weekends are off unless a make-up day."""

    year: int
    source: Source
    holidays: Days = field(default_factory=dict)
    makeup_days: Days = field(default_factory=dict)
    notice: str | None = None

    @property
    def official(self) -> bool:
        """True when the State Council's arrangement is known (built in or entered)."""
        return self.source != Source.computed

    @property
    def source_label(self) -> str:
        """The translated status of the year."""
        return str(SOURCE_LABELS[self.source])

    def is_working_day(self, day: date) -> bool:
        """A make-up day works; a holiday is off; otherwise Monday to Friday."""
        if day in self.makeup_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def periods(self, festival: Festival) -> tuple[date | None, date | None, list[date]]:
        """(first day off, last day off, make-up days) of one festival, as a notice lists them."""
        off = [day for day, name in self.holidays.items() if name == festival]
        makeup = sorted(day for day, name in self.makeup_days.items() if name == festival)
        return (min(off) if off else None, max(off) if off else None, makeup)


def built_in_calendar(year: int) -> YearCalendar:
    """The year from the holiday package when it knows it, else computed from the law."""
    known = package_year(year)
    if known is not None:
        holidays, makeup_days = known
        return YearCalendar(year, Source.package, holidays, makeup_days)
    return YearCalendar(year, Source.computed, statutory_holidays(year))
