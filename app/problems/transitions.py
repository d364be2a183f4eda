"""The ledger's state machine: who may take which step, and each step, safe under concurrency.

Every step locks the problem's row (SELECT … FOR UPDATE; on SQLite a no-op write that takes the
database's write lock), reads it again and only then checks that the step still applies. A
request that lost the race — the problem was handled by someone else since the page was shown —
gets `ConcurrentChange` and writes nothing; the step history and the status therefore always
agree. Every function flushes and never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from app.audit.services import record
from app.auth.models import Role, User
from app.core.errors import ConcurrentChange, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation, OrgKind, Person
from app.problems.deadlines import default_deadline, local_date
from app.problems.models import (
    ExtensionState,
    Problem,
    ProblemCategory,
    ProblemStatus,
    ProblemStep,
    Satisfaction,
)
from app.problems.notices import notify_assigned, notify_resolved
from app.problems.queries import problem_visibility
from app.problems.reminders import plan_problem
from app.problems.signals import problem_stepped

S = ProblemStatus

# action → (statuses it starts from, status it leads to (None: unchanged))
TRANSITIONS: dict[str, tuple[tuple[ProblemStatus, ...], ProblemStatus | None]] = {
    "assign": ((S.accepted, S.returned), S.assigned),
    "reassign": ((S.assigned, S.in_progress), S.assigned),
    "start": ((S.assigned,), S.in_progress),
    "resolve": ((S.assigned, S.in_progress), S.resolved),
    "return": ((S.assigned, S.in_progress), S.returned),
    "close": ((S.resolved,), S.closed),
    "reopen": ((S.resolved, S.closed), S.in_progress),
    "withdraw": ((S.accepted, S.assigned, S.in_progress, S.returned), S.withdrawn),
    "request_extension": ((S.assigned, S.in_progress), None),
    "decide_extension": ((S.assigned, S.in_progress), None),
    "satisfaction": ((S.resolved,), None),
    "follow_up": ((S.assigned, S.in_progress, S.resolved, S.closed), None),
}

# action → (what else must hold in the problem's state, the refusal when it does not)
PRECONDITIONS: dict[str, tuple[Callable[[Problem], bool], str]] = {
    "close": (
        lambda p: p.satisfaction in (Satisfaction.satisfied, Satisfaction.basically),
        _l("A problem is closed out only after the enterprise said it is satisfied."),
    ),
    "reopen": (
        lambda p: p.satisfaction == Satisfaction.unsatisfied,
        _l("A problem is reopened only when the enterprise is not satisfied."),
    ),
    "request_extension": (
        lambda p: p.extension_state != ExtensionState.pending,
        _l("An extension is already waiting for a decision."),
    ),
    "decide_extension": (
        lambda p: p.extension_state == ExtensionState.pending and p.extension_until is not None,
        _l("No extension is waiting for a decision."),
    ),
}


# -- who may do what -------------------------------------------------------

def can_see(user: User, problem: Problem) -> bool:
    """True when the problem is in the account's view."""
    clause = problem_visibility(user)
    if clause is None:
        return True
    return db.session.scalar(select(Problem.id).where(Problem.id == problem.id, clause)) is not None


def allowed(user: User, action: str, problem: Problem) -> bool:
    """True when the account's role may take the action on this (visible) problem."""
    if user.is_staff:
        return True
    own_department = user.role == Role.liaison and problem.department_id == user.organisation_id
    own_enterprise = user.role == Role.contact and problem.enterprise_id == user.organisation_id
    if action in ("start", "resolve", "return", "request_extension"):
        return own_department
    if action == "withdraw":
        return own_enterprise or (user.role == Role.instructor and can_see(user, problem))
    if action == "satisfaction":
        return own_enterprise
    if action == "follow_up":
        return user.role == Role.instructor and can_see(user, problem)
    return False


def _applies(problem: Problem, action: str) -> bool:
    sources, _target = TRANSITIONS[action]
    condition = PRECONDITIONS.get(action)
    return problem.status in sources and (condition is None or condition[0](problem))


def available_actions(user: User, problem: Problem) -> list[str]:
    """The actions the account may take now, in the problem's current state."""
    return [action for action in TRANSITIONS if _applies(problem, action) and allowed(user, action, problem)]


# -- locking -------------------------------------------------------------------

def handled_elsewhere() -> ConcurrentChange:
    """The refusal for the request that lost a race on a problem."""
    return ConcurrentChange(_("Someone else handled this problem in the meantime. Please reload and try again."))


def latest_step_id(problem_id: int) -> int | None:
    """The id of the problem's latest step: the version of the problem a page showed."""
    return db.session.scalar(select(func.max(ProblemStep.id)).where(ProblemStep.problem_id == problem_id))


def lock_problem(problem: Problem) -> Problem:
    """Lock the problem's row for this transaction and load what is committed now."""
    try:
        if db.engine.dialect.name == "sqlite":
            # SQLite has no row locks: a no-op write takes the database's write lock, waiting
            # (up to the busy timeout) for a concurrent writer to commit first.
            db.session.execute(text("UPDATE problem SET id = id WHERE id = :id"), {"id": problem.id})
        statement = select(Problem).where(Problem.id == problem.id).with_for_update()
        return db.session.execute(statement.execution_options(populate_existing=True)).scalar_one()
    except OperationalError as error:
        # SQLite gave up waiting ("database is locked"): someone else is writing this problem.
        if db.engine.dialect.name != "sqlite":
            raise
        raise handled_elsewhere() from error


