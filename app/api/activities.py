"""Activities (scopes activities:read / activities:write): list, read, create, update, publish,
reschedule, cancel — through app/events' services, with their checks, row locks and audit.

Reads carry an ETag made from the activity's id and version (the row's version_id_col). A
PATCH must send it in If-Match (428 without, 412 when stale, also when another writer wins the
row lock in between); the actions accept it optionally. Writes need an organiser's key (a
committee's or an alliance's), as the pages need an organiser.
"""

from __future__ import annotations

import warnings
from datetime import datetime, time, timedelta
from typing import Any

import marshmallow as ma
from flask import request
from flask_login import current_user
from sqlalchemy import Select
from werkzeug.datastructures import MultiDict

from app.api.auth import requires
from app.api.errors import ApiError
from app.api.framework import LinghangBlueprint, Strict, documented
from app.api.models import Scope
from app.api.pagination import Keyset, PageArgs, page, page_of
from app.api.schemas import Day, Id, Moment, QueryId, Text, Whole
from app.core.clock import local_to_utc, utcnow
from app.core.errors import ConcurrentChange
from app.core.roles import Role
from app.events.checks import ActivityInput, invitee_warnings
from app.events.editing import ActivityEdit, reschedule, save_activity
from app.events.locking import lock_activity
from app.events.models import Activity, ActivityKind, ActivityStatus, VisitKind
from app.events.queries import filtered, visible_activities, visible_activity_or_404
from app.events.series import cancel_occurrence
from app.events.services import cancel_activity, input_of, publish_activity

bp = LinghangBlueprint(
    "api_activities", __name__, url_prefix="/api/v1",
    description="Activities: list with filters, read, create, update, publish, reschedule, cancel.",
)
organisers = (Role.organiser,)
CHRONOLOGICAL = Keyset("activities", Activity.starts_at, Activity.id)


class ActivitySchema(Strict):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.Enum(ActivityKind, by_value=True, required=True)
    visit_kind = ma.fields.Enum(VisitKind, by_value=True, required=True, allow_none=True)
    title = ma.fields.String(required=True)
    agenda = ma.fields.String(required=True, allow_none=True)
    description = ma.fields.String(required=True, allow_none=True)
    status = ma.fields.Enum(ActivityStatus, by_value=True, required=True)
    status_reason = ma.fields.String(required=True, allow_none=True)
    host_id = ma.fields.Integer(required=True)
    cohost_ids = ma.fields.List(ma.fields.Integer(), required=True)
    alliance_id = ma.fields.Integer(required=True, allow_none=True)
    theme_id = ma.fields.Integer(required=True, allow_none=True)
    venue_id = ma.fields.Integer(required=True, allow_none=True)
    site_id = ma.fields.Integer(required=True, allow_none=True)
    location_note = ma.fields.String(required=True, allow_none=True)
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(required=True)
    capacity = ma.fields.Integer(required=True, allow_none=True)
    reminder_offsets = ma.fields.String(required=True, allow_none=True,
                                        metadata={"description": "Minutes before the start, e.g. 1440,120"})
    answer_deadline = ma.fields.AwareDateTime(required=True, allow_none=True)
    series_id = ma.fields.Integer(required=True, allow_none=True)
    sequence = ma.fields.Integer(required=True, metadata={"description": "iCalendar SEQUENCE"})
    version = ma.fields.Integer(required=True, metadata={"description": "Grows with every change; the ETag"})
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
    warnings = ma.fields.List(ma.fields.String(), metadata={"description": "After a write: what to read"})


class ActivityArgs(PageArgs):
    period_from = Day(data_key="from", load_default=None,
                                 metadata={"description": "Activities ending on or after this day (local)"})
    period_to = Day(data_key="to", load_default=None,
                               metadata={"description": "Activities starting on or before this day (local)"})
    kind = ma.fields.Enum(ActivityKind, by_value=True, load_default=None)
    status = ma.fields.Enum(ActivityStatus, by_value=True, load_default=None)
    alliance = QueryId(load_default=None)
    organisation = QueryId(load_default=None, metadata={"description": "Hosting, co-hosting or visited"})
    theme = QueryId(load_default=None)


