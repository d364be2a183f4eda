"""Repeating activities: an RFC 5545 rule expanded with dateutil, each occurrence a plain activity.

Rules are expanded in the display zone (wall-clock times: 14:30 stays 14:30), and every
occurrence is materialised as an `Activity` with `series_id` and `recurrence_id` (its original
start in UTC), so invitations, feeds and the problem ledger only ever see activities.
A rule must end (COUNT or UNTIL) and is bounded to MAX_OCCURRENCES within MAX_SPAN.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrulestr
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Event, vRecur
from sqlalchemy import select

from app.audit.services import record
from app.core.clock import display_zone, local_to_utc, to_local
from app.core.errors import ValidationFailed
from app.core.i18n import format_day, join_list
from app.events.checks import ActivityInput, check_times
from app.events.locking import lock_activity, lock_series
from app.events.models import Activity, ActivitySeries, ActivityStatus
from app.events.services import (
    SaveResult,
    cancel_activity,
    create_activity,
    deadline_for,
    input_of,
    publish_activity,
    update_activity,
)
from app.extensions import db

MAX_OCCURRENCES = 500
MAX_SPAN = timedelta(days=731)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"


def normalise_rule(text: str | None) -> dict:
    """Parse an RRULE value (with or without the "RRULE:" prefix) into icalendar's vRecur."""
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        raise ValidationFailed(_("Enter a recurrence rule."), "rrule")
    try:
        rule = vRecur.from_ical(text)
    except (ValueError, TypeError):
        raise ValidationFailed(_("The recurrence rule cannot be read."), "rrule") from None
    if "FREQ" not in rule:
        raise ValidationFailed(_("The recurrence rule cannot be read."), "rrule")
    if "COUNT" not in rule and "UNTIL" not in rule:
        raise ValidationFailed(
            _("The recurrence rule never ends: add COUNT or UNTIL (at most %(n)d dates within two years).", n=MAX_OCCURRENCES),
            "rrule",
        )
    return rule


def _local_until(value) -> datetime:
    """UNTIL as a naive display-zone wall time (a date means the end of that day)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(display_zone()).replace(tzinfo=None)
        return value
    return datetime.combine(value, time(23, 59, 59))


def rule_text(rule: dict) -> str:
    """The RRULE value as text."""
    return vRecur(rule).to_ical().decode()


def expand(rule_value: str, dtstart_local: datetime, exdates: list[str] | None = None) -> list[datetime]:
    """The rule's local (naive) occurrence starts, minus the exceptions; refuses endless or empty rules.

    dateutil expands the rule with UNTIL capped at MAX_SPAN after the first start, so that even a rule
    that can never match (30 February) costs two years of iteration, not eight thousand.
    """
    rule = normalise_rule(rule_value)
    if _never_matches(rule):
        raise ValidationFailed(_("The recurrence rule yields no date."), "rrule")
    cap = dtstart_local + MAX_SPAN
    until = _local_until(rule["UNTIL"][0]) if "UNTIL" in rule else None
    count = int(rule["COUNT"][0]) if "COUNT" in rule else None
    bounded = {k: v for k, v in rule.items() if k not in ("COUNT", "UNTIL")}
    bounded["UNTIL"] = [min(until, cap) if until else cap]
    too_many = ValidationFailed(
        _("The recurrence rule gives too many dates: at most %(n)d within two years.", n=MAX_OCCURRENCES), "rrule"
    )
    try:
        recurrence = rrulestr(rule_text(bounded), dtstart=dtstart_local)
        starts = list(itertools.islice(recurrence, MAX_OCCURRENCES + 1))
    except (ValueError, TypeError):
        raise ValidationFailed(_("The recurrence rule cannot be read."), "rrule") from None
    if not starts:
        raise ValidationFailed(_("The recurrence rule yields no date."), "rrule")
    if count is not None:
        if len(starts) < count:
            raise too_many  # the rest would fall more than two years ahead
        starts = starts[:count]
    if len(starts) > MAX_OCCURRENCES:
        raise too_many
    if count is None and until is not None and until > cap:
        unbounded = rrulestr(rule_text({**bounded, "UNTIL": [until]}), dtstart=dtstart_local)
        if unbounded.after(cap) is not None:
            raise too_many
    skipped = set(exdates or [])
    starts = [s for s in starts if s.strftime(LOCAL_FORMAT) not in skipped]
    if not starts:
        raise ValidationFailed(_("The recurrence rule yields no date."), "rrule")
    if starts[-1].year > 2100:
        raise ValidationFailed(_("Dates must be between the years 2000 and 2100."), "rrule")
    return starts


MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _never_matches(rule: dict) -> bool:
    """BYMONTHDAY days none of the BYMONTH months has (30 February): dateutil would search to year 9999."""
    try:
        months = [int(m) for m in rule.get("BYMONTH", [])]
        days = [int(d) for d in rule.get("BYMONTHDAY", [])]
    except (TypeError, ValueError):
        return False
    if not months or not days:
        return False
    longest = max(MONTH_DAYS.get(m, 31) for m in months)
    return all(abs(d) > longest for d in days)


def exdate_keys(days: list[date], at: time) -> list[str]:
    """Exception dates given as days, at the series' start time."""
    return sorted(datetime.combine(day, at).strftime(LOCAL_FORMAT) for day in set(days))


