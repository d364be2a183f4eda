"""The dashboard's ledger figures counted straight from the problems (COUNT / SUM of CASE).

The reference the summaries must equal, the path for filters the summaries do not cover (one
enterprise, a theme, a status, a search…), and the counter of the days at the edges of a period
that does not start or end on a month boundary.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import case, distinct, func, or_, select

from app.core.clock import display_zone
from app.extensions import db
from app.orgs.models import Organisation
from app.problems.models import (
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    Problem,
    ProblemCategory,
    Satisfaction,
)
from app.problems.queries import LedgerFilter
from app.stats.models import MEASURES, NO_DEPARTMENT


def count_if(condition):
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), 0 on no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def where(filters: LedgerFilter, scope) -> list:
    """The WHERE clauses of the filters and the account's scope."""
    clauses = filters.problem_clauses()
    return clauses if scope is None else [*clauses, scope]


def _resolved():
    return Problem.status.in_(RESOLVED_STATUSES)


def measure_columns() -> list:
    """The SQL of each roll-up measure (MEASURES, in order) over Problem."""
    resolved = _resolved()
    return [
        func.count(Problem.id),
        count_if(resolved),
        count_if(resolved & Problem.resolved_on_site.is_(True)),
        count_if(resolved & or_(Problem.deadline.is_(None), Problem.resolved_on <= Problem.deadline)),
        count_if(Problem.satisfaction.is_not(None)),
        count_if(Problem.satisfaction.in_([Satisfaction.satisfied, Satisfaction.basically])),
        count_if(Problem.status.in_(OPEN_STATUSES) & Problem.deadline.is_not(None)),
        count_if(resolved & (Problem.category == ProblemCategory.dispute)),
        func.coalesce(func.sum(Problem.loan_amount_wan), 0),
    ]


def month_expression():
    """The display-zone year-month of raised_at, as 'YYYY-MM' (SQLite: China has no DST, UTC+8)."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone(display_zone().key, Problem.raised_at), "YYYY-MM")
    return func.strftime("%Y-%m", Problem.raised_at, "+8 hours")


GROUPS = {
    None: lambda: [],
    "month": lambda: [month_expression()],
    "department": lambda: [func.coalesce(Problem.department_id, NO_DEPARTMENT)],
    "category": lambda: [Problem.category],
}


def grouped(clauses: list, group: str | None) -> dict:
    """{group value (None when ungrouped): {measure: value}} of the problems matching the clauses."""
    keys = GROUPS[group]()
    rows = db.session.execute(select(*keys, *measure_columns()).where(*clauses).group_by(*keys)).all()
    result = {}
    for row in rows:
        key = row[0] if keys else None
        values = dict(zip(MEASURES, row[len(keys):], strict=True))
        if not values["collected"]:
            continue
        values["loans_cents"] = int((Decimal(values["loans_cents"]) * 100).to_integral_value())
        result[ProblemCategory(key) if group == "category" else key] = {k: int(v) for k, v in values.items()}
    return result


def not_yet_due(clauses: list, today: date, by_department: bool = False) -> dict:
    """Open problems whose deadline is today or later (per department id, or under None).

    Only the live window of deadlines is read (the (status, deadline) index), not the history.
    """
    keys = [func.coalesce(Problem.department_id, NO_DEPARTMENT)] if by_department else []
    rows = db.session.execute(
        select(*keys, func.count(Problem.id))
        .where(*clauses, Problem.status.in_(OPEN_STATUSES), Problem.deadline >= today)
        .group_by(*keys)
    ).all()
    return {(row[0] if keys else None): int(row[-1]) for row in rows}


def distinct_enterprises(clauses: list) -> tuple[int, int]:
    """Enterprises with a problem, and with a problem carrying a loan."""
    row = db.session.execute(
        select(
            func.count(distinct(Problem.enterprise_id)),
            func.count(distinct(case((Problem.loan_amount_wan > 0, Problem.enterprise_id)))),
        ).where(*clauses)
    ).one()
    return int(row[0]), int(row[1])


def problem_figures(filters: LedgerFilter, today: date, scope=None) -> dict[str, int | Decimal]:
    """One aggregate query over the ledger."""
    resolved = _resolved()
    row = db.session.execute(
        select(
            func.count(Problem.id).label("collected"),
            count_if(resolved).label("resolved"),
            count_if(resolved & Problem.resolved_on_site.is_(True)).label("on_site"),
            count_if(resolved & or_(Problem.deadline.is_(None), Problem.resolved_on <= Problem.deadline)).label("on_time"),
            count_if(Problem.satisfaction.is_not(None)).label("rated"),
            count_if(Problem.satisfaction.in_([Satisfaction.satisfied, Satisfaction.basically])).label("satisfied"),
            count_if(Problem.status.in_(OPEN_STATUSES) & (Problem.deadline < today)).label("overdue"),
            func.count(distinct(Problem.enterprise_id)).label("enterprises"),
            func.coalesce(func.sum(Problem.loan_amount_wan), 0).label("loans_wan"),
            func.count(distinct(case((Problem.loan_amount_wan > 0, Problem.enterprise_id)))).label("loan_enterprises"),
            count_if(resolved & (Problem.category == ProblemCategory.dispute)).label("disputes"),
        ).where(*where(filters, scope))
    ).one()
    return dict(row._mapping)


def monthly_trend(filters: LedgerFilter, scope=None) -> list[tuple[str, int, int]]:
    """(month, collected, resolved) per month, oldest first."""
    month = month_expression().label("month")
    rows = db.session.execute(
        select(month, func.count(Problem.id), count_if(_resolved()))
        .where(*where(filters, scope))
        .group_by(month)
        .order_by(month)
    ).all()
    return [(m, int(c), int(r)) for m, c, r in rows]


def department_order(rows: list[tuple[str, int, int, int]]) -> list[tuple[str, int, int, int]]:
    """Most problems first, then by name (the same order whichever way the figures were counted)."""
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def by_department(filters: LedgerFilter, today: date, scope=None) -> list[tuple[str, int, int, int]]:
    """(department, assigned, resolved, overdue) per department, most problems first."""
    name = func.coalesce(Organisation.short_name, Organisation.name)
    rows = db.session.execute(
        select(
            name,
            func.count(Problem.id),
            count_if(_resolved()),
            count_if(Problem.status.in_(OPEN_STATUSES) & (Problem.deadline < today)),
        )
        .join(Organisation, Organisation.id == Problem.department_id)
        .where(*where(filters, scope))
        .group_by(Organisation.id, name)
    ).all()
    return department_order([(n, int(a), int(r), int(o)) for n, a, r, o in rows])


def category_order(rows: list[tuple[ProblemCategory, int, int]]) -> list[tuple[ProblemCategory, int, int]]:
    """Most problems first, then in the categories' own order."""
    order = list(ProblemCategory)
    return sorted(rows, key=lambda row: (-row[1], order.index(row[0])))


def by_category(filters: LedgerFilter, scope=None) -> list[tuple[ProblemCategory, int, int]]:
    """(category, collected, resolved) per category, most problems first."""
    rows = db.session.execute(
        select(Problem.category, func.count(Problem.id), count_if(_resolved()))
        .where(*where(filters, scope))
        .group_by(Problem.category)
    ).all()
    return category_order([(ProblemCategory(c), int(n), int(r)) for c, n, r in rows])
