"""Dashboard figures, all by SQL aggregation (COUNT / SUM of CASE), never by loading rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import case, distinct, exists, func, or_, select

from app.core.clock import local_day_bounds
from app.events.models import Activity, ActivityStatus, activity_cohost
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.orgs.models import AllianceMembership, Organisation
from app.problems.models import (
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    ActivityRecord,
    Outcome,
    OutcomeKind,
    Problem,
    ProblemCategory,
    Satisfaction,
)
from app.problems.queries import LedgerFilter


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


@dataclass
class Figures:
    """The dashboard's figures for one set of filters."""

    collected: int = 0
    resolved: int = 0
    on_site: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    overdue: int = 0
    enterprises: int = 0
    loans_wan: Decimal = Decimal(0)
    loan_enterprises: int = 0
    disputes_mediated: int = 0
    activities_held: int = 0
    expected: int = 0
    present: int = 0

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self.resolved, self.collected)

    @property
    def on_site_rate(self) -> float | None:
        return _rate(self.on_site, self.collected)

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.resolved)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied, self.rated)

    @property
    def attendance_rate(self) -> float | None:
        return _rate(self.present, self.expected)

    @property
    def loans_yi(self) -> Decimal:
        """Loans in 亿元 (1 亿 = 10,000 万)."""
        return (Decimal(self.loans_wan) / Decimal(10000)).quantize(Decimal("0.01"))


def _problem_where(filters: LedgerFilter, scope) -> list:
    clauses = filters.problem_clauses()
    return clauses if scope is None else [*clauses, scope]


def problem_figures(filters: LedgerFilter, today: date, scope=None) -> dict[str, int | Decimal]:
    """One aggregate query over the ledger."""
    resolved = Problem.status.in_(RESOLVED_STATUSES)
    row = db.session.execute(
        select(
            func.count(Problem.id).label("collected"),
            _count_if(resolved).label("resolved"),
            _count_if(resolved & Problem.resolved_on_site.is_(True)).label("on_site"),
            _count_if(resolved & or_(Problem.deadline.is_(None), Problem.resolved_on <= Problem.deadline)).label("on_time"),
            _count_if(Problem.satisfaction.is_not(None)).label("rated"),
            _count_if(Problem.satisfaction.in_([Satisfaction.satisfied, Satisfaction.basically])).label("satisfied"),
            _count_if(Problem.status.in_(OPEN_STATUSES) & (Problem.deadline < today)).label("overdue"),
            func.count(distinct(Problem.enterprise_id)).label("enterprises"),
            func.coalesce(func.sum(Problem.loan_amount_wan), 0).label("loans_wan"),
            func.count(distinct(case((Problem.loan_amount_wan > 0, Problem.enterprise_id)))).label("loan_enterprises"),
            _count_if(resolved & (Problem.category == ProblemCategory.dispute)).label("disputes"),
        ).where(*_problem_where(filters, scope))
    ).one()
    return dict(row._mapping)


def outcome_figures(filters: LedgerFilter) -> dict[str, int | Decimal]:
    """Batch loans and mediations recorded outside single problems (none for one enterprise)."""
    if filters.enterprise_id is not None or filters.category not in (None, ProblemCategory.financing, ProblemCategory.dispute):
        return {"loans_wan": Decimal(0), "loan_enterprises": 0, "cases": 0}
    clauses = []
    if filters.start is not None:
        clauses.append(Outcome.recorded_on >= filters.start)
    if filters.end is not None:
        clauses.append(Outcome.recorded_on <= filters.end)
    if filters.alliance_id is not None:
        clauses.append(Outcome.alliance_id == filters.alliance_id)
    if filters.department_id is not None:
        clauses.append(Outcome.department_id == filters.department_id)
    if filters.theme_id is not None:
        clauses.append(Outcome.activity_id.in_(select(Activity.id).where(Activity.theme_id == filters.theme_id)))
    if filters.activity_id is not None:
        clauses.append(Outcome.activity_id == filters.activity_id)
    is_loan = Outcome.kind == OutcomeKind.loan
    row = db.session.execute(
        select(
            func.coalesce(func.sum(case((is_loan, Outcome.amount_wan), else_=0)), 0).label("loans_wan"),
            func.coalesce(func.sum(case((is_loan, Outcome.enterprise_count), else_=0)), 0).label("loan_enterprises"),
            func.coalesce(func.sum(case((Outcome.kind == OutcomeKind.mediation, Outcome.cases), else_=0)), 0).label("cases"),
        ).where(*clauses)
    ).one()
    return dict(row._mapping)


def held_activities(filters: LedgerFilter, now: datetime):
    """A select() of the ids of activities held (completed, or past and not cancelled)."""
    statement = select(Activity.id).where(
        or_(
            Activity.status == ActivityStatus.completed,
            (Activity.status == ActivityStatus.published) & (Activity.ends_at < now),
        )
    )
    if filters.start is not None:
        statement = statement.where(Activity.starts_at >= local_day_bounds(filters.start)[0])
    if filters.end is not None:
        statement = statement.where(Activity.starts_at < local_day_bounds(filters.end)[1])
    if filters.alliance_id is not None:
        statement = statement.where(Activity.alliance_id == filters.alliance_id)
    if filters.theme_id is not None:
        statement = statement.where(Activity.theme_id == filters.theme_id)
    if filters.activity_id is not None:
        statement = statement.where(Activity.id == filters.activity_id)
    if filters.department_id is not None:
        statement = statement.where(
            or_(
                Activity.host_id == filters.department_id,
                exists().where(activity_cohost.c.activity_id == Activity.id, activity_cohost.c.organisation_id == filters.department_id),
            )
        )
    if filters.enterprise_id is not None:
        statement = statement.where(
            or_(
                Activity.site_id == filters.enterprise_id,
                exists().where(Problem.activity_id == Activity.id, Problem.enterprise_id == filters.enterprise_id),
            )
        )
    return statement


