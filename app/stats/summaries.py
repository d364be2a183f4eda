"""The dashboard's ledger figures read from the summaries instead of the problems.

A period is read as whole months from the monthly roll-up plus, when it starts or ends inside a
month, the days at its edges counted from the ledger. "Overdue" depends on today, so the roll-up
keeps the open problems with a deadline and the ledger gives those whose deadline has not passed
yet (only the live window of deadlines, through the (status, deadline) index). Distinct
enterprises come from the per-year tallies when the filter is exactly a calendar year (or all
time); narrower filters count them from the ledger's (smaller) matching rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.orgs.models import Organisation
from app.problems.models import ProblemCategory
from app.problems.queries import LedgerFilter
from app.stats import recount
from app.stats.models import (
    ALL_TIME,
    MEASURES,
    NO_DEPARTMENT,
    AllianceRollup,
    EnterpriseCount,
    LedgerRollup,
)


def covers(filters: LedgerFilter, scope) -> bool:
    """True when the summaries can answer: the whole county, by period, alliance, department, category."""
    narrower = (filters.theme_id, filters.enterprise_id, filters.activity_id, filters.status, filters.overdue_on, filters.q)
    return scope is None and all(value is None or value == "" for value in narrower)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


@dataclass
class Period:
    """Whole months (inclusive, None: unbounded) and the days at the edges, (start, end) inclusive."""

    first: str | None = None
    last: str | None = None
    whole_months: bool = True
    edges: list[tuple[date | None, date | None]] = field(default_factory=list)


def split(start: date | None, end: date | None) -> Period:
    """The filter's period as whole months and edge days."""
    first_day = None if start is None else (start if start.day == 1 else _month_end(start) + timedelta(days=1))
    last_day = None if end is None else (end if end == _month_end(end) else end.replace(day=1) - timedelta(days=1))
    if first_day is not None and last_day is not None and first_day > last_day:
        return Period(whole_months=False, edges=[] if start > end else [(start, end)])
    period = Period(first=_month(first_day) if first_day else None, last=_month(last_day) if last_day else None)
    if start is not None and start < first_day:
        period.edges.append((start, first_day - timedelta(days=1)))
    if end is not None and end > last_day:
        period.edges.append((last_day + timedelta(days=1), end))
    return period


def _rollup(filters: LedgerFilter, period: Period, group: str | None) -> dict:
    model = AllianceRollup if filters.alliance_id is not None else LedgerRollup
    clauses = []
    if filters.alliance_id is not None:
        clauses.append(AllianceRollup.alliance_id == filters.alliance_id)
    if period.first is not None:
        clauses.append(model.month >= period.first)
    if period.last is not None:
        clauses.append(model.month <= period.last)
    if filters.department_id is not None:
        clauses.append(model.department_id == filters.department_id)
    if filters.category is not None:
        clauses.append(model.category == ProblemCategory(filters.category).value)
    keys = {None: [], "month": [model.month], "department": [model.department_id], "category": [model.category]}[group]
    sums = [func.coalesce(func.sum(getattr(model, name)), 0) for name in MEASURES]
    rows = db.session.execute(select(*keys, *sums).where(*clauses).group_by(*keys)).all()
    result = {}
    for row in rows:
        key = row[0] if keys else None
        result[ProblemCategory(key) if group == "category" else key] = dict(zip(MEASURES, (int(v) for v in row[len(keys):]), strict=True))
    return result


def _edge_filter(filters: LedgerFilter, start: date | None, end: date | None) -> LedgerFilter:
    return LedgerFilter(start=start, end=end, alliance_id=filters.alliance_id, department_id=filters.department_id, category=filters.category)


def grouped(filters: LedgerFilter, group: str | None) -> dict:
    """{group value: {measure: value}} for the filters: whole months from the roll-up, edges counted."""
    period = split(filters.start, filters.end)
    parts = [_rollup(filters, period, group)] if period.whole_months else []
    parts += [recount.grouped(_edge_filter(filters, start, end).problem_clauses(), group) for start, end in period.edges]
    total: dict = {}
    for part in parts:
        for key, values in part.items():
            into = total.setdefault(key, dict.fromkeys(MEASURES, 0))
            for name, value in values.items():
                into[name] += value
    return {key: values for key, values in total.items() if values["collected"]}


def _tally_year(filters: LedgerFilter) -> int | None:
    """The tally that answers the distinct counts, if any: a calendar year, or all time."""
    if filters.alliance_id is not None or filters.department_id is not None or filters.category is not None:
        return None
    if filters.start is None and filters.end is None:
        return ALL_TIME
    whole_year = filters.start is not None and filters.end is not None and filters.start.year == filters.end.year
    if whole_year and (filters.start.month, filters.start.day, filters.end.month, filters.end.day) == (1, 1, 12, 31):
        return filters.start.year
    return None


def distinct_enterprises(filters: LedgerFilter) -> tuple[int, int]:
    """Enterprises with a problem and with a loan, for the filters."""
    year = _tally_year(filters)
    if year is None:
        return recount.distinct_enterprises(filters.problem_clauses())
    row = db.session.execute(
        select(func.coalesce(func.sum(EnterpriseCount.enterprises), 0), func.coalesce(func.sum(EnterpriseCount.loan_enterprises), 0))
        .where(EnterpriseCount.year == year)
    ).one()
    return int(row[0]), int(row[1])


def problem_figures(filters: LedgerFilter, today: date) -> dict[str, int | Decimal]:
    """The same figures as recount.problem_figures, from the summaries."""
    values = grouped(filters, None).get(None, dict.fromkeys(MEASURES, 0))
    waiting = sum(recount.not_yet_due(filters.problem_clauses(), today).values())
    enterprises, loan_enterprises = distinct_enterprises(filters)
    return {
        "collected": values["collected"], "resolved": values["resolved"], "on_site": values["on_site"],
        "on_time": values["on_time"], "rated": values["rated"], "satisfied": values["satisfied"],
        "overdue": values["open_due"] - waiting, "enterprises": enterprises,
        "loans_wan": Decimal(values["loans_cents"]) / 100, "loan_enterprises": loan_enterprises,
        "disputes": values["disputes"],
    }


def monthly_trend(filters: LedgerFilter) -> list[tuple[str, int, int]]:
    """(month, collected, resolved) per month, oldest first."""
    return sorted((month, v["collected"], v["resolved"]) for month, v in grouped(filters, "month").items())


def by_department(filters: LedgerFilter, today: date) -> list[tuple[str, int, int, int]]:
    """(department, assigned, resolved, overdue) per department, most problems first."""
    per_department = {k: v for k, v in grouped(filters, "department").items() if k != NO_DEPARTMENT}
    if not per_department:
        return []
    waiting = recount.not_yet_due(filters.problem_clauses(), today, by_department=True)
    names = dict(
        db.session.execute(
            select(Organisation.id, func.coalesce(Organisation.short_name, Organisation.name)).where(Organisation.id.in_(per_department))
        ).all()
    )
    rows = [
        (names[key], v["collected"], v["resolved"], v["open_due"] - waiting.get(key, 0))
        for key, v in per_department.items() if key in names
    ]
    return recount.department_order(rows)


def by_category(filters: LedgerFilter) -> list[tuple[ProblemCategory, int, int]]:
    """(category, collected, resolved) per category, most problems first."""
    return recount.category_order([(key, v["collected"], v["resolved"]) for key, v in grouped(filters, "category").items()])
