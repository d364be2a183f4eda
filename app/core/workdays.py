"""China's working calendar: public holidays off, make-up working days (调休) on."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def calendar_known(day: date) -> bool:
    """True when the holiday package has the State Council's calendar for this year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    """A working day on China's calendar; past the known years, Monday to Friday."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


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