class ActivityWriteSchema(Strict):
    """What an organiser enters for an activity (as in the activity form)."""

    kind = ma.fields.Enum(ActivityKind, by_value=True, required=True)
    visit_kind = ma.fields.Enum(VisitKind, by_value=True, allow_none=True)
    title = Text(max_length=200, required=True)
    agenda = Text(max_length=5000, multiline=True, allow_none=True)
    description = Text(max_length=5000, multiline=True, allow_none=True)
    host_id = Id(required=True)
    cohost_ids = ma.fields.List(Id(), validate=ma.validate.Length(max=50))
    alliance_id = Id(allow_none=True)
    theme_id = Id(allow_none=True)
    venue_id = Id(allow_none=True)
    site_id = Id(allow_none=True)
    location_note = Text(max_length=200, allow_none=True)
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    capacity = Whole(allow_none=True, validate=ma.validate.Range(min=1, max=100_000))
    reminder_offsets = Text(max_length=200, allow_none=True)
    answer_deadline = Moment(allow_none=True)
    override_reason = Text(max_length=500, allow_none=True,
                           metadata={"description": "Use the venue although it is taken, for this reason"})


class ActivityCreateSchema(ActivityWriteSchema):
    publish = ma.fields.Boolean(load_default=False, metadata={"description": "Publish at once"})


class ActivityPatchSchema(ActivityWriteSchema):
    """Any of the fields; the others keep their values."""

    class Meta:
        unknown = ma.RAISE

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        field_obj.required = False


class RescheduleSchema(Strict):
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    reason = Text(max_length=500, allow_none=True)
    override_reason = Text(max_length=500, allow_none=True)


class CancelSchema(Strict):
    reason = Text(max_length=500, required=True, metadata={"description": "Shown to invitees"})


def _shown(activity: Activity, warnings: list[str] | None = None) -> dict[str, Any]:
    shown = {name: getattr(activity, name) for name in ActivitySchema().fields if hasattr(activity, name)}
    shown["cohost_ids"] = sorted(o.id for o in activity.cohosts)
    if warnings is not None:
        shown["warnings"] = warnings
    return shown


def _etag(activity: Activity) -> None:
    bp.set_etag({"activity": activity.id, "version": activity.version})


def _if_match(activity: Activity) -> int | None:
    """The version the client read, when it sent If-Match (412 if that is not the current one)."""
    if not request.if_match:
        return None
    with warnings.catch_warnings():
        # flask-smorest checks If-Match on any method but warns outside PUT/PATCH/DELETE; the
        # actions (publish, reschedule, cancel) are POSTs that take it when given.
        warnings.filterwarnings("ignore", "ETag cannot be checked", UserWarning)
        bp.check_etag({"activity": activity.id, "version": activity.version})
    return activity.version


def _input(values: dict[str, Any], base: ActivityInput | None = None) -> ActivityInput:
    fields = {k: v for k, v in values.items() if k not in ("override_reason", "publish")}
    if base is None:
        return ActivityInput(**fields, organiser_id=None)
    for name, value in fields.items():
        setattr(base, name, value if name != "cohost_ids" else list(value or []))
    return base


def _stale_is_412(run, guarded: bool):
    """Run a write; with If-Match, losing the row to another writer is a 412 (not a 409)."""
    try:
        return run()
    except ConcurrentChange as change:
        if guarded:
            raise ApiError("precondition_failed", change.message) from change
        raise


def _period(statement: Select, args: dict[str, Any]) -> Select:
    if args["period_from"]:
        statement = statement.where(Activity.ends_at > local_to_utc(datetime.combine(args["period_from"], time())))
    if args["period_to"]:
        end = local_to_utc(datetime.combine(args["period_to"] + timedelta(days=1), time()))
        statement = statement.where(Activity.starts_at < end)
    return statement


@bp.get("/activities")
@requires(Scope.activities_read)
@bp.etag
@bp.arguments(ActivityArgs, location="query")
@bp.response(200, page_of(ActivitySchema))
def activities(args: dict[str, Any]):
    """The activities the key may see (as its organisation's people in the pages), in time order."""
    choices = {"kind": args["kind"], "status": args["status"], "alliance": args["alliance"],
               "organisation": args["organisation"], "theme": args["theme"]}
    wanted = MultiDict({k: str(v.value if hasattr(v, "value") else v) for k, v in choices.items() if v})
    statement = _period(filtered(visible_activities(current_user), wanted), args)
    body, headers = page(statement, CHRONOLOGICAL, args)
    body["items"] = [_shown(a) for a in body["items"]]
    return body, 200, headers


