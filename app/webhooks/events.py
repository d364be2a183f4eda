"""What each event says, and queuing it: one outbox delivery per endpoint that subscribed to it.

The body is written when the event happens (a webhook tells what happened then), in the
transaction of the change that caused it: a change that rolls back sends nothing. Its shape is
{"type": "problem.stepped", "timestamp": "2026-03-02T01:00:00Z", "data": {…}}; every attempt
sends the same bytes, signed afresh with the attempt's time (app/webhooks/signing.py).
"""

from __future__ import annotations

import enum
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from app.events.models import Activity
from app.extensions import db
from app.invitations.models import Invitation
from app.mail.models import Channel
from app.mail.services import enqueue_delivery
from app.problems.models import Problem, ProblemStep
from app.webhooks.models import EVENT_LABELS, EventType, WebhookEndpoint

KIND_PREFIX = "webhook."


def kind_of(event: EventType) -> str:
    """The outbox kind of an event's deliveries ("webhook.problem.stepped")."""
    return KIND_PREFIX + event.value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _link(path: str) -> str:
    return f"{current_app.config['BASE_URL']}{path}"


def activity_data(activity: Activity) -> dict[str, Any]:
    """An activity as the events show it."""
    return {
        "id": activity.id,
        "title": activity.title,
        "kind": activity.kind,
        "status": activity.status,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "place": activity.place,
        "host_id": activity.host_id,
        "alliance_id": activity.alliance_id,
        "sequence": activity.sequence,
        "url": _link(f"/activities/{activity.id}"),
    }


def invitation_data(invitation: Invitation) -> dict[str, Any]:
    """An invitation's answer as the events show it."""
    return {
        "id": invitation.id,
        "activity_id": invitation.activity_id,
        "organisation_id": invitation.organisation_id,
        "person_id": invitation.person_id,
        "answer": invitation.answer,
        "seats": invitation.seats,
        "waitlisted": invitation.waitlisted_at is not None,
        "answered_at": invitation.answered_at,
    }


def problem_data(problem: Problem) -> dict[str, Any]:
    """A problem as the events show it."""
    return {
        "id": problem.id,
        "enterprise_id": problem.enterprise_id,
        "activity_id": problem.activity_id,
        "category": problem.category,
        "source": problem.source,
        "description": problem.description,
        "status": problem.status,
        "department_id": problem.department_id,
        "deadline": problem.deadline,
        "resolution": problem.resolution,
        "resolved_on": problem.resolved_on,
        "satisfaction": problem.satisfaction,
        "raised_at": problem.raised_at,
        "url": _link(f"/problems/{problem.id}"),
    }


def step_data(step: ProblemStep) -> dict[str, Any]:
    """One ledger step as the events show it."""
    return {
        "id": step.id,
        "action": step.action,
        "from_status": step.from_status,
        "to_status": step.to_status,
        "note": step.note,
        "at": step.at,
    }


def body_of(event: EventType, data: dict[str, Any], now: datetime) -> bytes:
    """The JSON body of an event (UTF-8, compact)."""
    payload = {"type": event.value, "timestamp": now, "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_plain).encode("utf-8")


def subscribers(event: EventType) -> list[WebhookEndpoint]:
    """The active endpoints that chose the event."""
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)
    )
    return [endpoint for endpoint in endpoints if event in endpoint.event_types]


def emit(
    event: EventType, data: Any, *, now: datetime,
    activity_id: int | None = None, invitation_id: int | None = None,
) -> int:
    """Queue the event for every subscribed endpoint (flushes); returns how many deliveries.

    `data` is the payload's data, or a function that makes it (called only when someone listens).
    """
    endpoints = subscribers(event)
    if not endpoints:
        return 0
    # Words in the body (an activity's place, the outbox subject) in the county's language,
    # whoever's request caused the event.
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        body = body_of(event, data() if callable(data) else data, now)
        subject = str(EVENT_LABELS[event])
    # The deliveries of one event to several endpoints share a notice key.
    notice_key = f"webhook-event:{uuid.uuid4().hex}"
    for endpoint in endpoints:
        enqueue_delivery(
            channel=Channel.webhook.value, kind=kind_of(event), recipient=endpoint.recipient, now=now,
            body=body, subject=f"{subject} → {endpoint.name}", notice_key=notice_key,
            activity_id=activity_id, invitation_id=invitation_id,
        )
    return len(endpoints)