def attendance_from_records(activity_ids) -> tuple[int, int]:
    """Expected and present from the activity records (until check-in provides them)."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(ActivityRecord.expected), 0),
            func.coalesce(func.sum(ActivityRecord.present), 0),
        ).where(ActivityRecord.activity_id.in_(activity_ids), ActivityRecord.expected.is_not(None), ActivityRecord.present.is_not(None))
    ).one()
    return int(row[0]), int(row[1])


def attendance_from_check_in(activity_ids) -> tuple[int, int]:
    """Expected seats (accepted, not waitlisted, not walk-ins) and those of them that came, from
    the invitations' check-in: per activity the same as app.invitations.services.attendance_summary's
    `expected` and `expected - absent` (walk-ins and extra people do not raise the rate above
    100 %). Activities without invitations fall back to the numbers in their record."""
    expected_seat = (
        Invitation.is_walk_in.is_(False) & (Invitation.answer == Answer.accepted) & Invitation.waitlisted_at.is_(None)
    )
    came = func.coalesce(Invitation.checked_in_count, 0)
    row = db.session.execute(
        select(
            func.coalesce(func.sum(case((expected_seat, Invitation.seats), else_=0)), 0),
            func.coalesce(
                func.sum(case((expected_seat, case((came < Invitation.seats, came), else_=Invitation.seats)), else_=0)), 0
            ),
        ).where(Invitation.activity_id.in_(activity_ids))
    ).one()
    held = activity_ids.subquery()
    uninvited = select(held.c[0]).where(~exists().where(Invitation.activity_id == held.c[0]))
    expected, present = attendance_from_records(uninvited)
    return int(row[0]) + expected, int(row[1]) + present


# Pluggable (a test or a deployment may read the activity records instead); check-in by default.
attendance_source: Callable[[object], tuple[int, int]] = attendance_from_check_in


def figures(filters: LedgerFilter, now: datetime, today: date, scope=None) -> Figures:
    """Every dashboard figure for the filters (scope: the account's visibility clause)."""
    problems = problem_figures(filters, today, scope)
    outcomes = outcome_figures(filters)
    held = held_activities(filters, now)
    expected, present = attendance_source(held)
    return Figures(
        collected=int(problems["collected"]),
        resolved=int(problems["resolved"]),
        on_site=int(problems["on_site"]),
        on_time=int(problems["on_time"]),
        rated=int(problems["rated"]),
        satisfied=int(problems["satisfied"]),
        overdue=int(problems["overdue"]),
        enterprises=int(problems["enterprises"]),
        loans_wan=Decimal(problems["loans_wan"] or 0) + Decimal(outcomes["loans_wan"] or 0),
        loan_enterprises=int(problems["loan_enterprises"]) + int(outcomes["loan_enterprises"]),
        disputes_mediated=int(problems["disputes"]) + int(outcomes["cases"]),
        activities_held=int(db.session.scalar(select(func.count()).select_from(held.subquery())) or 0),
        expected=expected,
        present=present,
    )


def _month_expression():
    """The display-zone year-month of raised_at, as 'YYYY-MM' (China has no DST: UTC+8)."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", Problem.raised_at), "YYYY-MM")
    return func.strftime("%Y-%m", Problem.raised_at, "+8 hours")


def monthly_trend(filters: LedgerFilter, scope=None) -> list[tuple[str, int, int]]:
    """(month, collected, resolved) per month, oldest first."""
    month = _month_expression().label("month")
    rows = db.session.execute(
        select(month, func.count(Problem.id), _count_if(Problem.status.in_(RESOLVED_STATUSES)))
        .where(*_problem_where(filters, scope))
        .group_by(month)
        .order_by(month)
    ).all()
    return [(m, int(c), int(r)) for m, c, r in rows]


def by_department(filters: LedgerFilter, today: date, scope=None) -> list[tuple[str, int, int, int]]:
    """(department, assigned, resolved, overdue) per department, most problems first."""
    resolved = Problem.status.in_(RESOLVED_STATUSES)
    name = func.coalesce(Organisation.short_name, Organisation.name)
    rows = db.session.execute(
        select(
            name,
            func.count(Problem.id),
            _count_if(resolved),
            _count_if(Problem.status.in_(OPEN_STATUSES) & (Problem.deadline < today)),
        )
        .join(Organisation, Organisation.id == Problem.department_id)
        .where(*_problem_where(filters, scope))
        .group_by(Organisation.id, name)
        .order_by(func.count(Problem.id).desc(), name)
    ).all()
    return [(n, int(a), int(r), int(o)) for n, a, r, o in rows]


def by_category(filters: LedgerFilter, scope=None) -> list[tuple[ProblemCategory, int, int]]:
    """(category, collected, resolved) per category, most problems first."""
    rows = db.session.execute(
        select(Problem.category, func.count(Problem.id), _count_if(Problem.status.in_(RESOLVED_STATUSES)))
        .where(*_problem_where(filters, scope))
        .group_by(Problem.category)
        .order_by(func.count(Problem.id).desc())
    ).all()
    return [(c, int(n), int(r)) for c, n, r in rows]


def enterprise_in_alliance(enterprise_id: int, alliance_id: int) -> bool:
    return db.session.scalar(
        select(AllianceMembership.id).where(AllianceMembership.alliance_id == alliance_id, AllianceMembership.enterprise_id == enterprise_id)
    ) is not None