@bp.get("/activities/<id:activity_id>")
@requires(Scope.activities_read)
@bp.etag
@bp.response(200, ActivitySchema)
@documented(404)
def activity(activity_id: int):
    """One activity the key may see."""
    found = visible_activity_or_404(current_user, activity_id)
    _etag(found)
    return _shown(found)


@bp.post("/activities")
@requires(Scope.activities_write, *organisers)
@bp.arguments(ActivityCreateSchema)
@bp.response(201, ActivitySchema)
@documented(415, 422)
def activity_create(values: dict[str, Any]):
    """Create a draft (or publish it at once), with the same checks as the activity form."""
    edit = ActivityEdit(
        data=_input(values), publish=values.get("publish", False),
        override=bool(values.get("override_reason")), override_reason=values.get("override_reason"),
    )
    saved = save_activity(None, edit, now=utcnow())
    _etag(saved.activity)
    return _shown(saved.activity, saved.warnings), 201, {"Location": f"/api/v1/activities/{saved.activity.id}"}


@bp.patch("/activities/<id:activity_id>")
@requires(Scope.activities_write, *organisers)
@bp.etag
@bp.arguments(ActivityPatchSchema)
@bp.response(200, ActivitySchema)
@documented(404, 409, 415, 422)
def activity_update(values: dict[str, Any], activity_id: int):
    """Change some fields; needs If-Match with the ETag read (412 when someone changed it since)."""
    found = visible_activity_or_404(current_user, activity_id)
    version = _if_match(found)
    data = _input(values, input_of(found))
    edit = ActivityEdit(
        data=data, version=version,
        override=bool(values.get("override_reason")), override_reason=values.get("override_reason"),
    )
    saved = _stale_is_412(lambda: save_activity(found, edit, now=utcnow()), guarded=True)
    _etag(saved.activity)
    return _shown(saved.activity, saved.warnings)


@bp.post("/activities/<id:activity_id>/publish")
@requires(Scope.activities_write, *organisers)
@bp.etag
@bp.response(200, ActivitySchema)
@documented(404, 409, 412, 415, 422)
def activity_publish(activity_id: int):
    """Publish a draft; the warnings name invitees who are busy at that time."""
    found = visible_activity_or_404(current_user, activity_id)
    version = _if_match(found)

    def run() -> Activity:
        return publish_activity(lock_activity(found, version), now=utcnow())

    published = _stale_is_412(run, guarded=version is not None)
    _etag(published)
    return _shown(published, invitee_warnings(published))


@bp.post("/activities/<id:activity_id>/reschedule")
@requires(Scope.activities_write, *organisers)
@bp.etag
@bp.arguments(RescheduleSchema)
@bp.response(200, ActivitySchema)
@documented(404, 409, 412, 415, 422)
def activity_reschedule(values: dict[str, Any], activity_id: int):
    """Move an activity to a new time; invitees are told as by the reschedule form."""
    found = visible_activity_or_404(current_user, activity_id)
    version = _if_match(found)
    result = _stale_is_412(lambda: reschedule(
        found, values["starts_at"], values["ends_at"], reason=values.get("reason"),
        override_reason=values.get("override_reason"), version=version, seen=None, now=utcnow(),
    ), guarded=version is not None)
    _etag(result.activity)
    return _shown(result.activity, result.warnings)


@bp.post("/activities/<id:activity_id>/cancel")
@requires(Scope.activities_write, *organisers)
@bp.etag
@bp.arguments(CancelSchema)
@bp.response(200, ActivitySchema)
@documented(404, 409, 412, 415, 422)
def activity_cancel(values: dict[str, Any], activity_id: int):
    """Cancel with a reason (one occurrence of a series becomes an exception of it)."""
    found = visible_activity_or_404(current_user, activity_id)
    version = _if_match(found)

    def run() -> Activity:
        locked = lock_activity(found, version)
        if locked.series_id:
            return cancel_occurrence(locked, reason=values["reason"], now=utcnow())
        return cancel_activity(locked, reason=values["reason"], now=utcnow())

    cancelled = _stale_is_412(run, guarded=version is not None)
    _etag(cancelled)
    return _shown(cancelled)
