"""Which problems an account may see, and the ledger's filters as WHERE clauses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from app.auth.models import Role, User
from app.core.clock import local_day_bounds
from app.events.models import Activity
from app.orgs.models import AllianceMembership, InstructorAssignment
from app.problems.models import OPEN_STATUSES, Problem, ProblemCategory, ProblemStatus


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
    overdue_on: date | None = None  # only problems overdue on this day
    q: str | None = None

    def problem_clauses(self) -> list:
        """WHERE clauses on Problem for these filters."""
        clauses = []
        if self.start is not None:
            clauses.append(Problem.raised_at >= local_day_bounds(self.start)[0])
        if self.end is not None:
            clauses.append(Problem.raised_at < local_day_bounds(self.end)[1])
        if self.alliance_id is not None:
            clauses.append(
                Problem.enterprise_id.in_(
                    select(AllianceMembership.enterprise_id).where(
                        AllianceMembership.alliance_id == self.alliance_id
                    )
                )
            )
        if self.department_id is not None:
            clauses.append(Problem.department_id == self.department_id)
        if self.theme_id is not None:
            clauses.append(Problem.activity_id.in_(select(Activity.id).where(Activity.theme_id == self.theme_id)))
        if self.enterprise_id is not None:
            clauses.append(Problem.enterprise_id == self.enterprise_id)
        if self.activity_id is not None:
            clauses.append(Problem.activity_id == self.activity_id)
        if self.category is not None:
            clauses.append(Problem.category == self.category)
        if self.status is not None:
            clauses.append(Problem.status == self.status)
        if self.overdue_on is not None:
            clauses.append(Problem.status.in_(OPEN_STATUSES))
            clauses.append(Problem.deadline < self.overdue_on)
        if self.q:
            clauses.append(Problem.description.ilike(f"%{self.q}%"))
        return clauses


def visible_problems(user: User, filters: LedgerFilter | None = None):
    """A select() of the problems the account may see, with the filters applied."""
    statement = select(Problem)
    clause = problem_visibility(user)
    if clause is not None:
        statement = statement.where(clause)
    if filters is not None:
        statement = statement.where(*filters.problem_clauses())
    return statement
