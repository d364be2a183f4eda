"""Invitations (activities:read to list, activities:write to answer).

An activity's invitations: organisers' keys see them all, as the organiser's page does; other
keys see their own organisation's. An invitee's answer goes through the answer page's service
(app/invitations: seats, waiting list, whole-series answers, audit); only the key of the
invitee's organisation may answer, as only the invitee (or their link) may in the pages.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_login import current_user
from sqlalchemy import select

from app.api.auth import requires
from app.api.errors import ApiError
from app.api.framework import LinghangBlueprint, Strict, documented
from app.api.models import Scope
from app.api.pagination import Keyset, PageArgs, page, page_of
from app.api.schemas import Text, Whole
from app.core.clock import utcnow
from app.events.models import ActivityStatus
from app.events.queries import visible_activity_or_404
from app.extensions import db
from app.invitations import services
from app.invitations.models import Answer, AnswerChannel, Invitation

bp = LinghangBlueprint(
    "api_invitations", __name__, url_prefix="/api/v1",
    description="Invitations of an activity, and an invitee's answer.",
)
BY_ID = Keyset("invitations", Invitation.id, Invitation.id)


class InvitationSchema(Strict):
    id = ma.fields.Integer(required=True)
    activity_id = ma.fields.Integer(required=True)
    person_id = ma.fields.Integer(required=True)
    organisation_id = ma.fields.Integer(required=True)
    answer = ma.fields.Enum(Answer, by_value=True, required=True)
    seats = ma.fields.Integer(required=True)
    attendee_names = ma.fields.String(required=True, allow_none=True)
    note = ma.fields.String(required=True, allow_none=True)
    answered_at = ma.fields.AwareDateTime(required=True, allow_none=True)
    waitlisted = ma.fields.Boolean(required=True, metadata={"description": "Accepted, waiting for a seat"})
    checked_in = ma.fields.Boolean(required=True)
    whole_series = ma.fields.Boolean(required=True)


class AnswerSchema(Strict):
    answer = ma.fields.Enum(Answer, by_value=True, required=True,
                            metadata={"description": "accepted, declined or tentative"})
    seats = Whole(allow_none=True, validate=ma.validate.Range(min=0, max=1000),
                              metadata={"description": "People coming (accepted only)"})
    names = Text(max_length=500, allow_none=True)
    note = Text(max_length=2000, multiline=True, allow_none=True)


def _shown(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id, "activity_id": invitation.activity_id, "person_id": invitation.person_id,
        "organisation_id": invitation.organisation_id, "answer": invitation.answer, "seats": invitation.seats,
        "attendee_names": invitation.attendee_names, "note": invitation.note,
        "answered_at": invitation.answered_at, "waitlisted": invitation.waitlisted_at is not None,
        "checked_in": invitation.checked_in_at is not None, "whole_series": invitation.whole_series,
    }


@bp.get("/activities/<id:activity_id>/invitations")
@requires(Scope.activities_read)
@bp.etag
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(InvitationSchema))
@documented(404)
def invitations(args: dict[str, Any], activity_id: int):
    """The activity's invitations the key may see (all of them for organisers' keys)."""
    activity = visible_activity_or_404(current_user, activity_id)
    statement = select(Invitation).where(Invitation.activity_id == activity.id)
    if not current_user.is_staff:
        statement = statement.where(Invitation.organisation_id == current_user.organisation_id)
    body, headers = page(statement, BY_ID, args)
    body["items"] = [_shown(i) for i in body["items"]]
    return body, 200, headers


def _own_invitation(invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if (
        invitation is None
        or invitation.person.organisation_id != current_user.organisation_id
        or invitation.activity.status == ActivityStatus.draft
    ):
        raise ApiError("not_found")
    return invitation


@bp.get("/invitations/<id:invitation_id>")
@requires(Scope.activities_read)
@bp.etag
@bp.response(200, InvitationSchema)
@documented(404)
def invitation(invitation_id: int):
    """One invitation of the key's organisation's people (organisers' keys: any sent one)."""
    if current_user.is_staff:
        found = db.session.get(Invitation, invitation_id)
        if found is None:
            raise ApiError("not_found")
        return _shown(found)
    return _shown(_own_invitation(invitation_id))


@bp.post("/invitations/<id:invitation_id>/answer")
@requires(Scope.activities_write)
@bp.arguments(AnswerSchema)
@bp.response(200, InvitationSchema)
@documented(404, 409, 415, 422)
def invitation_answer(values: dict[str, Any], invitation_id: int):
    """Answer for one of the key's organisation's people, as they would on their answer page."""
    invitation = _own_invitation(invitation_id)
    saved = services.answer_series(
        invitation, reply=values["answer"], seats=values.get("seats"), names=values.get("names"),
        note=values.get("note"), channel=AnswerChannel.account, now=utcnow(),
    )
    return _shown(saved)
