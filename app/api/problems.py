"""Problems of the ledger (scopes problems:read / problems:write): list with the ledger's filters,
read, create (e.g. from the 12345 hotline, with its `source`), and each ledger step as its own action.

Everything goes through app/problems: the ledger's visibility (an enterprise's key sees its own
problems only; another's is a 404), the filters (app/problems/filters.py reads the same query
arguments the ledger page does), recording (`record_problem`) and the steps (`take_step`: the
same permission check, row lock, state machine, audit entry and notices as the pages). A
problem's ETag is its latest step: a step sent with If-Match is refused with 412 when someone
else moved the problem since it was read.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from app.api.auth import requires
from app.api.errors import ApiError
from app.api.framework import LinghangBlueprint, Strict, documented
from app.api.models import Scope
from app.api.pagination import Keyset, PageArgs, page, page_of
from app.api.schemas import Day, Id, QueryId, Text, Whole
from app.core.clock import local_today, utcnow
from app.core.errors import ConcurrentChange, ValidationFailed
from app.core.roles import Role
from app.events.queries import visible_activity_or_404
from app.extensions import db
from app.problems import services, transitions
from app.problems.filters import read_filters
from app.problems.models import (
    ExtensionState,
    Problem,
    ProblemCategory,
    ProblemSource,
    ProblemStatus,
    Satisfaction,
)
from app.problems.queries import visible_problems

bp = LinghangBlueprint(
    "api_problems", __name__, url_prefix="/api/v1",
    description="The problem ledger: list with its filters, read, record, and each step (交办 … 销号).",
)
NEWEST_FIRST = Keyset("problems", Problem.raised_at, Problem.id, descending=True)



class LedgerStepSchema(Strict):
    id = ma.fields.Integer(required=True)
    action = ma.fields.String(required=True)
    from_status = ma.fields.Enum(ProblemStatus, by_value=True, required=True, allow_none=True)
    to_status = ma.fields.Enum(ProblemStatus, by_value=True, required=True, allow_none=True)
    note = ma.fields.String(required=True, allow_none=True)
    at = ma.fields.AwareDateTime(required=True)


class LedgerProblemSchema(Strict):
    id = ma.fields.Integer(required=True)
    enterprise_id = ma.fields.Integer(required=True)
    activity_id = ma.fields.Integer(required=True, allow_none=True)
    category = ma.fields.Enum(ProblemCategory, by_value=True, required=True)
    source = ma.fields.Enum(ProblemSource, by_value=True, required=True,
                            metadata={"description": "Where it came in: on_site, hotline (12345), province_platform, other"})
    description = ma.fields.String(required=True)
    status = ma.fields.Enum(ProblemStatus, by_value=True, required=True)
    department_id = ma.fields.Integer(required=True, allow_none=True)
    deadline = ma.fields.Date(required=True, allow_none=True)
    extension_state = ma.fields.Enum(ExtensionState, by_value=True, required=True, allow_none=True)
    extension_until = ma.fields.Date(required=True, allow_none=True)
    resolved_on_site = ma.fields.Boolean(required=True)
    resolution = ma.fields.String(required=True, allow_none=True)
    resolved_on = ma.fields.Date(required=True, allow_none=True)
    satisfaction = ma.fields.Enum(Satisfaction, by_value=True, required=True, allow_none=True)
    feedback = ma.fields.String(required=True, allow_none=True)
    loan_amount_wan = ma.fields.String(required=True, allow_none=True,
                                       metadata={"description": "10,000 yuan, as a decimal string (e.g. \"120.50\")"})
    days_before = ma.fields.Integer(required=True, allow_none=True)
    days_after = ma.fields.Integer(required=True, allow_none=True)
    raised_at = ma.fields.AwareDateTime(required=True)
    closed_at = ma.fields.AwareDateTime(required=True, allow_none=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class LedgerProblemDetailSchema(LedgerProblemSchema):
    steps = ma.fields.List(ma.fields.Nested(LedgerStepSchema), required=True)
    available_actions = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "The steps this key may take now"}
    )


class LedgerArgs(PageArgs):
    """The ledger's filters, by the names the ledger page uses."""

    start = Day(load_default=None, metadata={"description": "Raised on or after this day (local)"})
    end = Day(load_default=None, metadata={"description": "Raised on or before this day (local)"})
    alliance = QueryId(load_default=None)
    department = QueryId(load_default=None)
    theme = QueryId(load_default=None)
    enterprise = QueryId(load_default=None, metadata={"description": "An enterprise key: only its own"})
    activity = QueryId(load_default=None)
    category = ma.fields.Enum(ProblemCategory, by_value=True, load_default=None)
    status = ma.fields.Enum(ProblemStatus, by_value=True, load_default=None)
    source = ma.fields.Enum(ProblemSource, by_value=True, load_default=None)
    overdue = ma.fields.Boolean(load_default=False, metadata={"description": "Open past the deadline only"})
    q = Text(max_length=100, load_default=None, metadata={"description": "Words of the description"})