def create_series(
    data: ActivityInput, rule_value: str, *, exception_days: list[date] | None = None,
    now: datetime, override_reason: str | None = None,
) -> tuple[ActivitySeries, list[SaveResult]]:
    """Create a series from the first occurrence's input and materialise every occurrence as a draft."""
    check_times(data.starts_at, data.ends_at)
    first = to_local(data.starts_at).replace(tzinfo=None)
    duration = data.ends_at - data.starts_at
    exdates = exdate_keys(exception_days or [], first.time())
    starts = expand(rule_value, first, exdates)
    series = ActivitySeries(
        # DTSTART is the rule's first date (a start the rule does not give is undefined in RFC 5545).
        rrule=rule_text(normalise_rule(rule_value)), dtstart=local_to_utc(expand(rule_value, first, [])[0]),
        duration_minutes=int(duration.total_seconds() // 60), exdates=exdates,
        created_at=now, updated_at=now,
    )
    if series.duration_minutes <= 0:
        raise ValidationFailed(_("The end must be after the start."), "ends_at")
    db.session.add(series)
    db.session.flush()
    results = _materialise(series, data, starts, now=now, override_reason=override_reason)
    record(series, "create", {"rrule": [None, series.rrule], "exdates": [None, exdates]}, now=now)
    return series, results


def _materialise(
    series: ActivitySeries, data: ActivityInput, starts: list[datetime], *, now: datetime,
    override_reason: str | None, status: ActivityStatus = ActivityStatus.draft,
) -> list[SaveResult]:
    duration = timedelta(minutes=series.duration_minutes)
    results = []
    for start in starts:
        starts_at = local_to_utc(start)
        occurrence = replace(data, starts_at=starts_at, ends_at=starts_at + duration, cohost_ids=list(data.cohost_ids),
                             answer_deadline=deadline_for(data, starts_at))
        result = create_activity(
            occurrence, now=now, override_reason=override_reason, series=series, recurrence_id=starts_at
        )
        if status == ActivityStatus.published:
            publish_activity(result.activity, now=now)
        results.append(result)
    return results


def occurrences(series: ActivitySeries) -> list[Activity]:
    """The series' activities in order."""
    return list(
        db.session.scalars(
            select(Activity).where(Activity.series_id == series.id).order_by(Activity.recurrence_id)
        )
    )


def local_dtstart(series: ActivitySeries) -> datetime:
    """The series' first start as naive display-zone wall time."""
    return to_local(series.dtstart).replace(tzinfo=None)


def cancel_occurrence(activity: Activity, *, reason: str, now: datetime) -> Activity:
    """Cancel one occurrence: it becomes an exception (EXDATE) of its series and stays cancelled."""
    if activity.series is None or activity.recurrence_id is None:
        raise ValidationFailed(_("This activity is not part of a series."))
    series = lock_series(activity.series)  # its exceptions change: series first, then the occurrence
    cancel_activity(activity, reason=reason, now=now)
    key = to_local(activity.recurrence_id).strftime(LOCAL_FORMAT)
    if key not in series.exdates:
        series.exdates = sorted([*series.exdates, key])
        series.updated_at = now
        record(series, "exception", {"exdates": [None, key]}, now=now)
    db.session.flush()
    return activity


def publish_series(series: ActivitySeries, *, now: datetime) -> int:
    """Publish every draft occurrence; return how many."""
    lock_series(series)
    count = 0
    for activity in occurrences(series):
        if activity.status == ActivityStatus.draft:
            publish_activity(activity, now=now)
            count += 1
    return count


def split_series(
    activity: Activity, data: ActivityInput, *, rule_value: str | None = None, now: datetime,
    override_reason: str | None = None,
) -> tuple[ActivitySeries, list[SaveResult]]:
    """Edit this and following occurrences: the old series ends before this one, a new one starts here.

    Following occurrences on the same local day keep their row (and their invitations) and take the
    new values; old ones the new rule no longer gives are cancelled (drafts deleted); new dates are
    created with the status of the edited occurrence.
    """
    if activity.series is None or activity.recurrence_id is None:
        raise ValidationFailed(_("This activity is not part of a series."))
    old = lock_series(activity.series)
    activity = lock_activity(activity)
    if activity.status not in (ActivityStatus.draft, ActivityStatus.published):
        raise ValidationFailed(_("A cancelled or completed activity can no longer be changed."))
    check_times(data.starts_at, data.ends_at)
    cut = to_local(activity.recurrence_id).replace(tzinfo=None)
    old_rule = normalise_rule(old.rrule)
    new_rule = normalise_rule(rule_value) if rule_value else dict(old_rule)
    old_starts_all = expand(old.rrule, local_dtstart(old), [])
    if not rule_value and "COUNT" in old_rule:
        before = len([s for s in old_starts_all if s < cut])
        new_rule["COUNT"] = [int(old_rule["COUNT"][0]) - before]
    first = to_local(data.starts_at).replace(tzinfo=None)
    duration_minutes = int((data.ends_at - data.starts_at).total_seconds() // 60)
    exdates = [key for key in old.exdates if key >= first.strftime(LOCAL_FORMAT)] if not rule_value else []
    new_starts = expand(rule_text(new_rule), first, exdates)
    # The old series now ends just before the edited occurrence.
    truncated = {k: v for k, v in old_rule.items() if k != "COUNT"}
    truncated["UNTIL"] = [(cut - timedelta(seconds=1)).replace(tzinfo=display_zone()).astimezone(UTC)]
    new = ActivitySeries(
        rrule=rule_text(new_rule), dtstart=local_to_utc(expand(rule_text(new_rule), first, [])[0]),
        duration_minutes=duration_minutes,
        exdates=exdates, parent_id=old.id, created_at=now, updated_at=now,
    )
    db.session.add(new)
    db.session.flush()
    record(old, "split", {"rrule": [old.rrule, rule_text(truncated)]}, note=f"→ {new.id}", now=now)
    old.rrule = rule_text(truncated)
    old.exdates = [key for key in old.exdates if key < cut.strftime(LOCAL_FORMAT)]
    old.updated_at = now
    record(new, "create", {"rrule": [None, new.rrule], "exdates": [None, exdates]}, now=now)
    following = [a for a in occurrences(old) if a.recurrence_id >= activity.recurrence_id]
    by_day = {to_local(a.recurrence_id).date(): a for a in following if a.status != ActivityStatus.cancelled}
    duration = timedelta(minutes=duration_minutes)
    status = activity.status if activity.status in (ActivityStatus.draft, ActivityStatus.published) else ActivityStatus.draft
    results: list[SaveResult] = []
    missing: list[datetime] = []
    for start in new_starts:
        row = by_day.pop(start.date(), None)
        if row is None:
            missing.append(start)
            continue
        starts_at = local_to_utc(start)
        values = replace(data, starts_at=starts_at, ends_at=starts_at + duration, cohost_ids=list(data.cohost_ids),
                         answer_deadline=deadline_for(data, starts_at))
        row.series, row.recurrence_id = new, starts_at
        results.append(update_activity(row, values, now=now, override_reason=override_reason, action="update_following"))
    results += _materialise(new, data, missing, now=now, override_reason=override_reason, status=status)
    for row in by_day.values():
        if row.status == ActivityStatus.draft:
            record(row, "delete", {"series_id": [old.id, None]}, now=now)
            db.session.delete(row)
        else:
            row.series = new
            cancel_activity(row, reason=_("No longer part of the series."), now=now)
    for row in following:
        if row.status == ActivityStatus.cancelled and row.series is old:
            row.series = new
    db.session.flush()
    if not occurrences(old):
        # Edited from the first occurrence on: the new series simply replaces the old one.
        new.parent_id = None
        record(old, "delete", {"rrule": [old.rrule, None]}, note=f"→ {new.id}", now=now)
        db.session.flush()
        db.session.delete(old)
        db.session.flush()
    return new, sorted(results, key=lambda r: r.activity.starts_at)


def edit_occurrence(activity: Activity, data: ActivityInput, *, now: datetime, override_reason: str | None = None) -> SaveResult:
    """Edit one occurrence only; it keeps its series and RECURRENCE-ID."""
    return update_activity(activity, data, now=now, override_reason=override_reason)


def to_vevent(series: ActivitySeries, uid: str, summary: str) -> Event:
    """The series as one VEVENT with RRULE and EXDATE (Asia/Shanghai), for export and checks."""
    zone = display_zone()
    start = to_local(series.dtstart)
    event = Event()
    event.add("uid", uid)
    event.add("summary", summary)
    event.add("dtstamp", series.updated_at)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=series.duration_minutes))
    rule = dict(normalise_rule(series.rrule))
    if "UNTIL" in rule:
        rule["UNTIL"] = [
            _local_until(rule["UNTIL"][0]).replace(tzinfo=zone).astimezone(UTC)
        ]
    event.add("rrule", rule)
    for key in series.exdates:
        event.add("exdate", datetime.strptime(key, LOCAL_FORMAT).replace(tzinfo=zone))
    return event


