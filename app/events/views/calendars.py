"""The calendar views of activities: month grid, week (a time grid; a list on phones), agenda."""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from app.auth.access import any_role
from app.auth.models import Role
from app.core.clock import local_day_bounds, local_today, to_local
from app.events.models import ACTIVITY_KIND_LABELS, ACTIVITY_STATUS_LABELS, Activity, MonthlyTheme
from app.events.queries import FILTERS, in_range
from app.events.views.blueprint import bp
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import organisations_of_kind


def _filter_options() -> dict:
    return {
        "kinds": ACTIVITY_KIND_LABELS,
        "statuses": ACTIVITY_STATUS_LABELS,
        "alliances": organisations_of_kind(OrgKind.alliance),
        "themes": db.session.scalars(select(MonthlyTheme).order_by(MonthlyTheme.year.desc(), MonthlyTheme.month)).all(),
        # Departments and alliances; an enterprise's activities are filtered from a link (?organisation=id).
        "organisations": organisations_of_kind(OrgKind.department, OrgKind.alliance)
        if current_user.is_staff or current_user.role == Role.liaison else [],
        "filter_args": {k: v for k, v in request.args.items() if k in FILTERS and v},
    }


def _by_day(activities: list[Activity]) -> dict:
    days: dict = {}
    for a in activities:
        first, last = to_local(a.starts_at).date(), to_local(a.ends_at - timedelta(seconds=1)).date()
        day = first
        while day <= last:
            days.setdefault(day, []).append(a)
            day += timedelta(days=1)
    return days


SLOTS_PER_HOUR = 2  # the week grid's rows are half hours
DAY_HOURS = (8, 18)  # always shown; the grid grows to fit earlier or later activities


@dataclass(frozen=True)
class Placed:
    """An activity's block in the week grid: its day column and its rows (1-based, end exclusive)."""

    activity: Activity
    column: int
    row_start: int
    row_end: int


def _slot(moment: datetime, day: date) -> float:
    """Hours since the day's local midnight (clipped to the day)."""
    local = to_local(moment)
    if local.date() < day:
        return 0.0
    if local.date() > day:
        return 24.0
    return local.hour + local.minute / 60


def week_grid(week: list[date], days: dict) -> tuple[list[int], list[Placed]]:
    """The hours the week grid shows and each activity's block in it (hours × days)."""
    spans = []
    for column, day in enumerate(week):
        for activity in days.get(day, []):
            start, end = _slot(activity.starts_at, day), _slot(activity.ends_at, day)
            spans.append((activity, column, start, max(end, start + 0.5)))
    first = min([DAY_HOURS[0]] + [int(start) for _a, _c, start, _e in spans])
    last = max([DAY_HOURS[1]] + [math.ceil(end) for _a, _c, _s, end in spans])
    placed = [
        Placed(activity, column + 2, int((start - first) * SLOTS_PER_HOUR) + 2, max(int(math.ceil((end - first) * SLOTS_PER_HOUR)) + 2, int((start - first) * SLOTS_PER_HOUR) + 3))
        for activity, column, start, end in spans
    ]
    return list(range(first, min(last, 24))), placed


def _day_arg(name: str, default: date) -> date:
    try:
        value = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default
    if not 2000 <= value.year <= 2100:
        abort(404)
    return value


@bp.get("/calendar")
@any_role
def calendar_month():
    """A month grid of the activities this account may see."""
    today = local_today()
    year = request.args.get("year", type=int) or today.year
    month = request.args.get("month", type=int) or today.month
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        abort(404)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    starts, _end = local_day_bounds(weeks[0][0])
    _start, ends = local_day_bounds(weeks[-1][-1])
    activities = in_range(current_user, starts, ends, request.args)
    previous = date(year, month, 1) - timedelta(days=1)
    following = date(year, month, 28) + timedelta(days=7)
    return render_template(
        "events/calendar_month.html", year=year, month=month, weeks=weeks, days=_by_day(activities),
        today=today, previous=previous, following=following, view="month", **_filter_options(),
    )


@bp.get("/calendar/week")
@any_role
def calendar_week():
    """One week, day by day."""
    day = _day_arg("day", local_today())
    monday = day - timedelta(days=day.weekday())
    starts, _end = local_day_bounds(monday)
    _start, ends = local_day_bounds(monday + timedelta(days=6))
    activities = in_range(current_user, starts, ends, request.args)
    week = [monday + timedelta(days=i) for i in range(7)]
    days = _by_day(activities)
    hours, placed = week_grid(week, days)
    return render_template(
        "events/calendar_week.html", week=week, days=days, hours=hours, placed=placed, slots_per_hour=SLOTS_PER_HOUR, today=local_today(),
        previous=monday - timedelta(days=7), following=monday + timedelta(days=7), view="week",
        **_filter_options(),
    )


@bp.get("/calendar/agenda")
@any_role
def calendar_agenda():
    """A list of the coming activities (60 days from a date)."""
    day = _day_arg("day", local_today())
    starts, _end = local_day_bounds(day)
    _start, ends = local_day_bounds(day + timedelta(days=59))
    activities = in_range(current_user, starts, ends, request.args)
    return render_template(
        "events/calendar_agenda.html", start=day, days=_by_day(activities), today=local_today(),
        previous=day - timedelta(days=60), following=day + timedelta(days=60), view="agenda",
        **_filter_options(),
    )
