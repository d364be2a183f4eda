"""Dashboard figures: the ledger's from its summaries (or counted when they do not cover the
filters), activities and attendance by SQL aggregation; never by loading rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import case, exists, func, or_, select

from app.core.clock import local_day_bounds
from app.events.models import Activity, ActivityStatus, activity_cohost
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.orgs.models import AllianceMembership
from app.problems.models import (
    ActivityRecord,
    Outcome,
    OutcomeKind,
    Problem,
    ProblemCategory,
)
from app.problems.queries import LedgerFilter
from app.stats import recount, summaries


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


def problem_figures(filters: LedgerFilter, today: date, scope=None) -> dict[str, int | Decimal]:
    """The ledger's figures: from the summaries when they cover the filters, else counted."""
    if summaries.covers(filters, scope):
        return summaries.problem_figures(filters, today)
    return recount.problem_figures(filters, today, scope)


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


def monthly_trend(filters: LedgerFilter, scope=None) -> list[tuple[str, int, int]]:
    """(month, collected, resolved) per month, oldest first."""
    if summaries.covers(filters, scope):
        return summaries.monthly_trend(filters)
    return recount.monthly_trend(filters, scope)


def by_department(filters: LedgerFilter, today: date, scope=None) -> list[tuple[str, int, int, int]]:
    """(department, assigned, resolved, overdue) per department, most problems first."""
    if summaries.covers(filters, scope):
        return summaries.by_department(filters, today)
    return recount.by_department(filters, today, scope)


def by_category(filters: LedgerFilter, scope=None) -> list[tuple[ProblemCategory, int, int]]:
    """(category, collected, resolved) per category, most problems first."""
    if summaries.covers(filters, scope):
        return summaries.by_category(filters)
    return recount.by_category(filters, scope)


def enterprise_in_alliance(enterprise_id: int, alliance_id: int) -> bool:
    return db.session.scalar(
        select(AllianceMembership.id).where(AllianceMembership.alliance_id == alliance_id, AllianceMembership.enterprise_id == enterprise_id)
    ) is not None
