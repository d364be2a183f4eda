"""On-site entry of a problem, its page, the steps taken on it and its follow-up visits."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.access import any_role, roles_required
from app.auth.models import Role
from app.core.clock import local_to_utc, local_today, utcnow
from app.core.errors import ValidationFailed
from app.core.inputs import arg_id
from app.core.unit_of_work import flash_after_commit
from app.core.views import save_or_show
from app.extensions import db
from app.problems import follow_ups, services, transitions
from app.problems.deadlines import default_deadline
from app.problems.forms import FollowUpForm, FollowUpOutcomeForm, ProblemForm, StepForm
from app.problems.models import FollowUp, Problem, ProblemCategory, ProblemSource, Satisfaction
from app.problems.views.common import (
    department_choices,
    visible_activity_or_404,
    visible_problem_or_404,
)

recorders = roles_required(Role.organiser, Role.instructor)


def _status_after(form_was_posted: bool) -> int:
    # A refused form is shown again with 422 (the unit of work rolls back on it).
    return 422 if form_was_posted else 200


@recorders
def problem_new():
    """On-site entry, made for a phone: enterprise, category, what was raised, department."""
    activity_id = arg_id("activity")
    activity = visible_activity_or_404(activity_id) if activity_id else None
    form = ProblemForm()
    enterprises = services.enterprises_for_activity(activity, current_user)
    form.enterprise.choices = [(0, _("— choose —"))] + [(e.id, e.display_name) for e in enterprises]
    if request.method == "GET":
        # From a visit the enterprise is known: start with it chosen.
        form.enterprise.data = services.preselected_enterprise(activity, enterprises)
    department_choices(form.department)
    if form.enterprise.data and form.enterprise.data not in {e.id for e in enterprises}:
        abort(403)  # an enterprise this account may not record for (the form offers none such)

    def save() -> Problem:
        return services.record_problem(
            enterprise_id=form.enterprise.data, category=ProblemCategory(form.category.data),
            description=form.description.data, now=utcnow(), recorder=current_user.person, activity=activity,
            department_id=form.department.data or None, resolved_on_site=form.resolved_on_site.data,
            resolution=form.resolution.data, source=ProblemSource(form.source.data),
        )

    def done(problem: Problem) -> str:
        if request.form.get("another"):
            return url_for("problems.problem_new", activity=activity.id if activity else None, saved=problem.id)
        return url_for("problems.problem_detail", problem_id=problem.id)

    if form.validate_on_submit():
        response = save_or_show(form, save, done, lambda problem: _("The problem was recorded (No. %(id)s).", id=problem.id))
        if response is not None:
            return response
    return render_template("problems/entry.html", form=form, activity=activity), _status_after(request.method == "POST")


@any_role
def problem_detail(problem_id: int):
    """A problem, its history and the steps this account may take."""
    return _detail(visible_problem_or_404(problem_id), StepForm())


def _detail(problem: Problem, form: StepForm, failed_action: str | None = None, status: int = 200):
    department_choices(form.department, blank=False)
    follow_up_list = list(db.session.scalars(select(FollowUp).where(FollowUp.problem_id == problem.id).order_by(FollowUp.id)))
    return render_template(
        "problems/detail.html", problem=problem, form=form, actions=transitions.available_actions(current_user, problem),
        failed_action=failed_action, today=local_today(), follow_ups=follow_up_list, seen=transitions.latest_step_id(problem.id),
        follow_up_form=FollowUpForm(), outcome_form=FollowUpOutcomeForm(),
        default_deadline=default_deadline(problem.category, local_today()),
    ), status


def _satisfaction(value: str | None) -> Satisfaction | None:
    return Satisfaction(value) if value in Satisfaction.__members__ else None


# action → the service's keyword arguments, read from the step form
STEP_FIELDS = {
    "assign": lambda f: {"department_id": f.department.data, "deadline": f.deadline.data, "note": f.note.data},
    "reassign": lambda f: {"department_id": f.department.data, "deadline": f.deadline.data, "reason": f.reason.data},
    "start": lambda f: {"note": f.note.data},
    "resolve": lambda f: {
        "resolution": f.resolution.data, "loan_amount_wan": f.loan_amount_wan.data,
        "days_before": f.days_before.data, "days_after": f.days_after.data,
    },
    "return": lambda f: {"reason": f.reason.data},
    "close": lambda f: {"note": f.note.data},
    "reopen": lambda f: {"reason": f.reason.data},
    "withdraw": lambda f: {"reason": f.reason.data},
    "request_extension": lambda f: {"until": f.until.data, "reason": f.reason.data},
    "decide_extension": lambda f: {"approve": f.approve.data == "1", "note": f.note.data},
    "satisfaction": lambda f: {"satisfaction": _satisfaction(f.satisfaction.data), "comment": f.comment.data},
}


@any_role
def problem_step(problem_id: int, action: str):
    """Take one step (交办, 办理, 办结, 销号 …): one transaction, or the page again with the reason."""
    if action not in STEP_FIELDS:
        abort(404)
    problem = visible_problem_or_404(problem_id)
    if not transitions.allowed(current_user, action, problem):
        abort(403)
    form = StepForm()
    department_choices(form.department, blank=False)
    if form.validate_on_submit():
        response = save_or_show(
            form,
            lambda: transitions.take_step(current_user, action, problem, now=utcnow(), seen=form.seen.data, **STEP_FIELDS[action](form)),
            lambda _problem: url_for("problems.problem_detail", problem_id=problem.id),
            lambda saved: _("Saved: %(status)s.", status=saved.status_label),
        )
        if response is not None:
            return response
    # Show what is committed now, not what the refused step had begun to change.
    db.session.expire_all()
    return _detail(db.session.get(Problem, problem_id), form, failed_action=action, status=422)


@roles_required(Role.organiser, Role.instructor)
def follow_up_new(problem_id: int):
    """Plan a follow-up visit (回访) at the enterprise."""
    problem = visible_problem_or_404(problem_id)
    if not transitions.allowed(current_user, "follow_up", problem):
        abort(403)
    form = FollowUpForm()
    if not form.validate_on_submit():
        raise ValidationFailed(_("Give the start and end of the visit."))
    follow_up = follow_ups.schedule_follow_up(
        problem, current_user.person, host_id=current_user.organisation_id,
        starts_at=local_to_utc(form.starts_at.data), ends_at=local_to_utc(form.ends_at.data), now=utcnow(),
    )
    flash_after_commit(_("The follow-up visit was planned."), "success")
    return redirect(url_for("events.activity_detail", activity_id=follow_up.activity_id))


@roles_required(Role.organiser, Role.instructor)
def follow_up_outcome(follow_up_id: int):
    """Record what the follow-up visit found."""
    follow_up = db.get_or_404(FollowUp, follow_up_id)
    problem = visible_problem_or_404(follow_up.problem_id)
    form = FollowUpOutcomeForm()
    if not form.validate_on_submit():
        raise ValidationFailed(_("Say what the visit found."), "outcome")
    follow_ups.record_follow_up(follow_up, current_user.person, outcome=form.outcome.data, now=utcnow())
    flash_after_commit(_("The visit's outcome was recorded."), "success")
    return redirect(url_for("problems.problem_detail", problem_id=problem.id))
