"""Rules of the problem ledger; every function flushes and never commits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.auth.models import Role, User
from app.core.clock import display_zone
from app.core.errors import ValidationFailed
from app.events.models import Activity, ActivityKind, ActivityStatus, VisitKind
from app.extensions import db
from app.orgs.models import InstructorAssignment, Organisation, OrgKind, Person
from app.problems.models import (
    ExtensionState,
    FollowUp,
    Problem,
    ProblemCategory,
    ProblemStatus,
    ProblemStep,
    Satisfaction,
)
from app.problems.queries import problem_visibility
from app.problems.reminders import plan_problem
from app.workcal.services import add_working_days

S = ProblemStatus

# Working days a department has, per category (PROBLEM_DEADLINE_DAYS overrides, e.g. "tax=5").
DEFAULT_DEADLINE_DAYS = {
    ProblemCategory.tax: 5,
    ProblemCategory.talent: 15,
    ProblemCategory.financing: 10,
    ProblemCategory.export: 5,
    ProblemCategory.it_integration: 15,
    ProblemCategory.land_permits: 20,
    ProblemCategory.labour: 10,
    ProblemCategory.dispute: 10,
    ProblemCategory.other: 10,
}

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


def deadline_days(category: ProblemCategory) -> int:
    """Working days allowed for a category, from the configuration or the defaults."""
    days = dict(DEFAULT_DEADLINE_DAYS)
    setting = current_app.config.get("PROBLEM_DEADLINE_DAYS", "") if has_app_context() else ""
    for part in (setting or "").split(","):
        key, _sep, value = part.partition("=")
        if key.strip() in ProblemCategory.__members__ and value.strip().isdigit():
            days[ProblemCategory(key.strip())] = int(value)
    return days[category]


def default_deadline(category: ProblemCategory, today: date) -> date:
    """Today plus the category's working days on China's calendar."""
    return add_working_days(today, deadline_days(category))


def local_date(now: datetime) -> date:
    """The display-zone day of an instant."""
    return now.astimezone(display_zone()).date()


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


def available_actions(user: User, problem: Problem) -> list[str]:
    """The actions the account may take now, in the problem's current status."""
    return [
        action
        for action, (sources, _target) in TRANSITIONS.items()
        if problem.status in sources and allowed(user, action, problem)
        and (action != "decide_extension" or problem.extension_state == ExtensionState.pending)
        and (action != "reopen" or problem.satisfaction == Satisfaction.unsatisfied)
        and (action != "close" or problem.satisfaction in (Satisfaction.satisfied, Satisfaction.basically))
    ]


# -- steps ------------------------------------------------------------------

def _check_state(problem: Problem, action: str) -> ProblemStatus | None:
    sources, target = TRANSITIONS[action]
    if problem.status not in sources:
        raise ValidationFailed(
            _("This cannot be done while the problem is “%(status)s”.", status=problem.status_label)
        )
    return target