def lock_for(problem: Problem, action: str, seen: int | None) -> ProblemStatus | None:
    """Lock the problem, then check the step applies to its committed state; return the target.

    `seen` is the latest step the person saw (None: what this request read before the lock).
    A step that no longer applies because the problem changed since then is a concurrent change.
    """
    if seen is None:
        seen = latest_step_id(problem.id)
    lock_problem(problem)
    if _applies(problem, action):
        return TRANSITIONS[action][1]
    if latest_step_id(problem.id) != seen:
        raise handled_elsewhere()
    condition = PRECONDITIONS.get(action)
    if problem.status in TRANSITIONS[action][0] and condition is not None:
        raise ValidationFailed(str(condition[1]))
    raise ValidationFailed(_("This cannot be done while the problem is “%(status)s”.", status=problem.status_label))


# -- steps ------------------------------------------------------------------

def required(text_value: str | None, field: str, message: str) -> str:
    """The trimmed text, or a refusal on the field when it is empty."""
    text_value = (text_value or "").strip()
    if not text_value:
        raise ValidationFailed(message, field)
    return text_value


def add_step(
    problem: Problem, actor: Person | None, action: str, target: ProblemStatus | None, note: str | None,
    now: datetime, changes: dict | None = None,
) -> ProblemStep:
    """Move the problem to `target` (None: unchanged) and write the step, the audit entry and reminders."""
    before = problem.status
    if target is not None:
        problem.status = target
    problem.updated_at = now
    step = ProblemStep(
        problem=problem, at=now, actor=actor, action=action, from_status=before,
        to_status=problem.status, note=note,
    )
    db.session.add(step)
    db.session.flush()
    record(problem, action, {"status": [before, problem.status], **(changes or {})}, note=(note or "")[:500] or None, now=now)
    plan_problem(problem, now)
    problem_stepped.send(problem, now=now, step=step)
    return step


def department_or_refuse(department_id: int | None) -> Organisation:
    """The active department of that id, or a refusal on the department field."""
    department = db.session.get(Organisation, department_id) if department_id else None
    if department is None or department.kind != OrgKind.department or not department.active:
        raise ValidationFailed(_("Choose the department that takes it."), "department")
    return department


def _future_deadline(deadline: date | None, category: ProblemCategory, today: date) -> date:
    if deadline is None:
        return default_deadline(category, today)
    if deadline < today:
        raise ValidationFailed(_("The deadline cannot be in the past."), "deadline")
    return deadline


def assign(problem: Problem, actor: Person | None, *, department_id: int | None, deadline: date | None, note: str | None, now: datetime, seen: int | None = None) -> Problem:
    """交办: hand the problem to a department with a deadline."""
    target = lock_for(problem, "assign", seen)
    department = department_or_refuse(department_id)
    deadline = _future_deadline(deadline, problem.category, local_date(now))
    problem.department = department
    problem.deadline = deadline
    problem.extension_state = problem.extension_until = problem.extension_reason = None
    add_step(problem, actor, "assign", target, note or department.name, now, {"department_id": [None, department.id], "deadline": [None, deadline]})
    notify_assigned(problem, now)
    return problem


def reassign(problem: Problem, actor: Person | None, *, department_id: int | None, deadline: date | None, reason: str | None, now: datetime, seen: int | None = None) -> Problem:
    """转办: move the problem to another department; a reason is required."""
    target = lock_for(problem, "reassign", seen)
    reason = required(reason, "reason", _("Give the reason."))
    department = department_or_refuse(department_id)
    if department.id == problem.department_id:
        raise ValidationFailed(_("Choose another department."), "department")
    deadline = _future_deadline(deadline, problem.category, local_date(now))
    old = problem.department_id
    problem.department = department
    problem.deadline = deadline
    problem.extension_state = problem.extension_until = problem.extension_reason = None
    add_step(problem, actor, "reassign", target, reason, now, {"department_id": [old, department.id]})
    notify_assigned(problem, now)
    return problem


def start(problem: Problem, actor: Person | None, *, note: str | None, now: datetime, seen: int | None = None) -> Problem:
    """办理中: the department starts work."""
    add_step(problem, actor, "start", lock_for(problem, "start", seen), note, now)
    return problem


def resolve(
    problem: Problem, actor: Person | None, *, resolution: str | None, now: datetime,
    loan_amount_wan: Decimal | None = None, days_before: int | None = None, days_after: int | None = None,
    seen: int | None = None,
) -> Problem:
    """办结: say how it was solved; money and time saved where they apply."""
    target = lock_for(problem, "resolve", seen)
    resolution = required(resolution, "resolution", _("Say how it was resolved."))
    for value, field in ((loan_amount_wan, "loan_amount_wan"), (days_before, "days_before"), (days_after, "days_after")):
        if value is not None and value < 0:
            raise ValidationFailed(_("The number cannot be negative."), field)
    problem.resolution = resolution
    problem.resolved_on = local_date(now)
    problem.loan_amount_wan = loan_amount_wan
    problem.days_before = days_before
    problem.days_after = days_after
    problem.satisfaction = None
    add_step(problem, actor, "resolve", target, resolution, now)
    notify_resolved(problem, now)
    return problem


