"""The series editor in words: "every Friday until June, holidays moved to the next working day".

The words become an RFC 5545 RRULE (the one the series stores and calendars read). What happens
to an occurrence that falls on a holiday of the working calendar is a policy applied when the
series is created, whatever wrote the rule (words or the raw rule):

- ``skip`` (节假日跳过): the day becomes an EXDATE, as a hand-entered exception would;
- ``postpone`` (节假日顺延): the occurrence moves to the next working day at the same time; it keeps
  its RECURRENCE-ID (its original start), so calendars show it as a changed occurrence.

COUNT counts the dates the rule gives, skipped ones included (RFC 5545: EXDATE removes dates from
the set COUNT made), so "10 times, holidays skipped" may give fewer than ten meetings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.clock import local_to_utc, to_local
from app.core.errors import ValidationFailed
from app.events.checks import ActivityInput
from app.events.models import ActivitySeries
from app.events.series import MAX_OCCURRENCES, create_series, edit_occurrence, expand
from app.events.services import SaveResult, deadline_for
from app.workcal.services import add_working_days, holidays_between

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class Repeat(enum.StrEnum):
    """How often, in words."""

    weekly = "weekly"
    monthly_weekday = "monthly_weekday"
    monthly_day = "monthly_day"


class HolidayPolicy(enum.StrEnum):
    """What an occurrence on a holiday of the working calendar does."""

    keep = "keep"
    skip = "skip"
    postpone = "postpone"


REPEAT_LABELS = {
    Repeat.weekly: _l("Weekly (or every few weeks) on chosen days"),
    Repeat.monthly_weekday: _l("Monthly on a weekday (e.g. the second Thursday)"),
    Repeat.monthly_day: _l("Monthly on a day of the month"),
}
HOLIDAY_LABELS = {
    HolidayPolicy.keep: _l("Meet on holidays too"),
    HolidayPolicy.skip: _l("Skip holidays"),
    HolidayPolicy.postpone: _l("Move to the next working day"),
}
ORDINAL_LABELS = {1: _l("first"), 2: _l("second"), 3: _l("third"), 4: _l("fourth"), -1: _l("last")}


@dataclass
class SeriesWords:
    """What the words editor asks: how often, on which days, until when or how many times."""

    repeat: Repeat
    interval: int = 1
    weekdays: list[str] = field(default_factory=list)
    ordinal: int = 1
    weekday: str = "MO"
    month_day: int | None = None
    until: date | None = None
    count: int | None = None


def _frequency(words: SeriesWords, first: date) -> list[str]:
    if words.repeat == Repeat.weekly:
        if not 1 <= words.interval <= 52:
            raise ValidationFailed(_("Repeat every 1 to 52 weeks."), "repeat_interval")
        days = [d for d in WEEKDAY_CODES if d in words.weekdays] or [WEEKDAY_CODES[first.weekday()]]
        parts = ["FREQ=WEEKLY"] + ([f"INTERVAL={words.interval}"] if words.interval > 1 else [])
        return [*parts, "BYDAY=" + ",".join(days)]
    if words.repeat == Repeat.monthly_weekday:
        if words.ordinal not in ORDINAL_LABELS or words.weekday not in WEEKDAY_CODES:
            raise ValidationFailed(_("Choose which weekday of the month."), "repeat_weekday")
        return ["FREQ=MONTHLY", f"BYDAY={words.ordinal}{words.weekday}"]
    day = words.month_day or first.day
    if not 1 <= day <= 31:
        raise ValidationFailed(_("A day of the month is between 1 and 31."), "repeat_month_day")
    return ["FREQ=MONTHLY", f"BYMONTHDAY={day}"]


def rule_from_words(words: SeriesWords, first: date) -> str:
    """The RRULE value the words describe (first: the series' first day, for defaults and checks)."""
    parts = _frequency(words, first)
    if words.count is not None:
        if not 1 <= words.count <= MAX_OCCURRENCES:
            raise ValidationFailed(_("Between 1 and %(n)d times.", n=MAX_OCCURRENCES), "repeat_count")
        parts.append(f"COUNT={words.count}")
    elif words.until is not None:
        if words.until < first:
            raise ValidationFailed(_("The last day must not be before the first."), "repeat_until")
        parts.append("UNTIL=" + words.until.strftime("%Y%m%d"))
    else:
        raise ValidationFailed(_("Say until when, or how many times."), "repeat_until")
    return ";".join(parts)


def holidays_hit(rule_value: str, data: ActivityInput) -> list[date]:
    """The days the rule gives (from the input's start) that are holidays of the working calendar."""
    starts = expand(rule_value, to_local(data.starts_at).replace(tzinfo=None))
    days = {s.date() for s in starts}
    return sorted(set(holidays_between(min(days), max(days))) & days)


def create_series_with_policy(
    data: ActivityInput, rule_value: str, policy: HolidayPolicy, *, exception_days: list[date],
    now: datetime, override_reason: str | None = None,
) -> tuple[ActivitySeries, list[SaveResult]]:
    """Create a series whose holiday occurrences are kept, skipped (EXDATE) or moved (顺延)."""
    if policy == HolidayPolicy.keep:
        return create_series(data, rule_value, exception_days=exception_days, now=now, override_reason=override_reason)
    holidays = holidays_hit(rule_value, data)
    if policy == HolidayPolicy.skip:
        return create_series(
            data, rule_value, exception_days=[*exception_days, *holidays], now=now, override_reason=override_reason
        )
    series, results = create_series(
        data, rule_value, exception_days=exception_days, now=now, override_reason=override_reason
    )
    moved = set(holidays)
    for index, result in enumerate(results):
        local = to_local(result.activity.starts_at)
        if local.date() in moved:
            results[index] = _postpone(result, data, now=now, override_reason=override_reason)
    return series, results


def _postpone(result: SaveResult, data: ActivityInput, *, now: datetime, override_reason: str | None) -> SaveResult:
    """Move one occurrence to the next working day at the same wall-clock time."""
    activity = result.activity
    local = to_local(activity.starts_at).replace(tzinfo=None)
    target = datetime.combine(add_working_days(local.date(), 1), local.time())
    starts_at = local_to_utc(target)
    duration: timedelta = activity.ends_at - activity.starts_at
    values = replace(
        data, starts_at=starts_at, ends_at=starts_at + duration, cohost_ids=list(data.cohost_ids),
        answer_deadline=deadline_for(data, starts_at),
    )
    return edit_occurrence(activity, values, now=now, override_reason=override_reason)
