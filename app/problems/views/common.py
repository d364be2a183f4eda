"""What the ledger's pages share: access to problems and activities, choices, template helpers."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from app.events.models import Activity
from app.events.queries import visible_activity_or_404 as activity_for_user
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import organisations_of_kind
from app.problems.models import (
    CATEGORY_LABELS,
    EXTENSION_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    Problem,
)
from app.problems.queries import problem_visibility, visible_problems


def visible_activity_or_404(activity_id: int) -> Activity:
    """The activity if the logged-in account may see it, else 404."""
    return activity_for_user(current_user, activity_id)


def visible_problem_or_404(problem_id: int) -> Problem:
    """The problem if the logged-in account may see it, else 404."""
    problem = db.session.scalar(visible_problems(current_user).where(Problem.id == problem_id))
    if problem is None:
        abort(404)
    return problem


def department_choices(form_field, blank: bool = True) -> None:
    """Offer the active departments (and "later" unless `blank` is False) in a select field."""
    choices = [(d.id, d.display_name) for d in organisations_of_kind(OrgKind.department)]
    form_field.choices = ([(0, _("— later —"))] if blank else []) + choices


def carried_forward(activity: Activity, limit: int = 20) -> list[Problem]:
    """Unresolved problems from earlier activities of the same alliance or theme (for the template)."""
    same = []
    if activity.alliance_id:
        same.append(Activity.alliance_id == activity.alliance_id)
    if activity.theme_id:
        same.append(Activity.theme_id == activity.theme_id)
    if not same:
        return []
    earlier = select(Activity.id).where(or_(*same), Activity.starts_at < activity.starts_at, Activity.id != activity.id)
    statement = (
        select(Problem).where(Problem.activity_id.in_(earlier), Problem.status.in_(OPEN_STATUSES))
        .order_by(Problem.raised_at).limit(limit)
    )
    scope = problem_visibility(current_user)
    if scope is not None:
        statement = statement.where(scope)
    return list(db.session.scalars(statement))


STEP_LABELS = {
    "record": _l("Recorded"), "resolve_on_site": _l("Resolved on site"), "assign": _l("Assigned"),
    "reassign": _l("Reassigned"), "start": _l("Started"), "resolve": _l("Resolved"), "return": _l("Returned"),
    "close": _l("Closed out"), "reopen": _l("Reopened"), "withdraw": _l("Withdrawn"),
    "request_extension": _l("Extension requested"), "approve_extension": _l("Extension approved"),
    "refuse_extension": _l("Extension refused"), "satisfaction": _l("Satisfaction given"),
    "schedule_follow_up": _l("Follow-up visit planned"), "follow_up_outcome": _l("Follow-up visit recorded"),
}


def inject_helpers() -> dict:
    """Labels and the carried-forward list for every template (the activity page shows them)."""
    return {
        "carried_forward": carried_forward, "STEP_LABELS": STEP_LABELS, "STATUS_LABELS": STATUS_LABELS,
        "EXTENSION_LABELS": EXTENSION_LABELS, "PROBLEM_CATEGORY_LABELS": CATEGORY_LABELS,
    }