class ProblemCreateSchema(Strict):
    """What the entry page asks, and where the problem came in."""

    enterprise_id = Id(required=True)
    category = ma.fields.Enum(ProblemCategory, by_value=True, required=True)
    source = ma.fields.Enum(ProblemSource, by_value=True, required=True)
    description = Text(max_length=5000, multiline=True, required=True)
    activity_id = Id(allow_none=True)
    department_id = Id(allow_none=True, metadata={"description": "Assigned (交办) at once to this department"})
    resolved_on_site = ma.fields.Boolean(load_default=False)
    resolution = Text(max_length=5000, multiline=True, allow_none=True)


def _note(**kwargs: Any) -> Text:
    return Text(max_length=2000, multiline=True, allow_none=True, **kwargs)


def _reason() -> Text:
    return Text(max_length=2000, multiline=True, required=True)


class ProblemAssignSchema(Strict):
    department_id = Id(required=True)
    deadline = Day(allow_none=True, metadata={"description": "Default: the category's working days"})
    note = _note()


class ProblemReassignSchema(Strict):
    department_id = Id(required=True)
    deadline = Day(allow_none=True)
    reason = _reason()


class ProblemNoteSchema(Strict):
    note = _note()


class ProblemReasonSchema(Strict):
    reason = _reason()


class ProblemResolveSchema(Strict):
    resolution = Text(max_length=5000, multiline=True, required=True)
    loan_amount_wan = ma.fields.Float(allow_none=True, validate=ma.validate.Range(min=0, max=10**11),
                                        metadata={"description": "Loan facilitated, in 10,000 yuan"})
    days_before = Whole(allow_none=True, validate=ma.validate.Range(min=0, max=3650))
    days_after = Whole(allow_none=True, validate=ma.validate.Range(min=0, max=3650))


class ProblemExtensionSchema(Strict):
    until = Day(required=True)
    reason = _reason()


class ProblemDecisionSchema(Strict):
    approve = ma.fields.Boolean(required=True)
    note = _note()


class ProblemSatisfactionSchema(Strict):
    satisfaction = ma.fields.Enum(Satisfaction, by_value=True, required=True)
    comment = Text(max_length=1000, multiline=True, allow_none=True)


def _shown(problem: Problem, detail: bool = False) -> dict[str, Any]:
    schema = LedgerProblemDetailSchema if detail else LedgerProblemSchema
    shown = {name: getattr(problem, name) for name in schema().fields if hasattr(problem, name)}
    if detail:
        shown["steps"] = list(problem.steps)
        shown["available_actions"] = transitions.available_actions(current_user, problem)
    return shown


def _visible_or_404(problem_id: int) -> Problem:
    problem = db.session.scalar(visible_problems(current_user).where(Problem.id == problem_id))
    if problem is None:
        raise ApiError("not_found")
    return problem


def _etag(problem: Problem) -> None:
    bp.set_etag({"problem": problem.id, "step": transitions.latest_step_id(problem.id)})


@bp.get("/problems")
@requires(Scope.problems_read)
@bp.etag
@bp.arguments(LedgerArgs, location="query")
@bp.response(200, page_of(LedgerProblemSchema))
@documented(404)
def problems(args: dict[str, Any]):
    """The ledger this key may see, newest first, with the ledger page's filters."""
    # The ledger's own reader of these arguments (validated above): an enterprise key asking for
    # another enterprise gets 404, as its contact would on the page.
    filters = read_filters(current_user)
    # The page takes any value of `overdue` as "on"; here it is a boolean ("false" is off).
    filters.overdue_on = local_today() if args["overdue"] else None
    body, headers = page(visible_problems(current_user, filters), NEWEST_FIRST, args)
    body["items"] = [_shown(p) for p in body["items"]]
    return body, 200, headers


@bp.get("/problems/<id:problem_id>")
@requires(Scope.problems_read)
@bp.etag
@bp.response(200, LedgerProblemDetailSchema)
@documented(404)
def problem(problem_id: int):
    """One problem with its steps and the steps the key may take now."""
    found = _visible_or_404(problem_id)
    _etag(found)
    return _shown(found, detail=True)