def _step_with_reason(problem: Problem, actor: Person | None, action: str, reason: str | None, now: datetime, seen: int | None) -> Problem:
    target = lock_for(problem, action, seen)
    add_step(problem, actor, action, target, required(reason, "reason", _("Give the reason.")), now)
    return problem


def return_problem(problem: Problem, actor: Person | None, *, reason: str | None, now: datetime, seen: int | None = None) -> Problem:
    """退回: not this department's remit; back to the organisers with a reason."""
    return _step_with_reason(problem, actor, "return", reason, now, seen)


def close(problem: Problem, actor: Person | None, *, note: str | None, now: datetime, seen: int | None = None) -> Problem:
    """销号: close out after the enterprise said it is (basically) satisfied."""
    target = lock_for(problem, "close", seen)
    problem.closed_at = now
    add_step(problem, actor, "close", target, note, now)
    return problem


def reopen(problem: Problem, actor: Person | None, *, reason: str | None, now: datetime, seen: int | None = None) -> Problem:
    """重办: the enterprise is not satisfied; the department works on it again with a new deadline."""
    target = lock_for(problem, "reopen", seen)
    reason = required(reason, "reason", _("Give the reason."))
    problem.resolved_on = None
    problem.closed_at = None
    problem.deadline = default_deadline(problem.category, local_date(now))
    add_step(problem, actor, "reopen", target, reason, now)
    return problem


def withdraw(problem: Problem, actor: Person | None, *, reason: str | None, now: datetime, seen: int | None = None) -> Problem:
    """撤回: the enterprise no longer needs it, or it was entered by mistake."""
    return _step_with_reason(problem, actor, "withdraw", reason, now, seen)


def request_extension(problem: Problem, actor: Person | None, *, until: date | None, reason: str | None, now: datetime, seen: int | None = None) -> Problem:
    """Ask for more time, before the deadline passes."""
    lock_for(problem, "request_extension", seen)
    reason = required(reason, "reason", _("Give the reason."))
    if problem.deadline is None or problem.deadline < local_date(now):
        raise ValidationFailed(_("An extension must be requested before the deadline."))
    if until is None or until <= problem.deadline:
        raise ValidationFailed(_("The new deadline must be after the current one."), "until")
    problem.extension_state = ExtensionState.pending
    problem.extension_until = until
    problem.extension_reason = reason
    add_step(problem, actor, "request_extension", None, f"{until.isoformat()} {reason}", now, {"extension_until": [None, until]})
    return problem


def decide_extension(problem: Problem, actor: Person | None, *, approve: bool, note: str | None, now: datetime, seen: int | None = None) -> Problem:
    """Approve (the deadline moves) or refuse a pending extension."""
    lock_for(problem, "decide_extension", seen)
    changes = {}
    if approve:
        changes["deadline"] = [problem.deadline, problem.extension_until]
        problem.deadline = problem.extension_until
        problem.extension_state = ExtensionState.approved
    else:
        problem.extension_state = ExtensionState.refused
    add_step(problem, actor, "approve_extension" if approve else "refuse_extension", None, note, now, changes)
    return problem


def give_satisfaction(problem: Problem, actor: Person | None, *, satisfaction: Satisfaction | None, comment: str | None, now: datetime, seen: int | None = None) -> Problem:
    """The enterprise says whether it is satisfied with how it was resolved."""
    lock_for(problem, "satisfaction", seen)
    if satisfaction is None:
        raise ValidationFailed(_("Choose how satisfied the enterprise is."), "satisfaction")
    problem.satisfaction = satisfaction
    problem.feedback = (comment or "").strip() or None
    add_step(problem, actor, "satisfaction", None, problem.feedback, now, {"satisfaction": [None, satisfaction]})
    return problem


STEPS: dict[str, Callable[..., Problem]] = {
    "assign": assign, "reassign": reassign, "start": start, "resolve": resolve, "return": return_problem,
    "close": close, "reopen": reopen, "withdraw": withdraw, "request_extension": request_extension,
    "decide_extension": decide_extension, "satisfaction": give_satisfaction,
}


def take_step(user: User, action: str, problem: Problem, *, now: datetime, seen: int | None, **fields) -> Problem:
    """Take a step (one of STEPS) as this account, checking after the lock that it still may."""
    if seen is None:
        seen = latest_step_id(problem.id)
    lock_problem(problem)
    if not allowed(user, action, problem):
        # It was allowed on the page: the problem has moved to another department meanwhile.
        raise handled_elsewhere()
    # An API key (app/api/principal.py) has no person behind it: the step names no actor and
    # its audit entry names the key.
    return STEPS[action](problem, getattr(user, "person", None), now=now, seen=seen, **fields)