def _required(text: str | None, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(message, field)
    return text


def _step(problem: Problem, actor: Person | None, action: str, target: ProblemStatus | None, note: str | None, now: datetime, changes: dict | None = None) -> ProblemStep:
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
    return step


def _department(department_id: int | None) -> Organisation:
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


def record_problem(
    *,
    enterprise_id: int,
    category: ProblemCategory,
    description: str,
    now: datetime,
    recorder: Person | None,
    activity: Activity | None = None,
    department_id: int | None = None,
    resolved_on_site: bool = False,
    resolution: str | None = None,
    raised_by: Person | None = None,
) -> Problem:
    """Enter what an enterprise raised: 受理; 交办 at once when a department took it on the spot;
    办结 at once when it was solved on site."""
    enterprise = db.session.get(Organisation, enterprise_id)
    if enterprise is None or enterprise.kind != OrgKind.enterprise:
        raise ValidationFailed(_("Choose the enterprise that raised it."), "enterprise")
    description = _required(description, "description", _("Say what the enterprise raised."))
    department = _department(department_id) if department_id else None
    if resolved_on_site:
        resolution = _required(resolution, "resolution", _("Say how it was solved on site."))
    problem = Problem(
        enterprise=enterprise, category=category, description=description, activity=activity,
        department=department, raised_by=raised_by, recorded_by=recorder, raised_at=now,
        status=ProblemStatus.accepted, created_at=now, updated_at=now,
    )
    db.session.add(problem)
    db.session.flush()
    db.session.add(ProblemStep(problem=problem, at=now, actor=recorder, action="record", from_status=None, to_status=S.accepted))
    record(problem, "create", {"enterprise_id": [None, enterprise.id], "category": [None, category]}, now=now)
    if resolved_on_site:
        problem.resolved_on_site = True
        problem.resolution = resolution
        problem.resolved_on = local_date(now)
        _step(problem, recorder, "resolve_on_site", S.resolved, resolution, now)
    elif department is not None:
        # The department took it on the spot: 交办 at once, with the category's deadline.
        problem.deadline = default_deadline(category, local_date(now))
        _step(problem, recorder, "assign", S.assigned, department.name, now, {"department_id": [None, department.id]})
    db.session.flush()
    return problem


def assign(problem: Problem, actor: Person | None, *, department_id: int | None, deadline: date | None, note: str | None, now: datetime) -> Problem:
    """交办: hand the problem to a department with a deadline."""
    target = _check_state(problem, "assign")
    department = _department(department_id)
    deadline = _future_deadline(deadline, problem.category, local_date(now))
    problem.department = department
    problem.deadline = deadline
    problem.extension_state = problem.extension_until = problem.extension_reason = None
    _step(problem, actor, "assign", target, note or department.name, now, {"department_id": [None, department.id], "deadline": [None, deadline]})
    return problem


def reassign(problem: Problem, actor: Person | None, *, department_id: int | None, deadline: date | None, reason: str | None, now: datetime) -> Problem:
    """转办: move the problem to another department; a reason is required."""
    target = _check_state(problem, "reassign")
    reason = _required(reason, "reason", _("Give the reason."))
    department = _department(department_id)
    if department.id == problem.department_id:
        raise ValidationFailed(_("Choose another department."), "department")
    deadline = _future_deadline(deadline, problem.category, local_date(now))
    old = problem.department_id
    problem.department = department
    problem.deadline = deadline
    problem.extension_state = problem.extension_until = problem.extension_reason = None
    _step(problem, actor, "reassign", target, reason, now, {"department_id": [old, department.id]})
    return problem


def start(problem: Problem, actor: Person | None, *, note: str | None, now: datetime) -> Problem:
    """办理中: the department starts work."""
    _step(problem, actor, "start", _check_state(problem, "start"), note, now)
    return problem


def resolve(
    problem: Problem, actor: Person | None, *, resolution: str | None, now: datetime,
    loan_amount_wan: Decimal | None = None, days_before: int | None = None, days_after: int | None = None,
) -> Problem:
    """办结: say how it was solved; money and time saved where they apply."""
    target = _check_state(problem, "resolve")
    resolution = _required(resolution, "resolution", _("Say how it was resolved."))
    for value, field in ((loan_amount_wan, "loan_amount_wan"), (days_before, "days_before"), (days_after, "days_after")):
        if value is not None and value < 0:
            raise ValidationFailed(_("The number cannot be negative."), field)
    problem.resolution = resolution
    problem.resolved_on = local_date(now)
    problem.loan_amount_wan = loan_amount_wan
    problem.days_before = days_before
    problem.days_after = days_after
    problem.satisfaction = None
    _step(problem, actor, "resolve", target, resolution, now)
    return problem


def return_problem(problem: Problem, actor: Person | None, *, reason: str | None, now: datetime) -> Problem:
    """退回: not this department's remit; back to the organisers with a reason."""
    target = _check_state(problem, "return")
    reason = _required(reason, "reason", _("Give the reason."))
    _step(problem, actor, "return", target, reason, now)
    return problem


def close(problem: Problem, actor: Person | None, *, note: str | None, now: datetime) -> Problem:
    """销号: close out after the enterprise said it is (basically) satisfied."""
    target = _check_state(problem, "close")
    if problem.satisfaction not in (Satisfaction.satisfied, Satisfaction.basically):
        raise ValidationFailed(_("A problem is closed out only after the enterprise said it is satisfied."))
    problem.closed_at = now
    _step(problem, actor, "close", target, note, now)
    return problem


def reopen(problem: Problem, actor: Person | None, *, reason: str | None, now: datetime) -> Problem:
    """重办: the enterprise is not satisfied; the department works on it again with a new deadline."""
    target = _check_state(problem, "reopen")
    if problem.satisfaction != Satisfaction.unsatisfied:
        raise ValidationFailed(_("A problem is reopened only when the enterprise is not satisfied."))
    reason = _required(reason, "reason", _("Give the reason."))
    problem.resolved_on = None
    problem.closed_at = None
    problem.deadline = default_deadline(problem.category, local_date(now))
    _step(problem, actor, "reopen", target, reason, now)
    return problem


def withdraw(problem: Problem, actor: Person | None, *, reason: str | None, now: datetime) -> Problem:
    """撤回: the enterprise no longer needs it, or it was entered by mistake."""
    target = _check_state(problem, "withdraw")
    reason = _required(reason, "reason", _("Give the reason."))
    _step(problem, actor, "withdraw", target, reason, now)
    return problem


def request_extension(problem: Problem, actor: Person | None, *, until: date | None, reason: str | None, now: datetime) -> Problem:
    """Ask for more time, before the deadline passes."""
    _check_state(problem, "request_extension")
    reason = _required(reason, "reason", _("Give the reason."))
    today = local_date(now)
    if problem.deadline is None or problem.deadline < today:
        raise ValidationFailed(_("An extension must be requested before the deadline."))
    if problem.extension_state == ExtensionState.pending:
        raise ValidationFailed(_("An extension is already waiting for a decision."))
    if until is None or until <= problem.deadline:
        raise ValidationFailed(_("The new deadline must be after the current one."), "until")
    problem.extension_state = ExtensionState.pending
    problem.extension_until = until
    problem.extension_reason = reason
    _step(problem, actor, "request_extension", None, f"{until.isoformat()} {reason}", now)
    return problem


def decide_extension(problem: Problem, actor: Person | None, *, approve: bool, note: str | None, now: datetime) -> Problem:
    """Approve (the deadline moves) or refuse a pending extension."""
    _check_state(problem, "decide_extension")
    if problem.extension_state != ExtensionState.pending or problem.extension_until is None:
        raise ValidationFailed(_("No extension is waiting for a decision."))
    changes = {}
    if approve:
        changes["deadline"] = [problem.deadline, problem.extension_until]
        problem.deadline = problem.extension_until
        problem.extension_state = ExtensionState.approved
    else:
        problem.extension_state = ExtensionState.refused
    _step(problem, actor, "approve_extension" if approve else "refuse_extension", None, note, now, changes)
    return problem


def give_satisfaction(problem: Problem, actor: Person | None, *, satisfaction: Satisfaction | None, comment: str | None, now: datetime) -> Problem:
    """The enterprise says whether it is satisfied with how it was resolved."""
    _check_state(problem, "satisfaction")
    if satisfaction is None:
        raise ValidationFailed(_("Choose how satisfied the enterprise is."), "satisfaction")
    problem.satisfaction = satisfaction
    problem.feedback = (comment or "").strip() or None
    _step(problem, actor, "satisfaction", None, problem.feedback, now, {"satisfaction": [None, satisfaction]})
    return problem


def schedule_follow_up(problem: Problem, actor: Person | None, *, host_id: int, starts_at: datetime, ends_at: datetime, now: datetime) -> FollowUp:
    """回访: plan a follow-up visit at the enterprise, linked to the problem."""
    _check_state(problem, "follow_up")
    if starts_at < now:
        raise ValidationFailed(_("The visit cannot be in the past."), "starts_at")
    if ends_at <= starts_at:
        raise ValidationFailed(_("The end must be after the start."), "ends_at")
    label = problem.enterprise.short_name or problem.enterprise.name
    activity = Activity(
        kind=ActivityKind.visit, visit_kind=VisitKind.follow_up, title=_("Follow-up visit: %(name)s", name=label),
        host_id=host_id, site=problem.enterprise, starts_at=starts_at, ends_at=ends_at,
        status=ActivityStatus.published, organiser=actor, agenda=problem.description[:500],
        created_at=now, updated_at=now,
    )
    db.session.add(activity)
    follow_up = FollowUp(problem=problem, activity=activity)
    db.session.add(follow_up)
    db.session.flush()
    _step(problem, actor, "schedule_follow_up", None, activity.title, now)
    return follow_up


def record_follow_up(follow_up: FollowUp, actor: Person | None, *, outcome: str | None, now: datetime) -> FollowUp:
    """Say what the follow-up visit found; the visit is then completed."""
    outcome = _required(outcome, "outcome", _("Say what the visit found."))
    follow_up.outcome = outcome
    follow_up.recorded_at = now
    if follow_up.activity.status == ActivityStatus.published:
        follow_up.activity.status = ActivityStatus.completed
    _step(follow_up.problem, actor, "follow_up_outcome", None, outcome, now)
    return follow_up


def enterprises_for_activity(activity: Activity | None, user: User) -> list[Organisation]:
    """Enterprises to offer on the entry page: those concerned by the activity first.

    Order: the activity's invitees, the visit's
    site, co-hosts, the alliance's members, then every other enterprise the account may record for.
    """
    from app.orgs.models import AllianceMembership

    first: list[int] = []
    if activity is not None:
        first.extend(invited_enterprise_ids(activity))
        if activity.site_id:
            first.append(activity.site_id)
        first.extend(o.id for o in activity.cohosts if o.kind == OrgKind.enterprise)
        if activity.alliance_id:
            first.extend(
                db.session.scalars(
                    select(AllianceMembership.enterprise_id).where(AllianceMembership.alliance_id == activity.alliance_id)
                )
            )
    statement = select(Organisation).where(Organisation.kind == OrgKind.enterprise, Organisation.active.is_(True))
    if user.role == Role.contact:
        statement = statement.where(Organisation.id == user.organisation_id)
    elif user.role == Role.instructor and activity is None:
        statement = statement.where(
            Organisation.id.in_(select(InstructorAssignment.enterprise_id).where(InstructorAssignment.instructor_id == user.person_id))
        )
    everyone = list(db.session.scalars(statement.order_by(Organisation.name)))
    rank = {org_id: index for index, org_id in enumerate(dict.fromkeys(first))}
    return sorted(everyone, key=lambda org: rank.get(org.id, len(rank)))


def invited_enterprise_ids(activity: Activity) -> list[int]:
    """The organisations invited to (or checked in as walk-ins at) the activity, first invited first."""
    from app.invitations.models import Invitation

    return list(
        db.session.scalars(
            select(Invitation.organisation_id)
            .where(Invitation.activity_id == activity.id)
            .order_by(Invitation.id)
        )
    )


# -- attendee outcomes --------------------------------------------------------

def record_attendee_feedback(
    activity: Activity,
    enterprise: Organisation,
    person: Person | None,
    rating: int | None,
    comment: str | None,
    resolved_problem_ids: list[int],
    new_problem: dict | None,
    now: datetime,
):
    """An attending enterprise rates the activity (1–5), confirms what was resolved for it
    (satisfied with those problems) and may raise a new problem (受理, awaiting assignment).

    The invitation's answer link and the contact's own page both call this.
    `new_problem` is None or {"category": ProblemCategory, "description": str}.
    """
    from app.problems.models import ActivityFeedback

    if activity.status != ActivityStatus.completed and activity.ends_at > now:
        raise ValidationFailed(_("Feedback opens once the activity has taken place."))
    if rating is None or not 1 <= rating <= 5:
        raise ValidationFailed(_("Rate the activity from 1 to 5."), "rating")
    problems = list(
        db.session.scalars(
            select(Problem).where(Problem.id.in_(resolved_problem_ids or []), Problem.enterprise_id == enterprise.id)
        )
    )
    if len(problems) != len(set(resolved_problem_ids or [])):
        raise ValidationFailed(_("Not a valid choice."), "resolved")
    feedback = db.session.scalar(
        select(ActivityFeedback).where(ActivityFeedback.activity_id == activity.id, ActivityFeedback.enterprise_id == enterprise.id)
    )
    if feedback is None:
        feedback = ActivityFeedback(activity_id=activity.id, enterprise=enterprise, created_at=now)
        db.session.add(feedback)
    feedback.person_id = person.id if person else None
    feedback.rating = rating
    feedback.comment = (comment or "").strip() or None
    feedback.updated_at = now
    db.session.flush()
    record(feedback, "feedback", {"rating": [None, rating]}, now=now)
    for problem in problems:
        if problem.status == ProblemStatus.resolved and problem.satisfaction is None:
            give_satisfaction(problem, person, satisfaction=Satisfaction.satisfied, comment=_("Confirmed after the activity."), now=now)
    raised = None
    if new_problem and (new_problem.get("description") or "").strip():
        raised = record_problem(
            enterprise_id=enterprise.id, category=new_problem.get("category") or ProblemCategory.other,
            description=new_problem["description"], now=now, recorder=person, activity=activity, raised_by=person,
        )
    return feedback, raised


def record_outcome(
    *, kind, recorded_on: date, note: str, now: datetime, amount_wan: Decimal | None = None,
    enterprise_count: int | None = None, cases: int | None = None, alliance_id: int | None = None,
    department_id: int | None = None,
):
    """Record loans reported by banks (amount and enterprises reached) or disputes mediated (cases)."""
    from app.problems.models import Outcome, OutcomeKind

    if recorded_on > local_date(now):
        raise ValidationFailed(_("The date cannot be in the future."), "recorded_on")
    if kind == OutcomeKind.loan and (not amount_wan or not enterprise_count):
        raise ValidationFailed(_("Give the amount and how many enterprises the loans reached."), "amount_wan")
    if kind == OutcomeKind.mediation and not cases:
        raise ValidationFailed(_("Give the number of cases mediated."), "cases")
    outcome = Outcome(
        kind=kind, recorded_on=recorded_on, note=_required(note, "note", _("Say where the figure comes from.")),
        amount_wan=amount_wan if kind == OutcomeKind.loan else None,
        enterprise_count=enterprise_count or 0 if kind == OutcomeKind.loan else 0,
        cases=cases or 0 if kind == OutcomeKind.mediation else 0,
        alliance_id=alliance_id or None, department_id=department_id or None, created_at=now,
    )
    db.session.add(outcome)
    db.session.flush()
    record(outcome, "create", {"kind": [None, kind], "amount_wan": [None, str(amount_wan) if amount_wan else None], "cases": [None, outcome.cases]}, now=now)
    return outcome