__all__ = [
    "cancel_occurrence",
    "create_series",
    "describe",
    "edit_occurrence",
    "expand",
    "input_of",
    "occurrences",
    "publish_series",
    "split_series",
    "to_vevent",
]


WEEKDAYS = {"MO": _l("Mon"), "TU": _l("Tue"), "WE": _l("Wed"), "TH": _l("Thu"), "FR": _l("Fri"), "SA": _l("Sat"), "SU": _l("Sun")}


def describe(rule_value: str) -> str:
    """The rule in words for the common cases (weekly on days, monthly on the n-th weekday…), else as written."""
    try:
        rule = normalise_rule(rule_value)
    except ValidationFailed:
        return rule_value
    freq = rule["FREQ"][0]
    interval = int(rule.get("INTERVAL", [1])[0])
    days = [str(d) for d in rule.get("BYDAY", [])]
    names = join_list([str(WEEKDAYS.get(d[-2:], d)) for d in days])
    text = None
    if freq == "DAILY" and not days:
        text = _("Every day") if interval == 1 else _("Every %(n)d days", n=interval)
    elif freq == "WEEKLY" and days and all(d in WEEKDAYS for d in days):
        text = _("Every week on %(days)s", days=names) if interval == 1 else _("Every %(n)d weeks on %(days)s", n=interval, days=names)
    elif freq == "MONTHLY" and interval == 1 and len(days) == 1 and days[0][:-2].lstrip("+-").isdigit():
        n, day = int(days[0][:-2]), str(WEEKDAYS.get(days[0][-2:], days[0]))
        text = _("Every month, last %(day)s", day=day) if n == -1 else _("Every month, %(day)s no. %(n)d", day=day, n=n)
    elif freq == "MONTHLY" and interval == 1 and not days and len(rule.get("BYMONTHDAY", [])) == 1:
        text = _("Every month on day %(n)d", n=int(rule["BYMONTHDAY"][0]))
    if text is None:
        return rule_text(rule)
    if "COUNT" in rule:
        return _("%(rule)s, %(end)s", rule=text, end=_("%(n)d times", n=int(rule["COUNT"][0])))
    until = _local_until(rule["UNTIL"][0])
    return _("%(rule)s, %(end)s", rule=text, end=_("until %(date)s", date=format_day(until.date())))