@bp.post("/problems")
@requires(Scope.problems_write, Role.organiser)
@bp.etag
@bp.arguments(ProblemCreateSchema)
@bp.response(201, LedgerProblemDetailSchema)
@documented(404, 415, 422)
def problem_create(values: dict[str, Any]):
    """Record a problem (受理), e.g. one the 12345 hotline took; assigned or resolved at once if said so."""
    activity = visible_activity_or_404(current_user, values["activity_id"]) if values.get("activity_id") else None
    offered = {org.id for org in services.enterprises_for_activity(activity, current_user)}
    if values["enterprise_id"] not in offered:
        raise ValidationFailed(_("Choose the enterprise that raised it."), "enterprise_id")
    recorded = services.record_problem(
        enterprise_id=values["enterprise_id"], category=values["category"], description=values["description"],
        now=utcnow(), recorder=None, activity=activity, department_id=values.get("department_id"),
        resolved_on_site=values.get("resolved_on_site", False), resolution=values.get("resolution"),
        source=values["source"],
    )
    _etag(recorded)
    return _shown(recorded, detail=True), 201, {"Location": f"/api/v1/problems/{recorded.id}"}


def _step(problem_id: int, action: str, fields: dict[str, Any]):
    """Take one step as the key's organisation would on the problem's page."""
    found = _visible_or_404(problem_id)
    if not transitions.allowed(current_user, action, found):
        raise ApiError("forbidden")
    seen = None
    if request.if_match:
        with warnings.catch_warnings():
            # flask-smorest warns that POST is not a method it expects If-Match on; a step is an
            # update of the problem, and the check (412 when stale) is wanted here.
            warnings.simplefilter("ignore", UserWarning)
            bp.check_etag({"problem": found.id, "step": transitions.latest_step_id(found.id)})
        seen = transitions.latest_step_id(found.id)
    try:
        moved = transitions.take_step(current_user, action, found, now=utcnow(), seen=seen, **fields)
    except ConcurrentChange as change:
        if seen is not None:  # moved by someone else after the ETag the client sent
            raise ApiError("precondition_failed", change.message) from change
        raise
    _etag(moved)
    return _shown(moved, detail=True)


def _declare(action: str, path: str, schema: type[ma.Schema], summary: str, fields) -> None:
    """One operation per ledger step: POST /problems/{id}/<path>."""

    def view(*args: Any, problem_id: int):
        values = args[0] if args else {}
        return _step(problem_id, action, fields(values))

    view.__name__ = f"problem_{action}"
    view.__doc__ = summary
    decorated = bp.response(200, LedgerProblemDetailSchema)(documented(404, 409, 412, 415, 422)(view))
    # A step whose fields are all optional (start, close) may come without a body.
    optional = not any(field.required for field in schema().fields.values())
    decorated = bp.arguments(schema, required=not optional)(decorated)
    decorated = requires(Scope.problems_write)(bp.etag(decorated))
    bp.route(f"/problems/<id:problem_id>/{path}", methods=["POST"], endpoint=f"problem_{action}")(decorated)


def _money(value: float | None) -> Decimal | None:
    """A JSON number of 10,000 yuan as the ledger's two-decimal amount."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _get(*names: str):
    return lambda values: {name: values.get(name) for name in names}


STEPS = [
    ("assign", "assign", ProblemAssignSchema, "交办: hand the problem to a department with a deadline.",
     _get("department_id", "deadline", "note")),
    ("reassign", "reassign", ProblemReassignSchema, "转办: move it to another department, with the reason.",
     _get("department_id", "deadline", "reason")),
    ("start", "start", ProblemNoteSchema, "办理中: the department starts work.", _get("note")),
    ("resolve", "resolve", ProblemResolveSchema, "办结: how it was resolved; money and time saved where they apply.",
     lambda values: {**_get("resolution", "days_before", "days_after")(values),
                     "loan_amount_wan": _money(values.get("loan_amount_wan"))}),
    ("return", "return", ProblemReasonSchema, "退回: not the department's remit, with the reason.", _get("reason")),
    ("close", "close", ProblemNoteSchema, "销号: close out after the enterprise said it is satisfied.", _get("note")),
    ("reopen", "reopen", ProblemReasonSchema, "重办: the enterprise is not satisfied; worked on again.", _get("reason")),
    ("withdraw", "withdraw", ProblemReasonSchema, "撤回: no longer needed, or entered by mistake.", _get("reason")),
    ("request_extension", "request-extension", ProblemExtensionSchema, "Ask for a later deadline, before it passes.",
     _get("until", "reason")),
    ("decide_extension", "decide-extension", ProblemDecisionSchema, "Approve or refuse a pending extension.",
     _get("approve", "note")),
    ("satisfaction", "satisfaction", ProblemSatisfactionSchema, "The enterprise says how satisfied it is.",
     _get("satisfaction", "comment")),
]
for _action, _path, _schema, _summary, _fields in STEPS:
    _declare(_action, _path, _schema, _summary, _fields)
