"""Which problems an account may see, and the ledger's filters as WHERE clauses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select

from app.auth.models import Role, User
from app.core.clock import local_day_bounds
from app.events.models import Activity
from app.orgs.models import AllianceMembership, InstructorAssignment
from app.problems.models import (
    OPEN_STATUSES,
    Problem,
    ProblemCategory,
    ProblemSource,
    ProblemStatus,
)


def problem_visibility(user: User):
    """A WHERE clause limiting problems to those the account may see (None: everything)."""
    if user.role in (Role.admin, Role.organiser):
        return None
    org_id = user.organisation_id
    if user.role == Role.contact:
        return Problem.enterprise_id == org_id
    if user.role == Role.liaison:
        return Problem.department_id == org_id
    if user.role == Role.instructor:
        return or_(
            Problem.recorded_by_id == user.person_id,
            Problem.raised_by_id == user.person_id,
            Problem.enterprise_id.in_(
                select(InstructorAssignment.enterprise_id).where(
                    InstructorAssignment.instructor_id == user.person_id
                )
            ),
            Problem.activity_id.in_(select(Activity.id).where(Activity.organiser_id == user.person_id)),
        )
    return Problem.id.is_(None)


@dataclass
class LedgerFilter:
    """The ledger's and dashboard's filters; None means any."""

    start: date | None = None
    end: date | None = None  # inclusive
    alliance_id: int | None = None
    department_id: int | None = None
    theme_id: int | None = None
    enterprise_id: int | None = None
    activity_id: int | None = None
    category: ProblemCategory | None = None
    status: ProblemStatus | None = None
    source: ProblemSource | None = None
    overdue_on: date | None = None  # only problems overdue on this day
    q: str | None = None

    def problem_clauses(self) -> list:
        """WHERE clauses on Problem for these filters."""
        return [clause(value) for value, clause in self._clauses() if value is not None]

    def _clauses(self) -> list[tuple[object, Callable[[Any], Any]]]:
        # (filter value, the clause it gives); a None value is no filter.
        return [
            (self.start, lambda day: Problem.raised_at >= local_day_bounds(day)[0]),
            (self.end, lambda day: Problem.raised_at < local_day_bounds(day)[1]),
            (self.alliance_id, lambda alliance_id: Problem.enterprise_id.in_(
                select(AllianceMembership.enterprise_id).where(AllianceMembership.alliance_id == alliance_id)
            )),
            (self.department_id, lambda department_id: Problem.department_id == department_id),
            (self.theme_id, lambda theme_id: Problem.activity_id.in_(select(Activity.id).where(Activity.theme_id == theme_id))),
            (self.enterprise_id, lambda enterprise_id: Problem.enterprise_id == enterprise_id),
            (self.activity_id, lambda activity_id: Problem.activity_id == activity_id),
            (self.category, lambda category: Problem.category == category),
            (self.status, lambda status: Problem.status == status),
            (self.source, lambda source: Problem.source == source),
            (self.overdue_on, lambda day: and_(Problem.status.in_(OPEN_STATUSES), Problem.deadline < day)),
            (self.q or None, lambda q: Problem.description.ilike(f"%{q}%")),
        ]


def visible_problems(user: User, filters: LedgerFilter | None = None):
    """A select() of the problems the account may see, with the filters applied."""
    statement = select(Problem)
    clause = problem_visibility(user)
    if clause is not None:
        statement = statement.where(clause)
    if filters is not None:
        statement = statement.where(*filters.problem_clauses())
    return statement
